// Route selection truth tables (Kong 3.x traditional_compatible priority) against the compiled router.
import { describe, expect, it } from 'vitest';
import { compileRouter, normalizePath, type RouterInput } from '../../data-plane/router/index.js';

let seq = 0;
function route(name: string, f: Record<string, unknown>) {
  return {
    id: `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`, name,
    protocols: ['http', 'https'], methods: null, hosts: null, paths: null, headers: null, snis: null,
    strip_path: true, preserve_host: false, regex_priority: 0, path_handling: 'v0', https_redirect_status_code: 426,
    service: { id: 'svc' }, ...f,
  };
}
const SERVICES = [{ id: 'svc', name: 'svc', protocol: 'http', host: 'up.test', port: 80, path: null, enabled: true }];

function pick(routes: any[], req: Partial<RouterInput> & { path?: string }): string | null {
  const router = compileRouter(routes, SERVICES);
  const m = router.match({ method: 'GET', host: 'x.test', headers: {}, ...req, path: normalizePath(req.path ?? '/') });
  return m ? m.route.name : null;
}

type Case = [desc: string, routes: any[], req: Partial<RouterInput>, expected: string | null];

const CASES: Case[] = [
  ['prefix match is not segment-aware', [route('a', { paths: ['/route'] })], { path: '/routereq' }, 'a'],
  ['"/" matches everything', [route('root', { paths: ['/'] })], { path: '/anything/x' }, 'root'],
  ['"/root" does not match "/" ', [route('a', { paths: ['/root'] })], { path: '/' }, null],
  ['longer prefix wins', [route('short', { paths: ['/a'] }), route('long', { paths: ['/a/b'] })], { path: '/a/b/c' }, 'long'],
  ['longer prefix wins regardless of order', [route('long', { paths: ['/a/b'] }), route('short', { paths: ['/a'] })], { path: '/a/b/c' }, 'long'],
  ['shorter prefix when the longer does not match', [route('short', { paths: ['/a'] }), route('long', { paths: ['/a/b'] })], { path: '/a/c' }, 'short'],
  ['"/" does not beat "/root" for /root/x', [route('slash', { paths: ['/'] }), route('root', { paths: ['/root'] })], { path: '/root/x' }, 'root'],
  ['regex beats prefix at equal weight', [route('prefix', { paths: ['/users/list'] }), route('regex', { paths: ['~/users/\\w+'] })], { path: '/users/list' }, 'regex'],
  ['regex_priority orders regexes', [route('low', { paths: ['~/a/\\d+'], regex_priority: 1 }), route('high', { paths: ['~/a/.+'], regex_priority: 5 })], { path: '/a/1' }, 'high'],
  ['regex anchored at start', [route('re', { paths: ['~/x/\\d+'] })], { path: '/y/x/1' }, null],
  ['host beats longer uri (more fields)', [route('uri', { paths: ['/very/long/path'] }), route('host', { hosts: ['x.test'], paths: ['/'] })], { path: '/very/long/path', host: 'x.test' }, 'host'],
  ['plain host beats wildcard host', [route('wild', { hosts: ['*.x.test'] }), route('plain', { hosts: ['a.x.test'] })], { host: 'a.x.test' }, 'plain'],
  ['wildcard left', [route('wild', { hosts: ['*.x.test'] })], { host: 'deep.a.x.test' }, 'wild'],
  ['wildcard left needs a label', [route('wild', { hosts: ['*.x.test'] })], { host: 'x.test' }, null],
  ['wildcard right', [route('wild', { hosts: ['api.*'] })], { host: 'api.example.org' }, 'wild'],
  ['wildcard right other host', [route('wild', { hosts: ['api.*'] })], { host: 'web.example.org' }, null],
  ['host is case-insensitive and port ignored without :port rule', [route('h', { hosts: ['Example.COM'] })], { host: 'example.com:8000' }, 'h'],
  ['host with :port needs the port', [route('p', { hosts: ['example.com:8000'] })], { host: 'example.com:9000' }, null],
  ['host with :port matches the port', [route('p', { hosts: ['example.com:8000'] })], { host: 'example.com:8000' }, 'p'],
  ['methods filter', [route('post', { methods: ['POST'], paths: ['/m'] })], { path: '/m', method: 'GET' }, null],
  ['methods add weight', [route('any', { paths: ['/m'] }), route('get', { methods: ['GET'], paths: ['/m'] })], { path: '/m', method: 'GET' }, 'get'],
  ['headers case-insensitive values', [route('h', { headers: { 'X-Version': ['V2'] } })], { headers: { 'x-version': 'v2' } }, 'h'],
  ['headers mismatch', [route('h', { headers: { 'x-version': ['v2'] } })], { headers: { 'x-version': 'v3' } }, null],
  ['headers regex ~*', [route('h', { headers: { 'x-version': ['~*^v[0-9]+$'] } })], { headers: { 'x-version': 'V12' } }, 'h'],
  ['more headers win', [route('one', { headers: { a: ['1'] } }), route('two', { headers: { a: ['1'], b: ['2'] } })], { headers: { a: '1', b: '2' } }, 'two'],
  ['header route beats plain path route', [route('path', { paths: ['/'] }), route('hdr', { headers: { a: ['1'] } })], { path: '/', headers: { a: '1' } }, 'hdr'],
  ['repeated header values are separate', [route('h', { headers: { a: ['two'] } })], { headers: { a: ['one', 'two'] } }, 'h'],
  ['repeated header lines: any one matches', [route('h', { headers: { 'x-a': ['two'] } })], { headers: {}, rawHeaders: ['X-A', 'one', 'x-a', 'TWO'] }, 'h'],
  ['repeated header lines: none matches', [route('h', { headers: { 'x-a': ['two'] } })], { headers: {}, rawHeaders: ['X-A', 'one', 'x-b', 'two'] }, null],
  ['one header line with a comma is one value', [route('h', { headers: { a: ['two'] } })], { headers: { a: 'one, two' } }, null],
  ['host :port compares with the local port when Host has none', [route('p', { hosts: ['example.com:8000'] })], { host: 'example.com', localPort: 8000 }, 'p'],
  ['host :port vs another local port', [route('p', { hosts: ['example.com:8000'] })], { host: 'example.com', localPort: 8001 }, null],
  ['Host port wins over the local port', [route('p', { hosts: ['example.com:8000'] })], { host: 'example.com:9000', localPort: 8000 }, null],
  ['snis need TLS', [route('s', { protocols: ['https'], snis: ['x.test'] })], { sni: null }, null],
  ['snis match', [route('s', { protocols: ['https'], snis: ['x.test'] })], { sni: 'x.test' }, 's'],
  ['normalization: dot segments', [route('a', { paths: ['/a/b'] })], { path: '/x/../a/./b' }, 'a'],
  ['normalization: double slashes', [route('a', { paths: ['/a/b'] })], { path: '//a//b' }, 'a'],
  ['normalization: unreserved decoded', [route('a', { paths: ['/a-b'] })], { path: '/%61%2Db' }, 'a'],
  ['normalization: reserved stays encoded', [route('a', { paths: ['/a/b'] })], { path: '/a%2Fb' }, null],
  ['several paths split: longest group wins vs other route', [route('multi', { paths: ['/x', '/abc/def'] }), route('mid', { paths: ['/abc'] })], { path: '/abc/def' }, 'multi'],
  ['several paths split: short path of a route loses to a longer one', [route('multi', { paths: ['/a', '/zzzzzz'] }), route('mid', { paths: ['/a/b'] })], { path: '/a/b' }, 'mid'],
  ['grpc-only routes are not http routes', [route('g', { protocols: ['grpc'], paths: ['/'] })], { path: '/' }, null],
];

