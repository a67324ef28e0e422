// The control plane's connection pool. A database outage must never crash the process: pool and
// client errors are logged, queries fail fast with a DatabaseError (500), and the pool reconnects
// by itself on the next query once PostgreSQL is back.
import pg from 'pg';
import type { Config } from '../../shared/config.js';
import { ERR, HttpError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { openDatabaseTarget } from '../embedded-db.js';

export interface ConnectionTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl?: boolean;
}

export interface ConnectOptions {
  /** Connect and statement timeout in ms (pg_timeout). */
  timeoutMs?: number;
  /** Pool size (pg_max_connections). */
  max?: number;
}

export interface Database {
  pool: pg.Pool;
  target: ConnectionTarget;
  /** Ends the pool, then stops the embedded server if this call started it. */
  close(): Promise<void>;
}

/** Kong's DATABASE_ERROR: the Admin API answers 500 {"message":"An unexpected error occurred"}. */
export class DatabaseError extends HttpError {
  readonly code = ERR.DATABASE_ERROR;
  constructor(override readonly cause: unknown) {
    super(500, { message: 'An unexpected error occurred' });
    this.name = 'DatabaseError';
  }
}

/** Any non-HTTP error from pg becomes a DatabaseError; Kong errors pass through. */
export function asDatabaseError(err: unknown): HttpError {
  return err instanceof HttpError ? err : new DatabaseError(err);
}

export function poolConfig(target: ConnectionTarget, opts: ConnectOptions = {}): pg.PoolConfig {
  const timeout = opts.timeoutMs ?? 5000;
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl: target.ssl ? { rejectUnauthorized: false } : undefined,
    max: opts.max ?? 10,
    connectionTimeoutMillis: timeout,
    // server side: a stuck statement or an abandoned transaction cannot hold locks forever
    statement_timeout: timeout,
    idle_in_transaction_session_timeout: timeout * 2,
    // client side: a dead server (network partition) fails the query instead of hanging
    query_timeout: timeout + 1000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'silverback',
  };
}

/** A pool that logs (never throws) errors of idle clients. */
export function createPool(target: ConnectionTarget, opts: ConnectOptions, log: Logger): pg.Pool {
  const pool = new pg.Pool(poolConfig(target, opts));
  pool.on('error', (err) => log.warn({ err: err.message }, 'database connection lost'));
  pool.on('connect', (client) => {
    client.on('error', (err) => log.warn({ err: err.message }, 'database client error'));
  });
  return pool;
}

/** Connect to an explicit server (tests, tools). */
export function connectDatabase(target: ConnectionTarget, opts: ConnectOptions, log: Logger, stop?: () => Promise<void>): Database {
  const pool = createPool(target, opts, log);
  let closed = false;
  return {
    pool,
    target,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch((err) => log.warn({ err: (err as Error).message }, 'closing the database pool'));
      if (stop) await stop();
    },
  };
}

/** database=postgres: the configured server; database=embedded: start the embedded server first. */
export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  const target = await openDatabaseTarget(config, log);
  return connectDatabase(
    target,
    { timeoutMs: config.pg_timeout, max: config.pg_max_connections },
    log,
    () => target.stop(),
  );
}
