// A data plane for the proxy-cache benchmark: /bench proxied plainly, /cached through proxy-cache
// (strategy memory, or redis with CACHE_STRATEGY=redis REDIS_PORT=...), both → PERF_UPSTREAM_URL.
//   npm run build && GATEWAY_CMD='node bench/proxy-cache-server.js' GATEWAY_URL=http://127.0.0.1:19031/cached /work/shared/perf/run.sh
import { randomUUID } from 'node:crypto';
import { createProxy } from '../dist/data-plane/proxy/index.js';
import { emptySnapshot } from '../dist/shared/snapshot.js';
import { prepareInsert } from '../dist/shared/schema/entity.js';
import { plugins } from '../dist/shared/schema/entities/index.js';

const upstream = new URL(process.env.PERF_UPSTREAM_URL || 'http://127.0.0.1:19001');
const port = Number(process.env.PORT || 19031);
const strategy = process.env.CACHE_STRATEGY || 'memory';

const svc = {
  id: randomUUID(), name: 'bench', protocol: 'http', host: upstream.hostname, port: Number(upstream.port || 80), path: null,
  retries: 5, connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null,
  client_certificate: null, tls_verify: null, tls_verify_depth: null, ca_certificates: null, created_at: 1, updated_at: 1,
};
const route = (name, path) => ({
  id: randomUUID(), name, protocols: ['http', 'https'], methods: null, hosts: null, paths: [path], headers: null, snis: null,
  sources: null, destinations: null, strip_path: false, preserve_host: false, regex_priority: 0, path_handling: 'v0',
  https_redirect_status_code: 426, request_buffering: true, response_buffering: true, tags: null, service: { id: svc.id },
  created_at: 1, updated_at: 1,
});
const plain = route('bench', '/bench');
const cached = route('cached', '/cached');
const config = { strategy, content_type: ['application/json', 'text/plain', 'application/json; charset=utf-8'] };
if (strategy === 'redis') config.redis = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT || 6379) };
const snap = emptySnapshot();
snap.services.push(svc);
snap.routes.push(plain, cached);
snap.plugins.push(prepareInsert(plugins, { name: 'proxy-cache', config, route: { id: cached.id }, service: null, consumer: null }));
snap.version = 1;

const log = { info() {}, warn() {}, error: (...a) => console.error(...a), debug() {} };
const proxy = createProxy({
  config: { trusted_ips: [], real_ip_header: 'X-Real-IP', real_ip_recursive: false, keepalive_timeout: 75000, allow_debug_header: false },
  log,
});
proxy.applySnapshot(snap);
await proxy.listen('127.0.0.1', port);
console.log(`silverback proxy-cache bench dp on 127.0.0.1:${port} (/bench plain, /cached proxy-cache ${strategy}) -> ${upstream.origin}`);
process.on('SIGTERM', () => proxy.close().finally(() => process.exit(0)));
process.on('SIGINT', () => proxy.close().finally(() => process.exit(0)));
