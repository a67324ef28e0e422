// rate-limiting by consumer and by credential, the identity set by an auth plugin (jwt here:
// it sets ctx.consumer / ctx.credential like every auth plugin), a consumer-scoped config
// (Kong's route+consumer precedence) and the client-IP fallback without a consumer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { hmacToken, nowSec } from '../helpers/jwt-keys.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, request, route, service, snapshot } from './helpers.js';
import { awayFromEdge } from './rate-limiting-helpers.js';

const SECRET = 'a-shared-secret-of-the-consumer';
const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));
const credential = (c: Row, f: Row) => present(jwt_secrets, prepareInsert(jwt_secrets, { consumer: { id: c.id }, ...f }));

describe('rate-limiting by consumer and credential', () => {
  const alice = consumer({ username: 'alice' });
  const bob = consumer({ username: 'bob' });
  const a1 = credential(alice, { key: 'alice-1', secret: SECRET });
  const a2 = credential(alice, { key: 'alice-2', secret: SECRET });
  const b1 = credential(bob, { key: 'bob-1', secret: SECRET });
  let up: Upstream;
  let proxy: Proxy;
  let url: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    for (const k of ['alice-1', 'alice-2', 'bob-1']) tokens[k] = await hmacToken({ iss: k, exp: nowSec() + 3600 }, SECRET);
    up = await startUpstream();
    const svc = service({ name: 'echo', port: up.port });
    const at = (p: string) => route({ paths: [p], service: { id: svc.id } });
    const byConsumer = at('/consumer');
    const byCredential = at('/credential');
    const scoped = at('/scoped');
    const anonymous = at('/no-auth');
    const snap = snapshot({
      services: [svc],
      routes: [byConsumer, byCredential, scoped, anonymous],
      consumers: [alice, bob],
      jwt_secrets: [a1, a2, b1],
      plugins: [
        pluginRow('jwt', {}, { route: byConsumer }),
        pluginRow('jwt', {}, { route: byCredential }),
        pluginRow('jwt', {}, { route: scoped }),
        pluginRow('rate-limiting', { minute: 2 }, { route: byConsumer }),
        pluginRow('rate-limiting', { minute: 2, limit_by: 'credential' }, { route: byCredential }),
        pluginRow('rate-limiting', { minute: 1 }, { route: scoped }),
        pluginRow('rate-limiting', { minute: 3 }, { route: scoped, consumer: bob }),
        pluginRow('rate-limiting', { minute: 1 }, { route: anonymous }),
      ],
    });
    ({ proxy, url } = await startProxy(snap, { registry: handlers }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
  });

  const as = (path: string, key: string) => request(`${url}${path}`, { headers: { authorization: `Bearer ${tokens[key]}` } });
  const statuses = async (n: number, send: () => Promise<{ status: number }>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await send()).status);
    return out;
  };

  it('limit_by consumer: every credential of a consumer shares its counter', async () => {
    await awayFromEdge(60_000, 5_000);
    expect((await as('/consumer', 'alice-1')).status).toBe(200);
    expect((await as('/consumer', 'alice-2')).status).toBe(200);
    expect((await as('/consumer', 'alice-1')).status).toBe(429);
    expect(await statuses(3, () => as('/consumer', 'bob-1'))).toEqual([200, 200, 429]);
  });

  it('limit_by credential: one counter per credential', async () => {
    await awayFromEdge(60_000, 5_000);
    expect(await statuses(3, () => as('/credential', 'alice-1'))).toEqual([200, 200, 429]);
    expect(await statuses(3, () => as('/credential', 'alice-2'))).toEqual([200, 200, 429]);
  });

  it('a consumer-scoped config wins over the route\'s for that consumer', async () => {
    await awayFromEdge(60_000, 5_000);
    expect(await statuses(2, () => as('/scoped', 'alice-1'))).toEqual([200, 429]);
    const bobs = [];
    for (let i = 0; i < 4; i++) bobs.push(await as('/scoped', 'bob-1'));
    expect(bobs.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(bobs[0]!.headers['x-ratelimit-limit-minute']).toBe('3');
  });

  it('without a consumer, limit_by consumer counts the client IP', async () => {
    await awayFromEdge(60_000, 5_000);
    expect(await statuses(2, () => request(`${url}/no-auth`))).toEqual([200, 429]);
  });
});
