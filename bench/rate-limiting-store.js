// The Redis counter store alone: CPU per consume() at 1, 10 and 50 concurrent callers, against a
// redis-server of its own (free port, stopped by PID). Shows what the per-turn batch saves.
//   node bench/rate-limiting-store.js          (after npm run build)
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisStoreFor, closeRedisStores } from '../dist/data-plane/plugins/rate-limiting/redis-store.js';

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'sb-bench-store-'));
const pidFile = join(dir, 'redis.pid');
const r = spawnSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidFile, '--dir', dir], { encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr || r.stdout);
try {
  const store = redisStoreFor({ host: '127.0.0.1', port, timeout: 2000, ssl: false, ssl_verify: false, database: 0, username: null, password: null, server_name: null });
  await new Promise((res) => setTimeout(res, 300));
  // keys as the plugin makes them: route and service ids plus a consumer id
  const tag = `{${randomUUID()}:${randomUUID()}:${randomUUID()}}`;
  const checks = [{ period: 'minute', limit: 1e12, key: `ratelimit:${tag}:1765100000000:minute`, prevKey: `ratelimit:${tag}:1765099940000:minute`, weight: 0, ttlMs: 60000 }];
  console.log('| concurrent callers | cpu µs per consume | consumes/s |\n|---|---|---|');
  for (const conc of [1, 10, 50]) {
    const N = 60000;
    let started = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: conc }, async () => {
      while (started < N) {
        started++;
        await store.consume(checks);
      }
    }));
    const c = process.cpuUsage(c0);
    console.log(`| ${conc} | ${((c.user + c.system) / N).toFixed(1)} | ${Math.round(N / ((performance.now() - t0) / 1000))} |`);
  }
  await closeRedisStores();
} finally {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
  } catch {
    /* gone */
  }
  rmSync(dir, { recursive: true, force: true });
}
