// Per-file databases on the shared test PostgreSQL, and outage helpers.
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type {} from './global-setup.js';
import { freePort, initCluster, postgresUserIds, startCluster, stopCluster } from '../../control-plane/embedded-db.js';

export interface TestDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  url: string;
  /** SILVERBACK_* variables pointing a Silverback process at this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** The shared server's coordinates (maintenance database `postgres`). */
export function postgresServer() {
  return inject('pg');
}

function coordinates(server: { host: string; port: number; user: string; password: string }, database: string): Omit<TestDatabase, 'drop'> {
  const auth = server.password ? `${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}` : encodeURIComponent(server.user);
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    url: `postgres://${auth}@${server.host}:${server.port}/${database}`,
    env: {
      SILVERBACK_DATABASE: 'postgres',
      SILVERBACK_PG_HOST: server.host,
      SILVERBACK_PG_PORT: String(server.port),
      SILVERBACK_PG_USER: server.user,
      SILVERBACK_PG_PASSWORD: server.password,
      SILVERBACK_PG_DATABASE: database,
    },
  };
}

async function admin<T>(server: { host: string; port: number; user: string; password: string }, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on the shared server, so test files can run in parallel. */
export async function createTestDatabase(prefix = 'sb'): Promise<TestDatabase> {
  const server = inject('pg');
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  await admin(server, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  return {
    ...coordinates(server, name),
    async drop() {
      await admin(server, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

/**
 * Stops the SHARED server (fast shutdown). Other test files running in parallel lose their
 * database too, so prefer startPrivatePostgres() for outage tests; if you use this, call
 * startPostgres() before your test finishes (in a finally/afterAll).
 */
export async function stopPostgres(): Promise<void> {
  const s = inject('pg');
  await stopCluster({ binDir: s.binDir, dataDir: s.dataDir, mode: 'fast' });
}

/** Starts the shared server again on the same port. */
export async function startPostgres(): Promise<void> {
  const s = inject('pg');
  await startCluster({
    binDir: s.binDir,
    dataDir: s.dataDir,
    port: s.port,
    logFile: s.logFile,
    socketDir: s.socketDir,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 300 },
  });
}

export interface PrivatePostgres extends TestDatabase {
  /** Stop (fast shutdown) and start again on the same port: for outage tests. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop and delete the whole cluster. */
  destroy(): Promise<void>;
}

/** A throwaway PostgreSQL server of its own (≈1 s): outage tests can stop it freely. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const { binDir } = inject('pg');
  const root = mkdtempSync(join(tmpdir(), 'sb-pg-'));
  chmodSync(root, 0o755);
  const ids = postgresUserIds();
  mkdirSync(join(root, 'run'));
  if (ids) chownSync(join(root, 'run'), ids.uid, ids.gid);
  const dataDir = join(root, 'data');
  const logFile = join(root, 'run', 'postgres.log');
  await initCluster({ binDir, dataDir, user: 'postgres', authMethod: 'trust' });
  const port = await freePort();
  let running = false;
  const start = async () => {
    await startCluster({ binDir, dataDir, port, logFile, socketDir: join(root, 'run'), settings: { fsync: 'off', synchronous_commit: 'off' } });
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    await stopCluster({ binDir, dataDir, mode: 'fast' });
    running = false;
  };
  await start();
  const server = { host: '127.0.0.1', port, user: 'postgres', password: '' };
  await admin(server, (c) => c.query('CREATE DATABASE silverback'));
  return {
    ...coordinates(server, 'silverback'),
    stop,
    start,
    async drop() {
      await admin(server, (c) => c.query('DROP DATABASE IF EXISTS silverback WITH (FORCE)'));
    },
    async destroy() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
