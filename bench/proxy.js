// Proxy benchmark: our data plane next to undici-stream-proxy and @fastify/http-proxy, in the same
// run of /work/shared/perf/run.sh (or $PERF_RUN), once with 1 route and once with 10,000 routes.
//   npm run bench                       # build, then both modes (ROUNDS=2 DURATION=5 by default)
//   node bench/proxy.js --quick         # run.sh --quick (1 round x 3 s)
//   MODES=1 node bench/proxy.js         # only the 1-route mode (MODES=10000 for the other)
//   PLUGINS=correlation-id,request-transformer MODES=1 node bench/proxy.js   # with plugins on the route
// Extra environment is passed to run.sh (ROUNDS, DURATION, PIN, ...). Prints run.sh's tables.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runSh = process.env.PERF_RUN || '/work/shared/perf/run.sh';
const quick = process.argv.includes('--quick');
const modes = (process.env.MODES || '1,10000').split(',').map(Number);
const port = Number(process.env.DP_PORT || 19031);

if (!existsSync(join(root, 'dist/data-plane/proxy/index.js'))) {
  console.error('dist/ missing: run `npm run build` first (npm run bench does)');
  process.exit(2);
}
if (!existsSync(runSh)) {
  console.error(`perf harness not found at ${runSh} (set PERF_RUN)`);
  process.exit(2);
}

const results = [];
for (const routes of modes) {
  const name = (routes === 1 ? 'silverback-1-route' : `silverback-${routes}-routes`) + (process.env.PLUGINS ? '+plugins' : '');
  const env = {
    ...process.env,
    GATEWAY_NAME: name,
    GATEWAY_URL: `http://127.0.0.1:${port}/bench/hello`,
    GATEWAY_CMD: `ROUTES=${routes} PORT=${port} exec node ${process.env.NODE_FLAGS || ""} ${join(root, "bench/dp-server.js")}`,
    TARGETS: process.env.TARGETS || `undici-stream-proxy,fastify-http-proxy,${name}`,
    ...(quick ? {} : { ROUNDS: process.env.ROUNDS || '2', DURATION: process.env.DURATION || '5' }),
  };
  console.error(`\n== ${name}: ${runSh} ${quick ? '--quick' : ''}`);
  const r = spawnSync('bash', [runSh, ...(quick ? ['--quick'] : [])], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  results.push({ name, status: r.status });
}
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
