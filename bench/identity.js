// Auth plugin throughput (issue 10's performance section): the same data plane process serves
// /plain (no plugin), /jwt (RS256 token, key from a JWKS, cached), /key (key-auth) and /basic
// (basic-auth, scrypt hash); wrk runs each case in turn, rounds interleaved, and the table gives
// each case's RPS against /plain of the same round. jwt is measured with one token (verification
// cached) and with more distinct tokens than the verification cache holds (every request verifies
// a signature). Pinning as /work/shared/perf: data plane on CPU 0, wrk and the upstream on CPU 1.
//   npm run build && node bench/identity.js          (DURATION=5 ROUNDS=3 CONNS=50 TOKENS=12000)
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DURATION = Number(process.env.DURATION || 5);
const ROUNDS = Number(process.env.ROUNDS || 3);
const CONNS = Number(process.env.CONNS || 50);
const TOKENS = Number(process.env.TOKENS || 12000);
const DP_PORT = Number(process.env.DP_PORT || 19041);
const pin = (cpu, cmd, args) => (process.env.PIN === 'none' ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]]);
const tmp = mkdtempSync(join(tmpdir(), 'sb-identity-bench-'));
const children = [];

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// JWKS endpoint (fetched once by the data plane) in this process
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-kid', alg: 'RS256', use: 'sig' };
const jwksPort = await listen(http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))));
const iss = `http://127.0.0.1:${jwksPort}/pool`;

// upstream: a small JSON answer, in its own process on the load CPU
const upstreamSrc = `const h=require('http');const b=JSON.stringify({message:'hello from upstream',ok:true});h.createServer({keepAliveTimeout:65000},(q,s)=>{s.writeHead(200,{'content-type':'application/json','content-length':b.length});s.end(b)}).listen(0,'127.0.0.1',function(){console.log('ready '+this.address().port)})`;

function start(cpu, cmd, args, env = {}) {
  const [c, a] = pin(cpu, cmd, args);
  const p = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.on('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function token(i) {
  const data = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'bench-kid' })}.${b64({ iss, sub: `user-${i}`, aud: 'bench-client', token_use: 'id', exp: Math.floor(Date.now() / 1000) + 3600, jti: `t-${i}` })}`;
  return `${data}.${sign('sha256', Buffer.from(data), privateKey).toString('base64url')}`;
}

/** wrk, asynchronously: this process also serves the JWKS the data plane may fetch. */
function run(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', () => resolve(out));
  });
}

const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
/** CPU seconds (user + system) used so far by process `pid`. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICK;
}
let dpPid = 0;

async function wrk(url, extra, seconds = DURATION) {
  const cpu0 = cpuSeconds(dpPid);
  const out = await run(...pin(1, 'wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', ...extra, url]));
  const cpu = cpuSeconds(dpPid) - cpu0;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (Number.isNaN(rps)) console.error(out);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p99ms, non2xx, perCpu: requests / cpu };
}

try {
  const upstreamPort = await start(1, 'node', ['-e', upstreamSrc]);
  await start(0, 'node', [join(root, 'bench/identity-dp.js')], { PORT: String(DP_PORT), UPSTREAM_PORT: String(upstreamPort), JWKS_ISS: iss });
  dpPid = children[children.length - 1].pid;
  console.error(`signing ${TOKENS} distinct RS256 tokens…`);
  const same = token(0);
  const tokens = Array.from({ length: TOKENS }, (_, i) => token(i + 1));
  const lua = join(tmp, 'distinct.lua');
  writeFileSync(lua, `local t = {\n${tokens.map((t) => `"${t}"`).join(',\n')}\n}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  if i > #t then i = 1 end\n  return wrk.format("GET", "/jwt/hello", {["Authorization"] = "Bearer " .. t[i]})\nend\n`);
  const base = `http://127.0.0.1:${DP_PORT}`;
  const basic = `Basic ${Buffer.from('bench:bench-pw').toString('base64')}`;
  const cases = {
    plain: (d) => wrk(`${base}/plain/hello`, [], d),
    'any plugin (ip-restriction)': (d) => wrk(`${base}/noop/hello`, [], d),
    'jwt same token': (d) => wrk(`${base}/jwt/hello`, ['-H', `Authorization: Bearer ${same}`], d),
    'jwt distinct tokens': (d) => wrk(`${base}/jwt/hello`, ['-s', lua], d),
    'key-auth': (d) => wrk(`${base}/key/hello`, ['-H', 'apikey: bench-key'], d),
    'basic-auth': (d) => wrk(`${base}/basic/hello`, ['-H', `Authorization: ${basic}`], d),
  };
  const names = Object.keys(cases);
  const rows = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -1; r < ROUNDS; r++) {
    const order = names.slice((r + 1) % names.length).concat(names.slice(0, (r + 1) % names.length));
    for (const n of order) {
      const res = await cases[n](r < 0 ? 1 : DURATION); // round -1: warm-up (JIT, JWKS fetch, caches)
      if (r >= 0) rows[n].push(res);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const plainRounds = rows.plain.map((x) => x.rps);
  const plainCpu = median(rows.plain.map((x) => x.perCpu));
  console.log(`\n| case | RPS median | RPS min–max | RPS ratio vs plain (per round, median) | req per DP CPU-s | CPU ratio vs plain | p99 ms | non-2xx |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  for (const n of names) {
    const rps = rows[n].map((x) => x.rps);
    const ratios = rows[n].map((x, i) => x.rps / plainRounds[i]);
    const perCpu = median(rows[n].map((x) => x.perCpu));
    console.log(`| ${n} | ${median(rps).toFixed(0)} | ${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)} | ${median(ratios).toFixed(2)}× | ${perCpu.toFixed(0)} | ${(perCpu / plainCpu).toFixed(2)}× | ${median(rows[n].map((x) => x.p99ms)).toFixed(2)} | ${rows[n].reduce((s, x) => s + x.non2xx, 0)} |`);
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const p of children) p.kill('SIGTERM');
  process.exit(); // the JWKS server of this process would keep it alive
}
