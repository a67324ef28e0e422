// proxy-cache, strategy memory: Kong 3.x behaviour through the real proxy against a real upstream
// that counts what reaches it — Miss/Hit/Bypass/Refresh, TTLs, Cache-Control, the key's parts
// (route, consumer, query, vary headers, case), Set-Cookie and authenticated requests, LRU bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { buildCacheKey } from '../../data-plane/plugins/proxy-cache/key.js';
import { hmacToken } from '../helpers/jwt-keys.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, service, snapshot } from './helpers.js';
import { sleep, startScriptedUpstream, type ScriptedUpstream } from './proxy-cache-helpers.js';

describe('proxy-cache schema', () => {
  it('fills Kong defaults', () => {
    const c = pluginRow('proxy-cache', { strategy: 'memory' }).config;
    expect(c).toMatchObject({
      response_code: [200, 301, 404], request_method: ['GET', 'HEAD'], content_type: ['text/plain', 'application/json'],
      cache_ttl: 300, strategy: 'memory', cache_control: false, ignore_uri_case: false, storage_ttl: null,
      memory: { dictionary_name: 'kong_db_cache' }, vary_query_params: null, vary_headers: null,
      response_headers: { age: true, 'X-Cache-Status': true, 'X-Cache-Key': true },
      cache_set_cookie: false, cache_authenticated: false,
    });
  });
  it('requires a strategy, known methods and at least one status', () => {
    expect(rejection('proxy-cache', {}).fields).toEqual({ config: { strategy: 'required field missing' } });
    expect(rejection('proxy-cache', { strategy: 'disk' }).fields).toEqual({ config: { strategy: 'expected one of: memory, redis' } });
    expect(rejection('proxy-cache', { strategy: 'memory', request_method: ['DELETE'] }).fields).toEqual({
      config: { request_method: ['expected one of: HEAD, GET, POST, PATCH, PUT'] },
    });
    expect(rejection('proxy-cache', { strategy: 'memory', response_code: [] }).fields).toEqual({ config: { response_code: 'length must be at least 1' } });
    expect(rejection('proxy-cache', { strategy: 'memory', cache_ttl: 0 }).fields).toEqual({ config: { cache_ttl: 'value must be greater than 0' } });
  });
  it('requires redis.host with strategy redis', () => {
    expect(rejection('proxy-cache', { strategy: 'redis' }).fields.config.redis).toMatch(/redis\.host/);
    expect(pluginRow('proxy-cache', { strategy: 'redis', redis: { host: '127.0.0.1' } }).config.redis).toMatchObject({ host: '127.0.0.1', port: 6379, timeout: 2000 });
  });
});

describe('proxy-cache key', () => {
  const base = { consumer: null, route: { id: 'r1' }, method: 'GET', path: '/a', query: '', req: { headers: {} } };
  const rules = { ignoreUriCase: false, varyQuery: null, varyHeaders: [], varyHeaderNames: [] };
  it('is sha256 hex of prefix|method|path|params|headers as Kong composes it', async () => {
    const { createHash } = await import('node:crypto');
    const h = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(buildCacheKey(base, rules)).toBe(h('r1|GET|/a||'));
    expect(buildCacheKey({ ...base, consumer: { id: 'c1' } }, rules)).toBe(h('c1:r1|GET|/a||'));
    expect(buildCacheKey({ ...base, route: null }, rules)).toBe(h('default|GET|/a||'));
    expect(buildCacheKey({ ...base, query: 'b=2&a=1&a=0&flag' }, rules)).toBe(h('r1|GET|/a|a=0,1:b=2:flag|'));
    expect(buildCacheKey({ ...base, query: 'b=2&a=1' }, { ...rules, varyQuery: ['b', 'z'] })).toBe(h('r1|GET|/a|b=2|'));
    expect(buildCacheKey({ ...base, req: { headers: { 'x-lang': 'fr' } } }, { ...rules, varyHeaders: ['x-lang'], varyHeaderNames: ['X-Lang'] })).toBe(h('r1|GET|/a||X-Lang=fr'));
  });
});

