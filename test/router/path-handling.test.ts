// Upstream path truth table: service.path × route path × strip_path × path_handling → upstream path.
// The expectations are Kong's (spec/fixtures/router_path_handling_tests.lua); the table is ours.
import { describe, expect, it } from 'vitest';
import { compileRouter, normalizePath } from '../../data-plane/router/index.js';

type Strip = 'keep' | 'strip' | 'both';
type PH = 'v0' | 'v1' | 'both';
// [service path, route path (null = host-only route), strip_path, path_handling, request path, expected]
const TABLE: [string, string | null, Strip, PH, string, string][] = [
  ['/', '/', 'both', 'both', '/', '/'],
  ['/', '/', 'both', 'both', '/route', '/route'],
  ['/', '/', 'both', 'both', '/route/', '/route/'],
  ['/', '/', 'both', 'both', '/routereq', '/routereq'],
  ['/', '/', 'both', 'both', '/route/req', '/route/req'],
  ['/', '/route', 'keep', 'both', '/route', '/route'],
  ['/', '/route', 'keep', 'both', '/route/', '/route/'],
  ['/', '/route', 'keep', 'both', '/routereq', '/routereq'],
  ['/', '/route', 'strip', 'both', '/route', '/'],
  ['/', '/route', 'strip', 'both', '/route/', '/'],
  ['/', '/route', 'strip', 'both', '/routereq', '/req'],
  ['/', '/route/', 'keep', 'both', '/route/', '/route/'],
  ['/', '/route/', 'keep', 'both', '/route/req', '/route/req'],
  ['/', '/route/', 'strip', 'both', '/route/', '/'],
  ['/', '/route/', 'strip', 'both', '/route/req', '/req'],
  ['/srv', '/rou', 'keep', 'v0', '/roureq', '/srv/roureq'],
  ['/srv', '/rou', 'keep', 'v1', '/roureq', '/srvroureq'],
  ['/srv', '/rou', 'strip', 'v0', '/roureq', '/srv/req'],
  ['/srv', '/rou', 'strip', 'v1', '/roureq', '/srvreq'],
  ['/srv/', '/rou', 'keep', 'both', '/rou', '/srv/rou'],
  ['/srv/', '/rou', 'strip', 'v0', '/rou', '/srv'],
  ['/srv/', '/rou', 'strip', 'v1', '/rou', '/srv/'],
  ['/service', '/', 'both', 'both', '/', '/service'],
  ['/service', '/', 'both', 'v0', '/route', '/service/route'],
  ['/service', '/', 'both', 'v1', '/route', '/serviceroute'],
  ['/service', '/', 'both', 'v0', '/route/', '/service/route/'],
  ['/service', '/', 'both', 'v1', '/route/', '/serviceroute/'],
  ['/service', '/', 'both', 'v0', '/routereq', '/service/routereq'],
  ['/service', '/', 'both', 'v1', '/routereq', '/serviceroutereq'],
  ['/service', '/', 'both', 'v0', '/route/req', '/service/route/req'],
  ['/service', '/', 'both', 'v1', '/route/req', '/serviceroute/req'],
  ['/service', '/route', 'keep', 'v0', '/route', '/service/route'],
  ['/service', '/route', 'keep', 'v1', '/route', '/serviceroute'],
  ['/service', '/route', 'keep', 'v0', '/route/', '/service/route/'],
  ['/service', '/route', 'keep', 'v1', '/route/', '/serviceroute/'],
  ['/service', '/route', 'keep', 'v0', '/routereq', '/service/routereq'],
  ['/service', '/route', 'keep', 'v1', '/routereq', '/serviceroutereq'],
  ['/service', '/route', 'strip', 'both', '/route', '/service'],
  ['/service', '/route', 'strip', 'both', '/route/', '/service/'],
  ['/service', '/route', 'strip', 'v0', '/routereq', '/service/req'],
  ['/service', '/route', 'strip', 'v1', '/routereq', '/servicereq'],
  ['/service', '/route/', 'keep', 'v0', '/route/', '/service/route/'],
  ['/service', '/route/', 'keep', 'v1', '/route/', '/serviceroute/'],
  ['/service', '/route/', 'keep', 'v0', '/route/req', '/service/route/req'],
  ['/service', '/route/', 'keep', 'v1', '/route/req', '/serviceroute/req'],
  ['/service', '/route/', 'strip', 'v0', '/route/', '/service/'],
  ['/service', '/route/', 'strip', 'v1', '/route/', '/service'],
  ['/service', '/route/', 'strip', 'v0', '/route/req', '/service/req'],
  ['/service', '/route/', 'strip', 'v1', '/route/req', '/servicereq'],
  ['/service/', '/', 'both', 'both', '/route/', '/service/route/'],
  ['/service/', '/', 'both', 'both', '/', '/service/'],
  ['/service/', '/', 'both', 'both', '/route', '/service/route'],
  ['/service/', '/', 'both', 'both', '/routereq', '/service/routereq'],
  ['/service/', '/', 'both', 'both', '/route/req', '/service/route/req'],
  ['/service/', '/route', 'keep', 'both', '/route', '/service/route'],
  ['/service/', '/route', 'keep', 'both', '/route/', '/service/route/'],
  ['/service/', '/route', 'keep', 'both', '/routereq', '/service/routereq'],
  ['/service/', '/route', 'strip', 'v0', '/route', '/service'],
  ['/service/', '/route', 'strip', 'v1', '/route', '/service/'],
  ['/service/', '/route', 'strip', 'both', '/route/', '/service/'],
  ['/service/', '/route', 'strip', 'both', '/routereq', '/service/req'],
  ['/service/', '/route/', 'keep', 'both', '/route/', '/service/route/'],
  ['/service/', '/route/', 'keep', 'both', '/route/req', '/service/route/req'],
  ['/service/', '/route/', 'strip', 'both', '/route/', '/service/'],
  ['/service/', '/route/', 'strip', 'both', '/route/req', '/service/req'],
  // host-only routes (no paths)
  ['/', null, 'both', 'both', '/', '/'],
  ['/', null, 'both', 'both', '/route', '/route'],
  ['/', null, 'both', 'both', '/route/', '/route/'],
  ['/service', null, 'both', 'both', '/', '/service'],
  ['/service', null, 'both', 'v0', '/route', '/service/route'],
  ['/service', null, 'both', 'v1', '/route', '/serviceroute'],
  ['/service', null, 'both', 'v0', '/route/', '/service/route/'],
  ['/service', null, 'both', 'v1', '/route/', '/serviceroute/'],
  ['/service/', null, 'both', 'both', '/', '/service/'],
  ['/service/', null, 'both', 'both', '/route', '/service/route'],
  ['/service/', null, 'both', 'both', '/route/', '/service/route/'],
  // dot segments left after stripping, raw and %-encoded
  ['/service', '/route', 'strip', 'v0', '/route./req', '/service/req'],
  ['/service', '/route', 'strip', 'v1', '/route./req', '/servicereq'],
  ['/service/', '/route', 'strip', 'both', '/route./req', '/service/req'],
  ['/service', '/route', 'strip', 'v0', '/route%2E/req', '/service/req'],
  ['/service', '/route', 'strip', 'v1', '/route%2E/req', '/servicereq'],
  ['/service/', '/route', 'strip', 'both', '/route%2E/req', '/service/req'],
  ['/service', '/route', 'strip', 'v0', '/route%2e/req', '/service/req'],
  ['/service', '/route', 'strip', 'v1', '/route%2e/req', '/servicereq'],
  ['/service/', '/route', 'strip', 'both', '/route%2e/req', '/service/req'],
];

