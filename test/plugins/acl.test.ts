// acl: Kong 3.x behaviour through the real proxy and a real echo upstream, behind key-auth: allow and
// deny lists, 401 without a consumer, 403 "You cannot consume this service", X-Consumer-Groups
// (or hidden), anonymous consumers, and a consumer-scoped acl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { acls, consumers, keyauth_credentials } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, service, snapshot } from './helpers.js';

const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));
const key = (c: Row, k: string) => present(keyauth_credentials, prepareInsert(keyauth_credentials, { consumer: { id: c.id }, key: k }));
const group = (c: Row, g: string) => present(acls, prepareInsert(acls, { consumer: { id: c.id }, group: g }));

describe('acl schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('acl', { allow: ['a'] }).config).toEqual({ allow: ['a'], deny: null, hide_groups_header: false, always_use_authenticated_groups: false });
  });
  it('needs exactly one of allow and deny', () => {
    expect(rejection('acl', {}).fields['@entity']).toEqual(["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]);
    expect(rejection('acl', { allow: ['a'], deny: ['b'] }).fields['@entity']).toEqual(["exactly one of these fields must be non-empty: 'config.allow', 'config.deny'"]);
  });
  it('cannot be scoped to a consumer (Kong: no_consumer)', () => {
    expect(rejection('acl', { allow: ['a'] }, { consumer: { id: '6b5c6e43-9c0c-4b8d-9a7e-8d7a1f7b2c3d' } }).fields).toMatchObject({ consumer: expect.any(String) });
  });
});

describe('acl behaviour', () => {
  let up: Upstream;
  let proxy: Proxy;
  let url: string;
  const alice = consumer({ username: 'alice' });
  const bob = consumer({ username: 'bob' });
  const carol = consumer({ username: 'carol' });
  const dan = consumer({ username: 'dan' });
  const anon = consumer({ username: 'anonymous' });

  beforeAll(async () => {
    up = await startUpstream();
    const svc = service({ name: 'echo', port: up.port });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, aclConfig: Row | null, keyConfig: Row | null = {}) => {
      const r = route({ paths: [path], service: { id: svc.id } });
      routes.push(r);
      if (keyConfig) plugins.push(pluginRow('key-auth', keyConfig, { route: r }));
      if (aclConfig) plugins.push(pluginRow('acl', aclConfig, { route: r }));
    };
    add('/allow', { allow: ['admins'] });
    add('/deny', { deny: ['banned'] });
    add('/hide', { allow: ['admins'], hide_groups_header: true });
    add('/no-auth', { allow: ['admins'] }, null);
    add('/anon', { allow: ['admins'] }, { anonymous: anon.id });
    add('/anon-deny', { deny: ['banned'] }, { anonymous: anon.id });
    const snap = snapshot({
      services: [svc],
      routes,
      plugins,
      consumers: [alice, bob, carol, dan, anon],
      keyauth_credentials: [key(alice, 'k-alice'), key(bob, 'k-bob'), key(carol, 'k-carol'), key(dan, 'k-dan')],
      acls: [group(alice, 'admins'), group(alice, 'devs'), group(bob, 'users'), group(dan, 'banned'), group(dan, 'admins')],
    });
    ({ proxy, url } = await startProxy(snap, { registry: handlers }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => request(`${url}${path}`, { headers });
  async function refused(path: string, headers: Record<string, string>, status: number, message: string) {
    const before = up.requests;
    const res = await get(path, headers);
    expect(res.status).toBe(status);
    expect(res.json()).toEqual({ message, request_id: expect.any(String) });
    expect(up.requests).toBe(before);
  }

  it('allow: a consumer in a listed group passes with X-Consumer-Groups', async () => {
    const res = await get('/allow/request', { apikey: 'k-alice', 'x-consumer-groups': 'forged' });
    expect(res.status).toBe(200);
    expect(res.json().headers['x-consumer-groups']).toBe('admins, devs');
    expect((await get('/allow/request', { apikey: 'k-dan' })).status).toBe(200);
  });

  it('allow: other groups and no groups → 403 You cannot consume this service', async () => {
    await refused('/allow/request', { apikey: 'k-bob' }, 403, 'You cannot consume this service');
    await refused('/allow/request', { apikey: 'k-carol' }, 403, 'You cannot consume this service');
  });

  it('deny: a listed group is refused, everyone else passes', async () => {
    await refused('/deny/request', { apikey: 'k-dan' }, 403, 'You cannot consume this service');
    const bobRes = await get('/deny/request', { apikey: 'k-bob' });
    expect(bobRes.status).toBe(200);
    expect(bobRes.json().headers['x-consumer-groups']).toBe('users');
    const carolRes = await get('/deny/request', { apikey: 'k-carol' });
    expect(carolRes.status).toBe(200);
    expect(carolRes.json().headers['x-consumer-groups']).toBe('');
  });

  it('hide_groups_header sends no groups upstream (a client-sent one neither)', async () => {
    const res = await get('/hide/request', { apikey: 'k-alice', 'x-consumer-groups': 'forged' });
    expect(res.status).toBe(200);
    expect(res.json().headers['x-consumer-groups']).toBeUndefined();
  });

  it('401 Unauthorized without an authenticated consumer', async () => {
    await refused('/no-auth/request', {}, 401, 'Unauthorized');
  });

  it('the anonymous consumer is judged by its own groups', async () => {
    await refused('/anon/request', {}, 403, 'You cannot consume this service');
    expect((await get('/anon/request', { apikey: 'k-alice' })).status).toBe(200);
    const res = await get('/anon-deny/request');
    expect(res.status).toBe(200);
    expect(res.json().headers['x-anonymous-consumer']).toBe('true');
  });

  it('the auth plugin refuses first: 401 from key-auth before acl runs', async () => {
    const res = await get('/allow/request', { apikey: 'wrong' });
    expect(res.status).toBe(401);
    expect(res.json().message).toBe('Unauthorized');
  });
});
