// Rate-limiting benchmark (issue 12's perf line): our data plane bare, with rate-limiting(local),
// with rate-limiting(redis), and with jwt + rate-limiting(redis), each run by the shared harness
// (/work/shared/perf/run.sh or $PERF_RUN) next to undici-stream-proxy as the common reference.
// A redis-server of its own is started on a free port and stopped by PID at the end.
//   node bench/rate-limiting.js            # ROUNDS=2 DURATION=5 by default
//   node bench/rate-limiting.js --quick    # run.sh --quick
//   MODES=bare,rl-local node bench/rate-limiting.js
// Prints run.sh's tables, then one summary: RPS and req per CPU-s of each mode ÷ bare.
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runSh = process.env.PERF_RUN || '/work/shared/perf/run.sh';
const quick = process.argv.includes('--quick');
const modes = (process.env.MODES || 'bare,rl-local,rl-redis,jwt-rl-redis').split(',');
const port = Number(process.env.DP_PORT || 19031);
const SECRET = 'bench-secret-bench-secret-bench-secret'; // bench/plugins-server.js's consumer secret

if (!existsSync(join(root, 'dist/data-plane/proxy/index.js'))) {
  console.error('dist/ missing: run `npm run build` first');
  process.exit(2);
}

function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'bench-iss', sub: 'bench' })}`;
const token = `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;

const redisDir = mkdtempSync(join(tmpdir(), 'sb-bench-redis-'));
const redisPort = await freePort();
const pidFile = join(redisDir, 'redis.pid');
const started = spawnSync('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  '--daemonize', 'yes', '--pidfile', pidFile, '--dir', redisDir], { encoding: 'utf8' });
if (started.status !== 0) {
  console.error(`redis-server failed: ${started.stderr || started.stdout}`);
  process.exit(2);
}
const stopRedis = () => {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
  } catch {
    /* gone */
  }
  rmSync(redisDir, { recursive: true, force: true });
};
process.on('exit', stopRedis);

const rows = [];
for (const mode of modes) {
  const name = `silverback-${mode}`;
  const url = `http://127.0.0.1:${port}/bench/hello${mode.startsWith('jwt') ? `?jwt=${token}` : ''}`;
  const env = {
    ...process.env,
    GATEWAY_NAME: name,
    GATEWAY_URL: url,
    GATEWAY_CMD: `MODE=${mode} REDIS_PORT=${redisPort} PORT=${port} exec node ${join(root, 'bench/plugins-server.js')}`,
    TARGETS: process.env.TARGETS || `undici-stream-proxy,${name}`,
    ...(quick ? {} : { ROUNDS: process.env.ROUNDS || '2', DURATION: process.env.DURATION || '5' }),
  };
  console.error(`\n== ${name}: ${runSh} ${quick ? '--quick' : ''}`);
  const r = spawnSync('bash', [runSh, ...(quick ? ['--quick'] : [])], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  // | name | RPS median | RPS min–max | p50 | p99 | p99 min-max | ratio | CPU % | req per CPU-s | errors |
  const cells = (n) => (r.stdout ?? '').split('\n').find((l) => l.startsWith(`| ${n} `))?.split('|').map((c) => c.trim());
  const mine = cells(name);
  const ref = cells('undici-stream-proxy');
  const num = (c, i) => (c ? Number(String(c[i]).replace(/[^0-9.]/g, '')) : NaN);
  rows.push({ mode, rps: num(mine, 2), perCpu: num(mine, 9), p99: mine?.[5], ref: num(ref, 2), errors: mine?.[10] });
}

const bare = rows.find((r) => r.mode === 'bare');
console.log('\n| mode | RPS | RPS ÷ bare | RPS÷undici ÷ bare\'s | req per CPU-s | per CPU-s ÷ bare | p99 | errors |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  console.log(`| ${r.mode} | ${r.rps} | ${bare ? f(r.rps / bare.rps) : '–'} | ${bare ? f(r.rps / r.ref / (bare.rps / bare.ref)) : '–'} | ${r.perCpu} | ${bare ? f(r.perCpu / bare.perCpu) : '–'} | ${r.p99 ?? '–'} | ${r.errors ?? '–'} |`);
}
