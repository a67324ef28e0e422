// The path-handling truth table and a few selection rules end to end: client → proxy → echo upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { request, route, service, snapshot, startProxy } from '../proxy/fixtures.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { expandPathHandlingTable } from './path-handling-table.js';

const rows = expandPathHandlingTable();
let up: Upstream;
let proxy: Proxy;
let url: string;

beforeAll(async () => {
  up = await startUpstream();
  const services = [];
  const routes = [];
  // one host per row keeps the rows from competing with each other
  for (const [i, row] of rows.entries()) {
    const s = service({ port: up.port, path: row.servicePath });
    services.push(s);
    routes.push(route({ hosts: [`row-${i}.test`], paths: row.routePath === null ? null : [row.routePath], strip_path: row.strip, path_handling: row.ph, service: { id: s.id } }));
  }
  // selection subset
  const sel = service({ name: 'sel', port: up.port });
  services.push(sel);
  routes.push(
    route({ name: 'short', hosts: ['sel.test'], paths: ['/a'], service: { id: sel.id } }),
    route({ name: 'long', hosts: ['sel.test'], paths: ['/a/b'], service: { id: sel.id } }),
    route({ name: 'regex', hosts: ['sel.test'], paths: ['~/a/b/\\d+'], service: { id: sel.id } }),
    route({ name: 'wild', hosts: ['*.sel.test'], paths: ['/'], service: { id: sel.id } }),
    route({ name: 'hdr', hosts: ['sel.test'], headers: { 'x-version': ['v2'] }, paths: ['/a'], service: { id: sel.id } }),
    // Kong splits the Host header's port off and matches it against a route host's `:port`
    route({ name: 'port-321', hosts: ['example.org:321'], service: { id: sel.id } }),
    route({ name: 'any-port', hosts: ['example.org'], service: { id: sel.id } }),
    route({ name: 'wild-port', hosts: ['*.wild.test:8443'], service: { id: sel.id } }),
    // a header sent several times: any one value may match
    route({ name: 'multi', hosts: ['hdr.test'], headers: { 'x-env': ['prod'] }, service: { id: sel.id } }),
    route({ name: 'multi-ua', hosts: ['hdr.test'], headers: { 'user-agent': ['probe/1'] }, paths: ['/ua'], service: { id: sel.id } }),
    route({ name: 'comma', hosts: ['hdr.test'], headers: { 'x-list': ['a, b'] }, paths: ['/comma'], service: { id: sel.id } }),
    route({ name: 'hdr-fallback', hosts: ['hdr.test'], service: { id: sel.id } }),
  );
  ({ proxy, url } = await startProxy(snapshot({ services, routes })));
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
});

describe('path handling through the proxy', () => {
  it.each(rows.map((r, i) => ({ ...r, i })))('svc $servicePath route $routePath strip=$strip $ph: $req → $expected', async (row) => {
    const res = await request(`${url}${row.req}?q=1`, { headers: { host: `row-${row.i}.test` } });
    expect(res.status).toBe(200);
    expect(res.json().url).toBe(`${row.expected}?q=1`);
  });
});

describe('selection through the proxy', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['/a/b/c', { host: 'sel.test' }, 'long'],
    ['/a/c', { host: 'sel.test' }, 'short'],
    ['/a/b/12', { host: 'sel.test' }, 'regex'],
    ['/a/b/12', { host: 'x.sel.test' }, 'wild'],
    ['/a', { host: 'sel.test', 'x-version': 'V2' }, 'hdr'],
    ['/', { host: 'example.org:321' }, 'port-321'],
    ['/', { host: 'EXAMPLE.org:321' }, 'port-321'],
    ['/', { host: 'example.org:322' }, 'any-port'],
    ['/', { host: 'example.org' }, 'any-port'],
    ['/', { host: 'a.wild.test:8443' }, 'wild-port'],
  ];
  it.each(cases)('%s %o → %s', async (path, headers, expected) => {
    const res = await request(`${url}${path}`, { headers: { ...headers, 'kong-debug': '1' } });
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe(expected);
  });

  it('a route host with :port matches a port-less Host arriving on that port (Kong net.dst.port)', async () => {
    const s = service({ port: up.port });
    const { proxy: p2, url: u2, port } = await startProxy(snapshot({}));
    try {
      p2.applySnapshot(snapshot({ services: [s], routes: [route({ name: 'on-port', hosts: [`local.test:${port}`], service: { id: s.id } })] }));
      const hit = await request(`${u2}/`, { headers: { host: 'local.test', 'kong-debug': '1' } });
      expect(hit.status).toBe(200);
      expect(hit.headers['kong-route-name']).toBe('on-port');
      // the Host header's own port is what counts when it has one
      expect((await request(`${u2}/`, { headers: { host: `local.test:${port + 1}` } })).status).toBe(404);
      expect((await request(`${u2}/`, { headers: { host: `local.test:${port}` } })).status).toBe(200);
    } finally {
      await p2.close();
    }
  });
});

describe('routing by a header sent several times', () => {
  // node:http sends an array value as one header line per element
  const cases: [string, string, Record<string, string | string[]>, string][] = [
    ['second of two values matches', '/', { 'x-env': ['dev', 'PROD'] }, 'multi'],
    ['first of two values matches', '/', { 'x-env': ['prod', 'dev'] }, 'multi'],
    ['no value matches', '/', { 'x-env': ['dev', 'test'] }, 'hdr-fallback'],
    // node keeps only the first line of some headers (user-agent, authorization, ...): Kong sees them all
    ['a header node de-duplicates', '/ua', { 'user-agent': ['curl/8', 'probe/1'] }, 'multi-ua'],
    // one line carrying a comma is one value, not two
    ['one value with a comma is one value', '/comma', { 'x-list': 'a, b' }, 'comma'],
    ['a comma-joined line does not match its parts', '/', { 'x-env': 'dev, prod' }, 'hdr-fallback'],
  ];
  it.each(cases)('%s', async (_d, path, headers, expected) => {
    const res = await request(`${url}${path}`, { headers: { host: 'hdr.test', 'kong-debug': '1', ...headers } });
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe(expected);
  });
});
