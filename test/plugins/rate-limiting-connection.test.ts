// rate-limiting's Redis connection settings against a real redis-server: TLS (redis.ssl; with
// ssl_verify on and a certificate nobody trusts the handshake fails and fault_tolerant decides),
// username/password (an ACL user), database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { generateClusterCert } from '../../cli/cert.js';
import { closeRedisStores } from '../../data-plane/plugins/rate-limiting/index.js';
import { freePort } from '../helpers/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import { gateway, pluginRow, request, route, type Gateway } from './helpers.js';
import { awayFromEdge, hasRateHeaders } from './rate-limiting-helpers.js';

let dir: string;
let redis: PrivateRedis;
let gw: Gateway;
let inspect: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-redis-tls-'));
  const { cert, key } = generateClusterCert({ cert: join(dir, 'redis.crt'), key: join(dir, 'redis.key'), commonName: 'redis.test', days: 2 });
  const tlsPort = await freePort();
  redis = await startPrivateRedis([
    '--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no',
    '--user', 'default', 'on', 'nopass', '~*', '&*', '+@all',
    '--user', 'limiter', 'on', '>limiter-pass', '~ratelimit:*', '+@all',
  ]);
  inspect = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  const tls = { host: '127.0.0.1', port: tlsPort, ssl: true, server_name: 'redis.test', timeout: 1000 };
  const auth = { host: '127.0.0.1', port: redis.port, username: 'limiter', password: 'limiter-pass', database: 3, timeout: 1000 };
  gw = await gateway(() => {
    const plain = route({ paths: ['/tls'] });
    const verified = route({ paths: ['/tls-verify'] });
    const strict = route({ paths: ['/tls-verify-strict'] });
    const user = route({ paths: ['/user'] });
    const badPass = route({ paths: ['/bad-pass'] });
    return {
      routes: [plain, verified, strict, user, badPass],
      plugins: [
        pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis: auth }, { route: user }),
        pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis: { ...auth, password: 'wrong' }, fault_tolerant: false }, { route: badPass }),
        pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis: tls }, { route: plain }),
        pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis: { ...tls, ssl_verify: true } }, { route: verified }),
        pluginRow('rate-limiting', { minute: 2, policy: 'redis', redis: { ...tls, ssl_verify: true, timeout: 999 }, fault_tolerant: false }, { route: strict }),
      ],
    };
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await closeRedisStores();
  inspect?.disconnect();
  await redis?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rate-limiting Redis connection settings', () => {
  it('counts in Redis over TLS (ssl_verify off)', async () => {
    await awayFromEdge(60_000, 5_000);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(`${gw.url}/tls`)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('ssl_verify on with an untrusted certificate: no connection, fault_tolerant decides', async () => {
    const tolerant = await request(`${gw.url}/tls-verify`);
    expect(tolerant.status).toBe(200);
    expect(hasRateHeaders(tolerant)).toBe(false);
    const strict = await request(`${gw.url}/tls-verify-strict`);
    expect(strict.status).toBe(500);
    expect(strict.json().message).toBe('An unexpected error occurred');
  });

  it('username, password and database: counted as that ACL user in that database; a wrong password fails', async () => {
    await awayFromEdge(60_000, 5_000);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(`${gw.url}/user`)).status);
    expect(statuses).toEqual([200, 200, 429]);
    await inspect.select(3);
    const inDb3 = await inspect.keys('ratelimit:*');
    expect(inDb3.length).toBeGreaterThan(0);
    await inspect.select(0);
    const inDb0 = await inspect.keys('ratelimit:*'); // the TLS routes' counters
    expect(inDb3.filter((k) => inDb0.includes(k))).toEqual([]);
    const bad = await request(`${gw.url}/bad-pass`);
    expect(bad.status).toBe(500);
  });
});
