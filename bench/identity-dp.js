// A data plane for bench/identity.js: one service (UPSTREAM_PORT) and one route per case —
// /plain (no plugin), /noop (ip-restriction allowing all: the cost of the plugin path itself), /jwt (jwt with a consumer-less RS256 issuer whose JWKS is at JWKS_ISS),
// /key (key-auth), /basic (basic-auth) — served by the built proxy with the real plugin registry.
//   UPSTREAM_PORT=… JWKS_ISS=http://127.0.0.1:…/pool PORT=19041 node bench/identity-dp.js
import { randomUUID } from 'node:crypto';
import { createProxy } from '../dist/data-plane/proxy/index.js';
import { handlers } from '../dist/data-plane/plugins/registry.js';
import { emptySnapshot } from '../dist/shared/snapshot.js';
import { prepareInsert } from '../dist/shared/schema/entity.js';
import { plugins, consumers, keyauth_credentials, basicauth_credentials } from '../dist/shared/schema/entities/index.js';

const port = Number(process.env.PORT || 19041);
const iss = process.env.JWKS_ISS;

const svc = {
  id: randomUUID(), name: 'bench', protocol: 'http', host: '127.0.0.1', port: Number(process.env.UPSTREAM_PORT), path: null, retries: 5,
  connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, client_certificate: null,
  tls_verify: null, tls_verify_depth: null, ca_certificates: null, created_at: 1, updated_at: 1,
};
const route = (name) => ({
  id: randomUUID(), name, protocols: ['http', 'https'], methods: null, hosts: null, paths: [`/${name}`], headers: null, snis: null,
  sources: null, destinations: null, strip_path: false, preserve_host: false, regex_priority: 0, path_handling: 'v0',
  https_redirect_status_code: 426, request_buffering: true, response_buffering: true, tags: null, created_at: 1, updated_at: 1,
  service: { id: svc.id },
});
const snap = emptySnapshot();
snap.services.push(svc);
const routes = Object.fromEntries(['plain', 'noop', 'jwt', 'key', 'basic'].map((n) => [n, route(n)]));
snap.routes.push(...Object.values(routes));
const plugin = (name, r, config) => prepareInsert(plugins, { name, route: { id: r.id }, config });
snap.plugins.push(
  plugin('jwt', routes.jwt, { issuers: [{ iss, audiences: ['bench-client'], token_use: 'id' }], claims_to_headers: { sub: 'x-user-sub' } }),
  plugin('key-auth', routes.key, {}),
  plugin('ip-restriction', routes.noop, { allow: ['0.0.0.0/0'] }),
  plugin('basic-auth', routes.basic, {}),
);
const c = prepareInsert(consumers, { username: 'bench' });
snap.consumers.push(c);
snap.keyauth_credentials.push(prepareInsert(keyauth_credentials, { consumer: { id: c.id }, key: 'bench-key' }));
snap.basicauth_credentials.push(prepareInsert(basicauth_credentials, { consumer: { id: c.id }, username: 'bench', password: 'bench-pw' }));
snap.version = 1;

const log = { info() {}, warn() {}, error: (...a) => console.error(...a), debug() {} };
const proxy = createProxy({
  config: { trusted_ips: [], real_ip_header: 'X-Real-IP', real_ip_recursive: false, keepalive_timeout: 75000, allow_debug_header: false },
  log,
  registry: handlers,
});
proxy.applySnapshot(snap);
await proxy.listen('127.0.0.1', port);
console.log(`ready ${port}`);
process.on('SIGTERM', () => proxy.close().finally(() => process.exit(0)));
