// Lambda benchmark: the gateway's added cost per Lambda call. A local Invoke API server, then
//   direct   — @aws-sdk/client-lambda Invoke from this process (keep-alive, one client)
//   gateway  — HTTP GET /fn through the data plane (aws-lambda plugin, Kong mode or payload 2.0)
// each as a closed loop at CONCURRENCY for DURATION seconds. The data plane is pinned to one core
// (taskset, when present) and prints p50/p99 latency and RPS; added latency = gateway - direct.
//   npm run build && node bench/lambda.js            # CONCURRENCY=1,16 DURATION=5 MODES=kong,2.0
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const duration = Number(process.env.DURATION || 5) * 1000;
const levels = (process.env.CONCURRENCY || '1,16').split(',').map(Number);
const modes = (process.env.MODES || 'kong,2.0').split(',');
const lambdaPort = Number(process.env.LAMBDA_PORT || 19041);
const dpPort = Number(process.env.DP_PORT || 19042);
const pin = spawnSync('taskset', ['--version']).status === 0;

function start(script, env, core) {
  const args = core === undefined || !pin ? ['node', [script]] : ['taskset', ['-c', String(core), 'node', script]];
  const child = spawn(args[0], args[1], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

async function closedLoop(concurrency, once) {
  const lat = [];
  const end = performance.now() + duration;
  const warm = performance.now() + Math.min(1000, duration / 5);
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await once();
        } catch {
          errors++;
        }
        if (t >= warm) lat.push(performance.now() - t);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { rps: lat.length / ((end - warm) / 1000), p50: q(0.5), p99: q(0.99), errors };
}

const lambdaSrv = await start(join(root, 'bench/lib/lambda-invoke-server.js'), { PORT: String(lambdaPort) }, 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const client = new LambdaClient({
  region: 'us-east-1',
  endpoint: `http://127.0.0.1:${lambdaPort}`,
  credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
  maxAttempts: 1,
  requestHandler: { httpAgent: agent },
});
const payload = Buffer.from('{}');
const rows = [];
try {
  for (const c of levels) rows.push({ target: 'direct SDK', c, ...(await closedLoop(c, () => client.send(new InvokeCommand({ FunctionName: 'bench', Payload: payload })))) });
  for (const mode of modes) {
    const dp = await start(join(root, 'bench/lambda-dp.js'), { PORT: String(dpPort), LAMBDA_PORT: String(lambdaPort), MODE: mode }, 1);
    const pool = new Pool(`http://127.0.0.1:${dpPort}`, { connections: 64, pipelining: 1 });
    try {
      for (const c of levels) {
        rows.push({
          target: `gateway (${mode})`,
          c,
          ...(await closedLoop(c, async () => {
            const r = await pool.request({ method: 'GET', path: '/fn/' });
            await r.body.text();
            if (r.statusCode !== 200) throw new Error(String(r.statusCode));
          })),
        });
      }
    } finally {
      await pool.close();
      dp.kill('SIGTERM');
    }
  }
} finally {
  lambdaSrv.kill('SIGTERM');
  client.destroy();
}

const direct = new Map(rows.filter((r) => r.target === 'direct SDK').map((r) => [r.c, r]));
console.log(`duration ${duration / 1000}s per row, data plane ${pin ? 'pinned to core 1' : 'not pinned'}`);
console.log('target              conc       rps    p50 ms   p99 ms  added p50  added p99  errors');
for (const r of rows) {
  const d = direct.get(r.c);
  const added = r.target === 'direct SDK' ? ['', ''] : [(r.p50 - d.p50).toFixed(3), (r.p99 - d.p99).toFixed(3)];
  console.log(`${r.target.padEnd(18)} ${String(r.c).padStart(5)} ${r.rps.toFixed(0).padStart(9)} ${r.p50.toFixed(3).padStart(9)} ${r.p99.toFixed(3).padStart(8)} ${added[0].padStart(10)} ${added[1].padStart(10)} ${String(r.errors).padStart(7)}`);
}
process.exit(0);