describe('route selection (Kong priority)', () => {
  it.each(CASES)('%s', (_desc, routes, req, expected) => {
    expect(pick(routes, req)).toBe(expected);
  });

  it('routes of disabled services are not routed', () => {
    const services = [{ ...SERVICES[0], enabled: false }];
    const router = compileRouter([route('a', { paths: ['/'] })], services);
    expect(router.match({ method: 'GET', path: '/', host: 'x', headers: {} })).toBeNull();
  });

  it('route without service still matches (service null)', () => {
    const router = compileRouter([route('a', { paths: ['/'], service: null })], SERVICES);
    const m = router.match({ method: 'GET', path: '/', host: 'x', headers: {} });
    expect(m?.route.name).toBe('a');
    expect(m?.service).toBeNull();
  });

  it('named regex captures', () => {
    const router = compileRouter([route('re', { paths: ['~/users/(?<id>\\d+)/(\\w+)$'] })], SERVICES);
    const m = router.match({ method: 'GET', path: '/users/42/profile', host: 'x', headers: {} });
    expect(m?.uriCaptures).toMatchObject({ id: '42', '1': '42', '2': 'profile' });
    expect(m?.upstreamPath).toBe('/');
  });

  it('regex strip removes the whole match', () => {
    const router = compileRouter([route('re', { paths: ['~/v\\d+'] })], SERVICES);
    const m = router.match({ method: 'GET', path: '/v2/things', host: 'x', headers: {} });
    expect(m?.upstreamPath).toBe('/things');
    expect(m?.strippedPrefix).toBe('/v2');
  });

  it('10,000 routes: the right one is found through the index', () => {
    const routes = [];
    for (let i = 0; i < 10000; i++) routes.push(route(`r${i}`, { paths: [`/svc-${i}/api`] }));
    routes.push(route('bench', { paths: ['/bench'] }));
    const router = compileRouter(routes, SERVICES);
    expect(router.match({ method: 'GET', path: '/bench/x', host: 'x', headers: {} })?.route.name).toBe('bench');
    expect(router.match({ method: 'GET', path: '/svc-4242/api/y', host: 'x', headers: {} })?.route.name).toBe('r4242');
    expect(router.match({ method: 'GET', path: '/svc-4242/ap', host: 'x', headers: {} })).toBeNull();
  });

  it('10,000 routes: a match stays in the sub-microsecond range (no scan of every route)', () => {
    const one = compileRouter([route('bench', { paths: ['/bench'] })], SERVICES);
    const routes = [];
    for (let i = 0; i < 10000; i++) routes.push(route(`r${i}`, { paths: [`/svc-${i}/api`], hosts: i % 2 ? [`h${i}.test`] : null }));
    routes.push(route('bench', { paths: ['/bench'] }));
    const many = compileRouter(routes, SERVICES);
    const input: RouterInput = { method: 'GET', path: '/bench/hello', host: '127.0.0.1:8000', headers: {} };
    const time = (r: typeof one) => {
      for (let i = 0; i < 20000; i++) r.match(input);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 200000; i++) r.match(input);
      return Number(process.hrtime.bigint() - t0);
    };
    const t1 = Math.min(time(one), time(one));
    const tMany = Math.min(time(many), time(many));
    // A proxied request costs ~30 µs; a scan of 10k routes would cost ~100 µs per match.
    // The end-to-end 0.95× target is measured by bench/proxy.js; here we only catch a scan.
    expect(tMany / 200000).toBeLessThan(1500); // ns per match
    expect(tMany).toBeLessThan(t1 * 10);
  });
});
