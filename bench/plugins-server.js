// A data plane for plugin benchmarks: one route /bench → PERF_UPSTREAM_URL with the plugins of MODE,
// served by the built proxy from dist/ with the real plugin registry. Used by bench/rate-limiting.js.
//   MODE=bare|size-limit|rl-local|rl-local-hidden|rl-redis|jwt|jwt-rl-redis  REDIS_PORT=6379  PORT=19031  node bench/plugins-server.js
// jwt modes print the token to use (?jwt=<token>) on the first line: `token <jwt>`.
import { createHmac, randomUUID } from 'node:crypto';
import { createProxy } from '../dist/data-plane/proxy/index.js';
import { handlers } from '../dist/data-plane/plugins/registry.js';
import { emptySnapshot } from '../dist/shared/snapshot.js';
import { prepareInsert, present } from '../dist/shared/schema/entity.js';
import { consumers, jwt_secrets, plugins } from '../dist/shared/schema/entities/index.js';

const upstream = new URL(process.env.PERF_UPSTREAM_URL || 'http://127.0.0.1:19001');
const port = Number(process.env.PORT || 19031);
const mode = process.env.MODE || 'bare';
const redisPort = Number(process.env.REDIS_PORT || 6379);
const SECRET = 'bench-secret-bench-secret-bench-secret';

const svc = {
  id: randomUUID(), name: 'bench', protocol: 'http', host: upstream.hostname, port: Number(upstream.port || 80), path: null, retries: 5,
  connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, client_certificate: null,
  tls_verify: null, tls_verify_depth: null, ca_certificates: null, created_at: 1, updated_at: 1,
};
const route = {
  id: randomUUID(), name: 'bench', protocols: ['http', 'https'], methods: null, hosts: null, paths: ['/bench'], headers: null,
  snis: null, sources: null, destinations: null, strip_path: false, preserve_host: false, regex_priority: 0, path_handling: 'v0',
  https_redirect_status_code: 426, request_buffering: true, response_buffering: true, tags: null, service: { id: svc.id },
  created_at: 1, updated_at: 1,
};
const plugin = (name, config) => prepareInsert(plugins, { name, config, route: { id: route.id }, service: null, consumer: null });
const LIMIT = 1e9; // never reached: every request is counted and admitted

const snap = emptySnapshot();
snap.services.push(svc);
snap.routes.push(route);
const redis = { host: '127.0.0.1', port: redisPort };
// reference points: an access-only plugin that adds nothing, and rate-limiting without client headers
if (mode === 'size-limit') snap.plugins.push(plugin('request-size-limiting', {}));
if (mode === 'rl-local-hidden') snap.plugins.push(plugin('rate-limiting', { minute: LIMIT, limit_by: 'ip', hide_client_headers: true }));
if (mode === 'rl-local') snap.plugins.push(plugin('rate-limiting', { minute: LIMIT, limit_by: 'ip' }));
if (mode === 'rl-redis') snap.plugins.push(plugin('rate-limiting', { minute: LIMIT, limit_by: 'ip', policy: 'redis', redis }));
let token = null;
if (mode === 'jwt' || mode === 'jwt-rl-redis') {
  const consumer = present(consumers, prepareInsert(consumers, { username: 'bench' }));
  snap.consumers.push(consumer);
  snap.jwt_secrets.push(present(jwt_secrets, prepareInsert(jwt_secrets, { consumer: { id: consumer.id }, key: 'bench-iss', secret: SECRET })));
  snap.plugins.push(plugin('jwt', {}));
  if (mode === 'jwt-rl-redis') snap.plugins.push(plugin('rate-limiting', { minute: LIMIT, policy: 'redis', redis }));
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'bench-iss', sub: 'bench' })}`;
  token = `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}
snap.version = 1;

const log = { info() {}, warn() {}, error: (...a) => console.error(...a), debug() {} };
const proxy = createProxy({
  config: { trusted_ips: [], real_ip_header: 'X-Real-IP', real_ip_recursive: false, keepalive_timeout: 75000, allow_debug_header: false },
  log,
  registry: handlers,
});
proxy.applySnapshot(snap);
await proxy.listen('127.0.0.1', port);
if (token) console.log(`token ${token}`);
console.log(`silverback plugins-server: mode ${mode} on 127.0.0.1:${port} -> ${upstream.origin}`);
process.on('SIGTERM', () => proxy.close().finally(() => process.exit(0)));
process.on('SIGINT', () => proxy.close().finally(() => process.exit(0)));
