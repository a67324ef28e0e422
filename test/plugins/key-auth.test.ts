// key-auth: Kong 3.x behaviour through the real proxy and a real echo upstream: key sources and their
// order, every refusal (status, body, WWW-Authenticate), hide_credentials, anonymous (logical OR with
// jwt), preflight, spoofed consumer headers and credential ttl expiry enforced by the data plane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, prepareUpdate, present } from '../../shared/schema/entity.js';
import { consumers, keyauth_credentials } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, service, snapshot } from './helpers.js';

const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));
const credential = (c: Row, f: Row) => present(keyauth_credentials, prepareInsert(keyauth_credentials, { consumer: { id: c.id }, ...f }));

describe('key-auth schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('key-auth').config).toEqual({
      key_names: ['apikey'], hide_credentials: false, anonymous: null, key_in_header: true, key_in_query: true,
      key_in_body: false, run_on_preflight: true, realm: null,
    });
  });
  it('refuses key names that are not header names', () => {
    expect(rejection('key-auth', { key_names: ['api key'] }).fields).toEqual({
      config: { key_names: ["bad header name 'api key', allowed characters are A-Z, a-z, 0-9, '_', and '-'"] },
    });
  });
  it('turns a ttl into a stored expiry, kept by writes without ttl', () => {
    const c = consumer({ username: 'x' });
    const now = Math.floor(Date.now() / 1000);
    const row = prepareInsert(keyauth_credentials, { consumer: { id: c.id }, key: 'k', ttl: 60 });
    expect(row.ttl).toBe(60);
    expect(row.expires_at).toBeGreaterThanOrEqual(now + 60);
    expect(row.expires_at).toBeLessThanOrEqual(now + 61);
    const { ttl: _ttl, ...stored } = row;
    expect(prepareUpdate(keyauth_credentials, stored, { tags: ['t'] }).expires_at).toBe(row.expires_at);
    expect(prepareUpdate(keyauth_credentials, stored, { ttl: 0 }).expires_at).toBeNull();
    expect(prepareInsert(keyauth_credentials, { consumer: { id: c.id }, key: 'k2' }).expires_at).toBeNull();
  });
});

