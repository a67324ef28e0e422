// A data plane for benchmarks: builds a snapshot in code (one route /bench → PERF_UPSTREAM_URL, plus
// ROUTES-1 other routes) and serves it with the built proxy from dist/. Used by bench/proxy.js.
//   PERF_UPSTREAM_URL=http://127.0.0.1:19001 ROUTES=10000 PORT=19031 node bench/dp-server.js
//   PLUGINS=correlation-id,request-transformer ...   plugins on the /bench route (configs below)
import { randomUUID } from 'node:crypto';
import { createProxy } from '../dist/data-plane/proxy/index.js';
import { emptySnapshot } from '../dist/shared/snapshot.js';
import { prepareInsert } from '../dist/shared/schema/entity.js';
import { plugins as pluginEntity } from '../dist/shared/schema/entities/index.js';

const upstream = new URL(process.env.PERF_UPSTREAM_URL || 'http://127.0.0.1:19001');
const routesWanted = Math.max(1, Number(process.env.ROUTES || 1));
const port = Number(process.env.PORT || 19031);

function service(name, host, port) {
  return {
    id: randomUUID(), name, protocol: 'http', host, port, path: null, retries: 5, connect_timeout: 60000,
    write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, client_certificate: null,
    tls_verify: null, tls_verify_depth: null, ca_certificates: null, created_at: 1, updated_at: 1,
  };
}

function route(name, fields) {
  return {
    id: randomUUID(), name, protocols: ['http', 'https'], methods: null, hosts: null, paths: null, headers: null,
    snis: null, sources: null, destinations: null, strip_path: false, preserve_host: false, regex_priority: 0,
    path_handling: 'v0', https_redirect_status_code: 426, request_buffering: true, response_buffering: true,
    tags: null, created_at: 1, updated_at: 1, ...fields,
  };
}

const snap = emptySnapshot();
const svc = service('bench', upstream.hostname, Number(upstream.port || 80));
snap.services.push(svc);
// Other routes look like a real estate: per-team prefixes, half of them host-bound, some with methods.
for (let i = 0; i < routesWanted - 1; i++) {
  snap.routes.push(
    route(`r${i}`, {
      paths: [`/team-${i % 97}/svc-${i}/v1`],
      hosts: i % 2 ? [`svc-${i}.example.com`] : null,
      methods: i % 3 === 0 ? ['GET', 'POST'] : null,
      service: { id: svc.id },
    }),
  );
}
const benchRoute = route('bench', { paths: ['/bench'], service: { id: svc.id } });
snap.routes.push(benchRoute);
// Plugin configs as a user would set them; rows validated and defaulted as the Admin API stores them.
const PLUGIN_CONFIGS = {
  'correlation-id': { header_name: 'X-Request-Id', generator: 'uuid#counter', echo_downstream: true },
  'request-transformer': { add: { headers: ['x-bench:1'], querystring: ['src:bench'] }, remove: { headers: ['x-drop'] } },
};
for (const name of (process.env.PLUGINS || '').split(',').filter(Boolean)) {
  if (!(name in PLUGIN_CONFIGS)) throw new Error(`no bench config for plugin ${name}`);
  snap.plugins.push(prepareInsert(pluginEntity, { name, config: PLUGIN_CONFIGS[name], route: { id: benchRoute.id } }));
}
snap.version = 1;

const log = { info() {}, warn() {}, error: (...a) => console.error(...a), debug() {} };
const proxy = createProxy({
  config: { trusted_ips: [], real_ip_header: 'X-Real-IP', real_ip_recursive: false, keepalive_timeout: 75000, allow_debug_header: false },
  log,
});
const t0 = performance.now();
proxy.applySnapshot(snap);
const compileMs = performance.now() - t0;
await proxy.listen('127.0.0.1', port);
console.log(`silverback dp-server: ${snap.routes.length} routes (compiled in ${compileMs.toFixed(0)} ms) on 127.0.0.1:${port} -> ${upstream.origin}`);
process.on('SIGTERM', () => proxy.close().finally(() => process.exit(0)));
process.on('SIGINT', () => proxy.close().finally(() => process.exit(0)));
