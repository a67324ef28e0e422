// Upstream path truth table: service.path × route path × strip_path × path_handling → upstream path.
// The expectations are Kong's (spec/fixtures/router_path_handling_tests.lua); the table is ours.
import { describe, expect, it } from 'vitest';
import { compileRouter, normalizePath } from '../../data-plane/router/index.js';
import { expandPathHandlingTable } from './path-handling-table.js';

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