const SECRET = 'proxy-cache-test-secret';
const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));

describe('proxy-cache behaviour (memory)', () => {
  let up: ScriptedUpstream;
  let proxy: Proxy;
  let url: string;
  const alice = consumer({ username: 'alice' });
  const bob = consumer({ username: 'bob' });
  const secrets = [alice, bob].map((c) =>
    present(jwt_secrets, prepareInsert(jwt_secrets, { consumer: { id: c.id }, key: `${c.username}-iss`, secret: SECRET, algorithm: 'HS256' })),
  );

  beforeAll(async () => {
    up = await startScriptedUpstream();
    const svc = service({ name: 'up', port: up.port });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, config: Record<string, unknown>, extra: Row[] = []) => {
      const r = route({ paths: [path], strip_path: false, service: { id: svc.id } });
      routes.push(r);
      plugins.push(pluginRow('proxy-cache', { strategy: 'memory', ...config }, { route: r }));
      for (const p of extra) plugins.push({ ...p, route: { id: r.id } });
    };
    add('/basic', {});
    add('/twin', {}); // same upstream paths as /basic's under another route: another key
    add('/ttl', { cache_ttl: 1, storage_ttl: 60 });
    add('/ttl-only', { cache_ttl: 1 });
    add('/storage', { cache_ttl: 300, storage_ttl: 1 });
    add('/cc', { cache_control: true });
    add('/vary', { vary_query_params: ['page'], vary_headers: ['X-Lang'] });
    add('/case', { ignore_uri_case: true });
    add('/cookie-ok', { cache_set_cookie: true });
    add('/post', { request_method: ['POST'] });
    add('/quiet', { response_headers: { age: false, 'X-Cache-Status': false, 'X-Cache-Key': false } });
    add('/small', { memory: { dictionary_name: 'small', max_bytes: 3000 } });
    add('/types', { content_type: ['text/*', 'application/json; charset=utf-8'] });
    const jwtPlugin = pluginRow('jwt', {});
    add('/auth', {}, [jwtPlugin]);
    add('/auth-ok', { cache_authenticated: true, vary_query_params: ['x'] }, [{ ...pluginRow('jwt', {}) }]);
    const snap = snapshot({ services: [svc], routes, plugins, consumers: [alice, bob], jwt_secrets: secrets });
    ({ proxy, url } = await startProxy(snap, { registry: handlers }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
  });

  it('Miss, then Hit from the cache with Age, the same body and key; the upstream is reached once', async () => {
    const a = await request(`${url}/basic/one`);
    expect(a.status).toBe(200);
    expect(a.headers['x-cache-status']).toBe('Miss');
    expect(a.headers['x-cache-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(a.headers['age']).toBeUndefined();
    const b = await request(`${url}/basic/one`);
    expect(b.status).toBe(200);
    expect(b.headers['x-cache-status']).toBe('Hit');
    expect(b.headers['x-cache-key']).toBe(a.headers['x-cache-key']);
    expect(b.headers['age']).toMatch(/^\d+$/);
    expect(b.body).toBe(a.body);
    expect(b.headers['content-type']).toBe('application/json');
    expect(b.headers['content-length']).toBe(String(Buffer.byteLength(a.body)));
    expect(b.headers['x-hit']).toBe('1');
    expect(up.hits('/basic/one')).toBe(1);
    // HEAD is its own entry (the method is part of the key)
    const h = await request(`${url}/basic/one`, { method: 'HEAD' });
    expect(h.headers['x-cache-status']).toBe('Miss');
    expect((await request(`${url}/basic/one`, { method: 'HEAD' })).headers['x-cache-status']).toBe('Hit');
  });

  it('keys per route: the same request under another route is a Miss', async () => {
    await request(`${url}/basic/shared`);
    const t = await request(`${url}/twin/shared`);
    expect(t.headers['x-cache-status']).toBe('Miss');
    expect((await request(`${url}/basic/shared`)).headers['x-cache-status']).toBe('Hit');
  });

  it('Bypass: method, status, content type and Set-Cookie not cacheable (each request reaches the upstream)', async () => {
    const post = await request(`${url}/basic/p`, { method: 'POST', body: 'x' });
    expect(post.headers['x-cache-status']).toBe('Bypass');
    expect(post.headers['x-cache-key']).toBeUndefined();
    up.set('/basic/500', { status: 500 });
    up.set('/basic/html', { headers: { 'content-type': 'text/html' } });
    up.set('/basic/charset', { headers: { 'content-type': 'application/json; charset=utf-8' } });
    up.set('/basic/cookie', { headers: { 'set-cookie': 'session=abc' } });
    up.set('/basic/vary-star', { headers: { vary: 'Accept, *' } });
    for (const p of ['/basic/500', '/basic/html', '/basic/charset', '/basic/cookie', '/basic/vary-star']) {
      for (let i = 0; i < 2; i++) expect((await request(`${url}${p}`)).headers['x-cache-status'], p).toBe('Bypass');
      expect(up.hits(p), p).toBe(2);
    }
    // 404 is cacheable by default
    up.set('/basic/404', { status: 404 });
    await request(`${url}/basic/404`);
    expect((await request(`${url}/basic/404`)).headers['x-cache-status']).toBe('Hit');
  });

  it('caches a Set-Cookie response only with cache_set_cookie', async () => {
    up.set('/cookie-ok/c', { headers: { 'set-cookie': 'a=1' } });
    await request(`${url}/cookie-ok/c`);
    const b = await request(`${url}/cookie-ok/c`);
    expect(b.headers['x-cache-status']).toBe('Hit');
    expect(b.headers['set-cookie']).toEqual(['a=1']);
  });

  it('request_method POST caches POST', async () => {
    await request(`${url}/post/x`, { method: 'POST', body: 'a' });
    expect((await request(`${url}/post/x`, { method: 'POST', body: 'a' })).headers['x-cache-status']).toBe('Hit');
    expect((await request(`${url}/post/x`)).headers['x-cache-status']).toBe('Bypass');
  });

  it('content_type wildcards and parameters match as Kong does', async () => {
    up.set('/types/t', { headers: { 'content-type': 'text/html' } });
    up.set('/types/j', { headers: { 'content-type': 'application/json; charset=utf-8' } });
    up.set('/types/plain-json', { headers: { 'content-type': 'application/json' } });
    for (const [p, want] of [['/types/t', 'Hit'], ['/types/j', 'Hit'], ['/types/plain-json', 'Bypass']] as const) {
      await request(`${url}${p}`);
      expect((await request(`${url}${p}`)).headers['x-cache-status'], p).toBe(want);
    }
  });

  it('Refresh once older than cache_ttl but still stored (storage_ttl): the new answer replaces it', async () => {
    const a = await request(`${url}/ttl/x`);
    expect(a.headers['x-cache-status']).toBe('Miss');
    expect((await request(`${url}/ttl/x`)).headers['x-cache-status']).toBe('Hit');
    await sleep(1150);
    const r = await request(`${url}/ttl/x`);
    expect(r.headers['x-cache-status']).toBe('Refresh');
    expect(r.headers['x-hit']).toBe('2');
    const h = await request(`${url}/ttl/x`);
    expect(h.headers['x-cache-status']).toBe('Hit');
    expect(h.headers['x-hit']).toBe('2');
    expect(up.hits('/ttl/x')).toBe(2);
  });

  it('without storage_ttl an entry is stored for cache_ttl: a Miss once expired', async () => {
    await request(`${url}/ttl-only/x`);
    expect((await request(`${url}/ttl-only/x`)).headers['x-cache-status']).toBe('Hit');
    await sleep(1150);
    expect((await request(`${url}/ttl-only/x`)).headers['x-cache-status']).toBe('Miss');
    expect(up.hits('/ttl-only/x')).toBe(2);
  });

  it('storage_ttl drops the entry from the store (a Miss, not a Refresh)', async () => {
    await request(`${url}/storage/x`);
    expect((await request(`${url}/storage/x`)).headers['x-cache-status']).toBe('Hit');
    await sleep(1150);
    expect((await request(`${url}/storage/x`)).headers['x-cache-status']).toBe('Miss');
  });

  it('cache_control: response directives decide what is stored and for how long', async () => {
    up.set('/cc/public', { headers: { 'cache-control': 'public, max-age=1' } });
    up.set('/cc/smax', { headers: { 'cache-control': 's-maxage=60, max-age=0' } });
    up.set('/cc/expires', { headers: { expires: new Date(Date.now() + 60_000).toUTCString() } });
    up.set('/cc/private', { headers: { 'cache-control': 'private, max-age=60' } });
    up.set('/cc/nostore', { headers: { 'cache-control': 'no-store' } });
    up.set('/cc/nocache', { headers: { 'cache-control': 'no-cache, max-age=60' } });
    up.set('/cc/none', {});
    for (const [p, want] of [
      ['/cc/public', 'Hit'], ['/cc/smax', 'Hit'], ['/cc/expires', 'Hit'],
      ['/cc/private', 'Bypass'], ['/cc/nostore', 'Bypass'], ['/cc/nocache', 'Bypass'], ['/cc/none', 'Bypass'],
    ] as const) {
      await request(`${url}${p}`);
      expect((await request(`${url}${p}`)).headers['x-cache-status'], p).toBe(want);
    }
    // max-age=1 → the entry's TTL: stored for 1 s only
    await sleep(1150);
    expect((await request(`${url}/cc/public`)).headers['x-cache-status']).toBe('Miss');
  });

  it('cache_control: request directives (no-cache, no-store, Authorization, max-age, min-fresh, only-if-cached)', async () => {
    up.set('/cc/req', { headers: { 'cache-control': 'max-age=60' } });
    await request(`${url}/cc/req`);
    expect((await request(`${url}/cc/req`)).headers['x-cache-status']).toBe('Hit');
    expect((await request(`${url}/cc/req`, { headers: { 'cache-control': 'no-cache' } })).headers['x-cache-status']).toBe('Bypass');
    expect((await request(`${url}/cc/req`, { headers: { 'cache-control': 'no-store' } })).headers['x-cache-status']).toBe('Bypass');
    expect((await request(`${url}/cc/req`, { headers: { authorization: 'Basic eDp5' } })).headers['x-cache-status']).toBe('Bypass');
    expect((await request(`${url}/cc/req`, { headers: { 'cache-control': 'min-fresh=120' } })).headers['x-cache-status']).toBe('Refresh');
    await sleep(1100);
    expect((await request(`${url}/cc/req`, { headers: { 'cache-control': 'max-age=0' } })).headers['x-cache-status']).toBe('Refresh');
    expect((await request(`${url}/cc/req`, { headers: { 'cache-control': 'max-age=30' } })).headers['x-cache-status']).toBe('Hit');
    const before = up.hits('/cc/absent');
    const oic = await request(`${url}/cc/absent`, { headers: { 'cache-control': 'only-if-cached' } });
    expect(oic.status).toBe(504);
    expect(up.hits('/cc/absent')).toBe(before);
  });

  it('vary_query_params and vary_headers: only those make another entry', async () => {
    const s = async (q: string, lang?: string) =>
      (await request(`${url}/vary/x${q}`, { headers: lang ? { 'x-lang': lang } : {} })).headers['x-cache-status'];
    expect(await s('?page=1&utm=a')).toBe('Miss');
    expect(await s('?utm=b&page=1')).toBe('Hit'); // utm is not a vary param
    expect(await s('?page=2')).toBe('Miss');
    expect(await s('?page=1', 'fr')).toBe('Miss');
    expect(await s('?page=1', 'fr')).toBe('Hit');
    expect(await s('?page=1')).toBe('Hit');
  });

  it('without vary_query_params every argument counts, in any order', async () => {
    await request(`${url}/basic/q?a=1&b=2`);
    expect((await request(`${url}/basic/q?b=2&a=1`)).headers['x-cache-status']).toBe('Hit');
    expect((await request(`${url}/basic/q?a=1&b=3`)).headers['x-cache-status']).toBe('Miss');
  });

  it('ignore_uri_case: paths differing in case share an entry', async () => {
    await request(`${url}/case/Mixed`);
    expect((await request(`${url}/case/mixed`)).headers['x-cache-status']).toBe('Hit');
    await request(`${url}/basic/Mixed`);
    expect((await request(`${url}/basic/mixed`)).headers['x-cache-status']).toBe('Miss');
  });

  it('response_headers off: no X-Cache-Status, X-Cache-Key or Age, still cached', async () => {
    await request(`${url}/quiet/x`);
    const b = await request(`${url}/quiet/x`);
    expect(b.headers['x-cache-status']).toBeUndefined();
    expect(b.headers['x-cache-key']).toBeUndefined();
    expect(b.headers['age']).toBeUndefined();
    expect(up.hits('/quiet/x')).toBe(1);
  });

  it('the memory dictionary is bounded by bytes and evicts the least recently used entry', async () => {
    const big = 'x'.repeat(1200);
    for (const p of ['/small/a', '/small/b', '/small/c']) up.set(p, { body: big });
    await request(`${url}/small/a`);
    await request(`${url}/small/b`);
    expect((await request(`${url}/small/a`)).headers['x-cache-status']).toBe('Hit'); // a is now the most recent
    await request(`${url}/small/c`); // evicts b
    expect((await request(`${url}/small/a`)).headers['x-cache-status']).toBe('Hit');
    expect((await request(`${url}/small/b`)).headers['x-cache-status']).toBe('Miss');
    up.set('/small/huge', { body: 'y'.repeat(5000) }); // larger than the dictionary: proxied, not stored
    await request(`${url}/small/huge`);
    expect((await request(`${url}/small/huge`)).headers['x-cache-status']).toBe('Bypass');
  });

  it('authenticated requests are not cached by default', async () => {
    const token = await hmacToken({ iss: 'alice-iss' }, SECRET);
    const h = { authorization: `Bearer ${token}` };
    expect((await request(`${url}/auth/x`, { headers: h })).headers['x-cache-status']).toBe('Bypass');
    expect((await request(`${url}/auth/x`, { headers: h })).headers['x-cache-status']).toBe('Bypass');
    expect(up.hits('/auth/x')).toBe(2);
    // a bare Authorization header (no auth plugin on the route) counts as authenticated too
    expect((await request(`${url}/basic/authz`, { headers: { authorization: 'Basic eDp5' } })).headers['x-cache-status']).toBe('Bypass');
  });

  it('cache_authenticated: one entry per consumer (Kong key <consumer>:<route>)', async () => {
    const ta = await hmacToken({ iss: 'alice-iss' }, SECRET);
    const tb = await hmacToken({ iss: 'bob-iss' }, SECRET);
    const get = async (t: string) => request(`${url}/auth-ok/x?jwt=${t}`);
    const a1 = await get(ta);
    expect(a1.headers['x-cache-status']).toBe('Miss');
    const a2 = await get(ta);
    expect(a2.headers['x-cache-status']).toBe('Hit');
    const b1 = await get(tb);
    expect(b1.headers['x-cache-status']).toBe('Miss');
    expect(b1.headers['x-cache-key']).not.toBe(a1.headers['x-cache-key']);
    expect((await get(tb)).headers['x-cache-status']).toBe('Hit');
    expect(up.hits('/auth-ok/x')).toBe(2);
    // still no answer from the cache without a valid token
    expect((await request(`${url}/auth-ok/x`)).status).toBe(401);
  });
});
