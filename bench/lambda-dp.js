// A data plane for the Lambda benchmark: one serviceless route /fn with an aws-lambda plugin (row
// validated as the Admin API stores it) pointing at LAMBDA_PORT, served with the built proxy.
//   LAMBDA_PORT=19041 PORT=19042 MODE=kong|2.0 node bench/lambda-dp.js
import { randomUUID } from 'node:crypto';
import { createProxy } from '../dist/data-plane/proxy/index.js';
import { handlers } from '../dist/data-plane/plugins/registry.js';
import { emptySnapshot } from '../dist/shared/snapshot.js';
import { prepareInsert } from '../dist/shared/schema/entity.js';
import { plugins } from '../dist/shared/schema/entities/index.js';

const port = Number(process.env.PORT || 19042);
const lambdaPort = Number(process.env.LAMBDA_PORT || 19041);
const mode = process.env.MODE || 'kong';

const route = {
  id: randomUUID(), name: 'fn', protocols: ['http', 'https'], methods: null, hosts: null, paths: ['/fn'], headers: null,
  snis: null, sources: null, destinations: null, strip_path: true, preserve_host: false, regex_priority: 0,
  path_handling: 'v0', https_redirect_status_code: 426, request_buffering: true, response_buffering: true,
  service: null, tags: null, created_at: 1, updated_at: 1,
};
const config = { aws_region: 'us-east-1', function_name: 'bench', host: '127.0.0.1', port: lambdaPort, disable_https: true, aws_key: 'AKIDBENCH', aws_secret: 'bench-secret' };
if (mode === '2.0') config.awsgateway_compatible_payload_version = '2.0';
const plugin = prepareInsert(plugins, { name: 'aws-lambda', config, route: { id: route.id }, service: null, consumer: null });

const snap = emptySnapshot();
snap.routes.push(route);
snap.plugins.push(plugin);
snap.version = 1;
const log = { info() {}, warn() {}, error: (...a) => console.error(...a), debug() {} };
const proxy = createProxy({
  config: { trusted_ips: [], real_ip_header: 'X-Real-IP', real_ip_recursive: false, keepalive_timeout: 75000, allow_debug_header: false },
  log,
  registry: handlers,
});
proxy.applySnapshot(snap);
await proxy.listen('127.0.0.1', port);
console.log(`silverback lambda dp (${mode}) on 127.0.0.1:${port} -> lambda 127.0.0.1:${lambdaPort}`);
process.on('SIGTERM', () => proxy.close().finally(() => process.exit(0)));