export function expandPathHandlingTable() {
  const rows: { servicePath: string; routePath: string | null; strip: boolean; ph: 'v0' | 'v1'; req: string; expected: string }[] = [];
  for (const [servicePath, routePath, strip, ph, req, expected] of TABLE) {
    for (const s of strip === 'both' ? [false, true] : [strip === 'strip'])
      for (const p of ph === 'both' ? (['v0', 'v1'] as const) : [ph]) rows.push({ servicePath, routePath, strip: s, ph: p, req, expected });
  }
  return rows;
}

describe('upstream path (strip_path × path_handling × service.path)', () => {
  const rows = expandPathHandlingTable();
  it.each(rows)('svc $servicePath route $routePath strip=$strip $ph: $req → $expected', (row) => {
    const service = { id: 's1', name: 's', protocol: 'http', host: 'example.test', port: 80, path: row.servicePath, enabled: true };
    const route = {
      id: 'r1', name: 'r', protocols: ['http', 'https'], methods: null,
      hosts: row.routePath === null ? ['host.test'] : null,
      paths: row.routePath === null ? null : [row.routePath],
      headers: null, snis: null, strip_path: row.strip, path_handling: row.ph, preserve_host: false, regex_priority: 0,
      service: { id: 's1' },
    };
    const router = compileRouter([route], [service]);
    const m = router.match({ method: 'GET', path: normalizePath(row.req), host: 'host.test', headers: {} });
    expect(m).not.toBeNull();
    expect(m!.upstreamPath).toBe(row.expected);
  });
});
