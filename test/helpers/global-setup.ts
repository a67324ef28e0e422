// Starts ONE real PostgreSQL (Debian's server binaries) and ONE real Redis for the whole test run,
// rebuilds dist/ when it is older than the sources (tests spawn `node bin/silverback.js`), and
// hands the coordinates to test files through vitest's provide/inject.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBuilt } from '../../bin/build.js';
import { freePort, initCluster, postgresUserIds, startCluster, stopCluster } from '../../control-plane/embedded-db.js';

export interface ProvidedPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The maintenance database; test files create their own with createTestDatabase(). */
  database: string;
  binDir: string;
  dataDir: string;
  logFile: string;
  socketDir: string;
}

export interface ProvidedRedis {
  host: string;
  port: number;
  url: string;
  pidFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pg: ProvidedPostgres;
    redis: ProvidedRedis;
  }
}

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureBuilt(); // tests spawn `node bin/silverback.js`, which runs dist/
  const work = mkdtempSync(join(tmpdir(), 'sb-test-'));
  chmodSync(work, 0o755);
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(work, { recursive: true, force: true })];
  const teardown = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('[global-setup] teardown:', (err as Error).message);
      }
    }
  };
  try {
    const pg = await startTestPostgres(work);
    cleanups.push(() => stopCluster({ binDir: pg.binDir, dataDir: pg.dataDir, mode: 'immediate' }));
    const redis = await startTestRedis(work);
    cleanups.push(() => stopRedisByPidFile(redis.pidFile));
    project.provide('pg', pg);
    project.provide('redis', redis);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

/** Highest /usr/lib/postgresql/<ver>/bin with pg_ctl (override with PG_BIN_DIR). */
export function findPostgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql/<version>/bin. Install them: ' +
        'apt-get install -y postgresql redis-server (or set PG_BIN_DIR).',
    );
  }
  return join(base, versions[0]!, 'bin');
}

async function startTestPostgres(work: string): Promise<ProvidedPostgres> {
  const binDir = findPostgresBinDir();
  const root = join(work, 'pg');
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');
  execFileSync('mkdir', ['-p', root]);
  const ids = postgresUserIds();
  if (ids) chownSync(root, ids.uid, ids.gid);
  await initCluster({ binDir, dataDir, user: 'postgres', authMethod: 'trust' });
  const port = await freePort();
  await startCluster({
    binDir,
    dataDir,
    port,
    logFile,
    socketDir: root,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 300 },
  });
  return { host: '127.0.0.1', port, user: 'postgres', password: '', database: 'postgres', binDir, dataDir, logFile, socketDir: root };
}

async function startTestRedis(work: string): Promise<ProvidedRedis> {
  const server = findRedisServer();
  const dir = join(work, 'redis');
  execFileSync('mkdir', ['-p', dir]);
  const port = await freePort();
  const pidFile = join(dir, 'redis.pid');
  await startRedisDaemon(server, { port, dir, pidFile });
  return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}`, pidFile };
}

export function findRedisServer(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('redis-server not found. Install it: apt-get install -y redis-server');
  return found;
}

/** Starts a daemonized redis-server and waits until it answers PING. */
export async function startRedisDaemon(
  server: string,
  o: { port: number; dir: string; pidFile: string; extraArgs?: string[] },
): Promise<void> {
  const args = [
    '--port', String(o.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'yes', '--pidfile', o.pidFile, '--dir', o.dir, '--logfile', join(o.dir, 'redis.log'),
    ...(o.extraArgs ?? []),
  ];
  try {
    rmSync(o.pidFile, { force: true });
  } catch {
    /* absent */
  }
  const result = spawnSync(server, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`redis-server failed to start: ${result.stderr || result.stdout}`);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await redisPing(o.port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server on port ${o.port} did not answer PING within 10 s`);
}

export async function redisPing(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export async function stopRedisByPidFile(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