describe('key-auth behaviour', () => {
  let up: Upstream;
  let proxy: Proxy;
  let url: string;
  const alice = consumer({ username: 'alice', custom_id: 'c-1' });
  const bob = consumer({ custom_id: '42' });
  const anon = consumer({ username: 'anonymous' });
  const aliceKey = credential(alice, { key: 'alice-key' });
  const bobKey = credential(bob, { key: 'bob-key' });
  const expired = { ...credential(bob, { key: 'expired-key' }), expires_at: Math.floor(Date.now() / 1000) - 1 };
  const live = { ...credential(bob, { key: 'live-key' }), expires_at: Math.floor(Date.now() / 1000) + 3600 };
  const soon = { ...credential(bob, { key: 'soon-key' }), expires_at: Math.floor(Date.now() / 1000) + 2 };

  beforeAll(async () => {
    up = await startUpstream();
    const svc = service({ name: 'echo', port: up.port });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, config: Row = {}, more: [string, Row][] = []) => {
      const r = route({ paths: [path], service: { id: svc.id } });
      routes.push(r);
      plugins.push(pluginRow('key-auth', config, { route: r }));
      for (const [name, c] of more) plugins.push(pluginRow(name, c, { route: r }));
    };
    add('/default');
    add('/names', { key_names: ['api_key', 'x-token'] });
    add('/header-only', { key_in_query: false });
    add('/no-header', { key_in_header: false });
    add('/body', { key_in_body: true });
    add('/hide', { hide_credentials: true, key_in_body: true });
    add('/realm', { realm: 'silverback' });
    add('/anon-id', { anonymous: anon.id });
    add('/anon-name', { anonymous: 'anonymous' });
    add('/anon-missing', { anonymous: 'nobody' });
    add('/nopreflight', { run_on_preflight: false });
    add('/or-jwt', { anonymous: anon.id }, [['jwt', { anonymous: anon.id }]]);
    const snap = snapshot({
      services: [svc],
      routes,
      plugins,
      consumers: [alice, bob, anon],
      keyauth_credentials: [aliceKey, bobKey, expired, live, soon],
    });
    ({ proxy, url } = await startProxy(snap, { registry: handlers }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
  });

  const get = (path: string, headers: Record<string, string | string[]> = {}, method = 'GET', body?: string) =>
    request(`${url}${path}`, { method, headers, body });

  async function refused(path: string, headers: Record<string, string | string[]>, message: string, challenge: string | null = 'Key', method = 'GET', body?: string) {
    const before = up.requests;
    const res = await get(path, headers, method, body);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ message, request_id: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe(challenge ?? undefined);
    expect(up.requests).toBe(before);
  }

  describe('key sources', () => {
    it('answers 401 "No API key found in request" with WWW-Authenticate: Key when there is no key', async () => {
      await refused('/default/request', {}, 'No API key found in request');
      await refused('/default/request', { apikey: '' }, 'No API key found in request');
      await refused('/default/request?apikey', {}, 'No API key found in request');
    });

    it('accepts the key in a header and sends the consumer headers upstream', async () => {
      const res = await get('/default/request', { apikey: 'alice-key' });
      expect(res.status).toBe(200);
      const h = res.json().headers;
      expect(h['x-consumer-id']).toBe(alice.id);
      expect(h['x-consumer-username']).toBe('alice');
      expect(h['x-consumer-custom-id']).toBe('c-1');
      expect(h['x-credential-identifier']).toBe(aliceKey.id);
      expect(h['x-anonymous-consumer']).toBeUndefined();
      expect(h.apikey).toBe('alice-key');
    });

    it('accepts the key in the query string', async () => {
      const res = await get('/default/request?apikey=bob-key&x=1');
      expect(res.status).toBe(200);
      expect(res.json().headers['x-consumer-id']).toBe(bob.id);
      expect(res.json().query).toBe('apikey=bob-key&x=1');
    });

    it('clears X-Consumer-* headers a client sent', async () => {
      const res = await get('/default/request', { apikey: 'bob-key', 'x-consumer-username': 'admin', 'x-anonymous-consumer': 'true', 'x-credential-identifier': 'forged' });
      const h = res.json().headers;
      expect(h['x-consumer-id']).toBe(bob.id);
      expect(h['x-consumer-username']).toBeUndefined();
      expect(h['x-credential-identifier']).toBe(bobKey.id);
      expect(h['x-anonymous-consumer']).toBeUndefined();
    });

    it('tries every key name; an underscore in the name matches a dash in the header', async () => {
      expect((await get('/names/request', { 'api-key': 'alice-key' })).status).toBe(200);
      expect((await get('/names/request', { 'X-Token': 'alice-key' })).status).toBe(200);
      expect((await get('/names/request?x-token=alice-key')).status).toBe(200);
      await refused('/names/request', { apikey: 'alice-key' }, 'No API key found in request');
    });

    it('reads the header before the query string', async () => {
      const res = await get('/default/request?apikey=bob-key', { apikey: 'alice-key' });
      expect(res.json().headers['x-consumer-id']).toBe(alice.id);
    });

    it('honours key_in_query / key_in_header false', async () => {
      await refused('/header-only/request?apikey=alice-key', {}, 'No API key found in request');
      await refused('/no-header/request', { apikey: 'alice-key' }, 'No API key found in request');
      expect((await get('/no-header/request?apikey=alice-key')).status).toBe(200);
    });

    it('ignores the body unless key_in_body; then reads form, JSON and multipart bodies', async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      await refused('/default/request', form, 'No API key found in request', 'Key', 'POST', 'apikey=alice-key');
      const viaForm = await get('/body/request', form, 'POST', 'a=1&apikey=alice-key');
      expect(viaForm.status).toBe(200);
      expect(viaForm.json().body).toBe('a=1&apikey=alice-key');
      expect((await get('/body/request', { 'content-type': 'application/json' }, 'POST', '{"apikey":"bob-key"}')).json().headers['x-consumer-id']).toBe(bob.id);
      const mp = '--XX\r\nContent-Disposition: form-data; name="apikey"\r\n\r\nalice-key\r\n--XX--\r\n';
      expect((await get('/body/request', { 'content-type': 'multipart/form-data; boundary=XX' }, 'POST', mp)).status).toBe(200);
      await refused('/body/request', { 'content-type': 'application/json' }, 'No API key found in request', 'Key', 'POST', '{"apikey":12}');
      await refused('/body/request', { 'content-type': 'application/json' }, 'No API key found in request', 'Key', 'POST', 'not json');
    });
  });

  describe('refusals', () => {
    it('401 Unauthorized for an unknown key', async () => {
      await refused('/default/request', { apikey: 'nope' }, 'Unauthorized');
      await refused('/default/request?apikey=nope', {}, 'Unauthorized');
    });

    it('401 "Duplicate API key found" for a key given twice', async () => {
      await refused('/default/request', { apikey: ['alice-key', 'bob-key'] }, 'Duplicate API key found', null);
      await refused('/default/request?apikey=alice-key&apikey=alice-key', {}, 'Duplicate API key found', null);
      await refused('/body/request', { 'content-type': 'application/json' }, 'Duplicate API key found', null, 'POST', '{"apikey":["a","b"]}');
    });

    it('adds the realm to WWW-Authenticate', async () => {
      await refused('/realm/request', {}, 'No API key found in request', 'Key realm="silverback"');
      await refused('/realm/request', { apikey: 'nope' }, 'Unauthorized', 'Key realm="silverback"');
    });
  });

  describe('ttl', () => {
    it('refuses a key whose ttl has passed and accepts one still alive', async () => {
      await refused('/default/request', { apikey: 'expired-key' }, 'Unauthorized');
      expect((await get('/default/request', { apikey: 'live-key' })).status).toBe(200);
    });

    it('refuses a key once it expires, without a new snapshot', async () => {
      expect((await get('/default/request', { apikey: 'soon-key' })).status).toBe(200);
      const wait = soon.expires_at * 1000 - Date.now() + 50;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await refused('/default/request', { apikey: 'soon-key' }, 'Unauthorized');
    });
  });

  describe('hide_credentials', () => {
    it('strips the key from the header, the query string (order kept) and the body', async () => {
      const h = await get('/hide/request', { apikey: 'alice-key', other: 'x' });
      expect(h.status).toBe(200);
      expect(h.json().headers.apikey).toBeUndefined();
      expect(h.json().headers.other).toBe('x');
      const q = await get('/hide/request?b=2&apikey=alice-key&a=1&c');
      expect(q.json().query).toBe('b=2&a=1&c');
      const only = await get('/hide/request?apikey=alice-key');
      expect(only.json().url).toBe('/request');
      const f = await get('/hide/request', { 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'z=1&apikey=alice-key&y=%20');
      expect(f.json().body).toBe('z=1&y=%20');
      const j = await get('/hide/request', { 'content-type': 'application/json' }, 'POST', '{"apikey":"alice-key","n":1}');
      expect(JSON.parse(j.json().body)).toEqual({ n: 1 });
      expect(Number(j.json().headers['content-length'])).toBe(j.json().bodyLength);
    });
  });

  describe('anonymous and preflight', () => {
    it('proxies as the anonymous consumer (by id or username) when authentication fails', async () => {
      for (const path of ['/anon-id/request', '/anon-name/request']) {
        for (const headers of [{}, { apikey: 'nope' }, { apikey: ['a', 'b'] }]) {
          const res = await get(path, headers);
          expect(res.status).toBe(200);
          const h = res.json().headers;
          expect(h['x-consumer-id']).toBe(anon.id);
          expect(h['x-consumer-username']).toBe('anonymous');
          expect(h['x-anonymous-consumer']).toBe('true');
          expect(h['x-credential-identifier']).toBeUndefined();
        }
      }
      const res = await get('/anon-id/request', { apikey: 'alice-key' });
      expect(res.json().headers['x-consumer-id']).toBe(alice.id);
      expect(res.json().headers['x-anonymous-consumer']).toBeUndefined();
    });

    it('answers 500 when the anonymous consumer does not exist', async () => {
      const res = await get('/anon-missing/request');
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ message: "anonymous consumer nobody is configured but doesn't exist" });
    });

    it('is a logical OR with jwt: the key authenticates after jwt fell back to anonymous', async () => {
      const res = await get('/or-jwt/request', { apikey: 'bob-key' });
      expect(res.status).toBe(200);
      expect(res.json().headers['x-consumer-id']).toBe(bob.id);
      expect(res.json().headers['x-anonymous-consumer']).toBeUndefined();
      const none = await get('/or-jwt/request');
      expect(none.json().headers['x-anonymous-consumer']).toBe('true');
    });

    it('lets OPTIONS through without a key when run_on_preflight is false', async () => {
      expect((await get('/nopreflight/request', {}, 'OPTIONS')).status).toBe(200);
      expect((await get('/nopreflight/request', {}, 'GET')).status).toBe(401);
      expect((await get('/default/request', {}, 'OPTIONS')).status).toBe(401);
    });
  });
});
