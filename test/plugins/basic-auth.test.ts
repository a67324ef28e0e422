// basic-auth: Kong 3.x behaviour through the real proxy and a real echo upstream: Proxy-Authorization
// then Authorization, every refusal (401 "Unauthorized" + Basic realm), scrypt-hashed passwords and
// Kong's imported SHA1 hashes, hide_credentials, anonymous (logical OR with key-auth), and a changed
// password refusing the old one although successful checks are cached.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { basicauth_credentials, consumers, keyauth_credentials } from '../../shared/schema/entities/index.js';
import type { Row, Snapshot } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, request, route, service, snapshot } from './helpers.js';

const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));
const credential = (c: Row, f: Row) => present(basicauth_credentials, prepareInsert(basicauth_credentials, { consumer: { id: c.id }, ...f }));
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('basic-auth schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('basic-auth').config).toEqual({ anonymous: null, hide_credentials: false, realm: 'service' });
  });
});

describe('basic-auth behaviour', () => {
  let up: Upstream;
  let proxy: Proxy;
  let url: string;
  let snap: Snapshot;
  const alice = consumer({ username: 'alice', custom_id: 'c-1' });
  const kongUser = consumer({ username: 'migrated' });
  const anon = consumer({ username: 'anonymous' });
  const aliceCred = credential(alice, { username: 'alice', password: 'open sesame' });
  const colonCred = credential(alice, { username: 'colon', password: 'a:b:c' });
  // as found in a Kong database or decK dump: sha1(password .. consumer_id)
  const kongCred = credential(kongUser, { username: 'kong-user', password: createHash('sha1').update(`legacy-pw${kongUser.id}`).digest('hex') });
  const keyCred = present(keyauth_credentials, prepareInsert(keyauth_credentials, { consumer: { id: kongUser.id }, key: 'the-key' }));

  beforeAll(async () => {
    up = await startUpstream();
    const svc = service({ name: 'echo', port: up.port });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, config: Row = {}, more: [string, Row][] = []) => {
      const r = route({ paths: [path], service: { id: svc.id } });
      routes.push(r);
      plugins.push(pluginRow('basic-auth', config, { route: r }));
      for (const [name, c] of more) plugins.push(pluginRow(name, c, { route: r }));
    };
    add('/default');
    add('/hide', { hide_credentials: true });
    add('/realm', { realm: 'silverback' });
    add('/anon', { anonymous: 'anonymous' });
    add('/anon-missing', { anonymous: 'nobody' });
    add('/or-key', { anonymous: anon.id }, [['key-auth', { anonymous: anon.id }]]);
    snap = snapshot({
      services: [svc], routes, plugins, consumers: [alice, kongUser, anon],
      basicauth_credentials: [aliceCred, colonCred, kongCred], keyauth_credentials: [keyCred],
    });
    ({ proxy, url } = await startProxy(snap, { registry: handlers }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => request(`${url}${path}`, { headers });

  async function refused(path: string, headers: Record<string, string>, challenge = 'Basic realm="service"') {
    const before = up.requests;
    const res = await get(path, headers);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ message: 'Unauthorized', request_id: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe(challenge);
    expect(up.requests).toBe(before);
  }

  it('stores passwords as scrypt hashes, never in clear', () => {
    expect(aliceCred.password).toMatch(/^\$scrypt\$/);
    expect(JSON.stringify(aliceCred)).not.toContain('open sesame');
  });

  it('401 Unauthorized with WWW-Authenticate: Basic realm="service" without credentials', async () => {
    await refused('/default/request', {});
  });

  it('accepts the right password and sends the consumer headers upstream', async () => {
    const res = await get('/default/request', { authorization: basic('alice', 'open sesame'), 'x-consumer-username': 'forged' });
    expect(res.status).toBe(200);
    const h = res.json().headers;
    expect(h['x-consumer-id']).toBe(alice.id);
    expect(h['x-consumer-username']).toBe('alice');
    expect(h['x-consumer-custom-id']).toBe('c-1');
    expect(h['x-credential-identifier']).toBe('alice');
    expect(h['x-anonymous-consumer']).toBeUndefined();
    expect(h.authorization).toBe(basic('alice', 'open sesame'));
    // again: served from the verification cache, same result
    expect((await get('/default/request', { authorization: basic('alice', 'open sesame') })).status).toBe(200);
  });

  it('refuses a wrong password, an unknown user and malformed headers', async () => {
    await refused('/default/request', { authorization: basic('alice', 'open sesamE') });
    await refused('/default/request', { authorization: basic('alice', '') });
    await refused('/default/request', { authorization: basic('nobody', 'open sesame') });
    await refused('/default/request', { authorization: 'Basic !!!notbase64' });
    await refused('/default/request', { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` });
    await refused('/default/request', { authorization: 'Bearer abc' });
  });

  it('splits at the first colon: the password may contain colons', async () => {
    expect((await get('/default/request', { authorization: basic('colon', 'a:b:c') })).status).toBe(200);
    await refused('/default/request', { authorization: basic('colon', 'a:b') });
  });

  it('verifies Kong SHA1 hashes imported from a Kong database', async () => {
    const res = await get('/default/request', { authorization: basic('kong-user', 'legacy-pw') });
    expect(res.status).toBe(200);
    expect(res.json().headers['x-consumer-id']).toBe(kongUser.id);
    await refused('/default/request', { authorization: basic('kong-user', 'legacy-pW') });
  });

  it('tries Proxy-Authorization first, then Authorization', async () => {
    expect((await get('/default/request', { 'proxy-authorization': basic('alice', 'open sesame') })).status).toBe(200);
    const res = await get('/default/request', { 'proxy-authorization': basic('nobody', 'x'), authorization: basic('kong-user', 'legacy-pw') });
    expect(res.json().headers['x-consumer-id']).toBe(kongUser.id);
    await refused('/default/request', { 'proxy-authorization': basic('alice', 'wrong'), authorization: 'junk' });
  });

  it('hide_credentials removes both headers before proxying', async () => {
    const res = await get('/hide/request', { authorization: basic('alice', 'open sesame'), 'proxy-authorization': 'Basic eA==' });
    expect(res.status).toBe(200);
    expect(res.json().headers.authorization).toBeUndefined();
    expect(res.json().headers['proxy-authorization']).toBeUndefined();
  });

  it('puts the configured realm in WWW-Authenticate', async () => {
    await refused('/realm/request', {}, 'Basic realm="silverback"');
  });

  it('anonymous: failures proxy as the anonymous consumer; a missing one is a 500', async () => {
    const res = await get('/anon/request', { authorization: basic('alice', 'bad') });
    expect(res.status).toBe(200);
    expect(res.json().headers['x-consumer-id']).toBe(anon.id);
    expect(res.json().headers['x-anonymous-consumer']).toBe('true');
    const missing = await get('/anon-missing/request');
    expect(missing.status).toBe(500);
    expect(missing.json()).toMatchObject({ message: "anonymous consumer nobody is configured but doesn't exist" });
  });

  it('is a logical OR with key-auth', async () => {
    expect((await get('/or-key/request', { apikey: 'the-key' })).json().headers['x-consumer-id']).toBe(kongUser.id);
    const viaBasic = await get('/or-key/request', { authorization: basic('alice', 'open sesame') });
    expect(viaBasic.json().headers['x-consumer-id']).toBe(alice.id);
    expect(viaBasic.json().headers['x-credential-identifier']).toBe('alice');
    expect((await get('/or-key/request')).json().headers['x-anonymous-consumer']).toBe('true');
  });

  it('a changed password refuses the old one although it was verified before', async () => {
    expect((await get('/default/request', { authorization: basic('alice', 'open sesame') })).status).toBe(200);
    const changed = present(basicauth_credentials, prepareInsert(basicauth_credentials, { ...aliceCred, password: 'new secret' }));
    proxy.applySnapshot({ ...snap, version: 2, basicauth_credentials: [changed, colonCred, kongCred] });
    await refused('/default/request', { authorization: basic('alice', 'open sesame') });
    expect((await get('/default/request', { authorization: basic('alice', 'new secret') })).status).toBe(200);
  });
});
