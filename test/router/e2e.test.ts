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
  ];
  it.each(cases)('%s %o → %s', async (path, headers, expected) => {
    const res = await request(`${url}${path}`, { headers: { ...headers, 'kong-debug': '1' } });
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe(expected);
  });
});
