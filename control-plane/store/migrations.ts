// Versioned schema migrations (SQL text in migrations/), recorded in `schema_migrations`.
// One session-level advisory lock serializes every runner, so two control planes starting
// together never migrate at once: the second waits, then finds nothing left to do.
import type pg from 'pg';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export type { Migration };
export { MIGRATIONS };

export type Print = (line: string) => void;

export interface MigrationOptions {
  /** Defaults to MIGRATIONS (tests pass extra ones). */
  migrations?: readonly Migration[];
}

export interface MigrationState {
  bootstrapped: boolean;
  executed: string[];
  pending: string[];
}

export interface MigrationRun {
  processed: number;
  executed: number;
}

/** Thrown for "needs bootstrapping" and similar user-level conditions (the CLI prints the message). */
export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const SUBSYSTEM = 'core';
/** pg_advisory_lock key shared by every Silverback migration runner ("SBMI"). */
export const MIGRATION_LOCK_KEY = 0x53424d49;
/** Migrations may wait for the lock and run long DDL: no client-side timeout for them. */
const LONG = 24 * 3600 * 1000;

export const NEEDS_BOOTSTRAP =
  "Database needs bootstrapping.\n\nTo start a new installation from scratch, run 'silverback migrations bootstrap'.";

async function run(client: pg.PoolClient, text: string, values?: unknown[]) {
  return client.query({ text, values, query_timeout: LONG } as pg.QueryConfig);
}

/** Runs fn on one connection holding the migration lock; the connection is discarded afterwards. */
async function withLock<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await run(client, 'SET statement_timeout = 0');
    await run(client, 'SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await fn(client);
    } finally {
      await run(client, 'SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    // session settings were changed: never hand this connection back to the pool
    client.release(broken ?? true);
  }
}

async function readState(client: pg.PoolClient | pg.Pool, migrations: readonly Migration[]): Promise<MigrationState> {
  const exists = await client.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return { bootstrapped: false, executed: [], pending: migrations.map((m) => m.name) };
  const rows = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
  const executed = rows.rows.map((r) => r.name);
  const done = new Set(executed);
  return { bootstrapped: true, executed, pending: migrations.filter((m) => !done.has(m.name)).map((m) => m.name) };
}

async function databaseName(client: pg.PoolClient): Promise<string> {
  return (await run(client, 'SELECT current_database() AS name')).rows[0].name;
}

async function applyPending(client: pg.PoolClient, pending: Migration[], print: Print, bootstrap: boolean): Promise<MigrationRun> {
  print(`migrating ${SUBSYSTEM} on database '${await databaseName(client)}'...`);
  for (const m of pending) {
    await run(client, 'BEGIN');
    try {
      if (bootstrap && m === pending[0])
        await run(client, 'CREATE TABLE schema_migrations (name text PRIMARY KEY, executed_at timestamptz NOT NULL DEFAULT now())');
      await run(client, m.sql);
      await run(client, 'INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
      await run(client, 'COMMIT');
    } catch (err) {
      await run(client, 'ROLLBACK').catch(() => undefined);
      throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
    }
    print(`${SUBSYSTEM} migrated up to: ${m.name} (executed)`);
  }
  const n = pending.length;
  print(`${n} migration${n === 1 ? '' : 's'} processed`);
  print(`${n} executed`);
  print('Database is up-to-date');
  return { processed: n, executed: n };
}

/** Creates every table on an empty database. Already bootstrapped → prints so and does nothing. */
export async function bootstrap(pool: pg.Pool, print: Print, opts: MigrationOptions = {}): Promise<MigrationRun> {
  const migrations = opts.migrations ?? MIGRATIONS;
  return withLock(pool, async (client) => {
    const state = await readState(client, migrations);
    if (state.bootstrapped) {
      print('Database already bootstrapped');
      return { processed: 0, executed: 0 };
    }
    print('Bootstrapping database...');
    return applyPending(client, [...migrations], print, true);
  });
}

/** Runs pending migrations. Throws MigrationError when the database was never bootstrapped. */
export async function up(pool: pg.Pool, print: Print, opts: MigrationOptions = {}): Promise<MigrationRun> {
  const migrations = opts.migrations ?? MIGRATIONS;
  return withLock(pool, async (client) => {
    const state = await readState(client, migrations);
    if (!state.bootstrapped) throw new MigrationError(NEEDS_BOOTSTRAP);
    if (state.pending.length === 0) {
      print('Database is already up-to-date');
      return { processed: 0, executed: 0 };
    }
    const pending = migrations.filter((m) => state.pending.includes(m.name));
    return applyPending(client, pending, print, false);
  });
}

/** `start` with migrations_auto: bootstrap an empty database, or run what is pending. */
export async function migrateAuto(pool: pg.Pool, print: Print, opts: MigrationOptions = {}): Promise<MigrationRun> {
  const migrations = opts.migrations ?? MIGRATIONS;
  return withLock(pool, async (client) => {
    const state = await readState(client, migrations);
    if (state.pending.length === 0) return { processed: 0, executed: 0 };
    if (!state.bootstrapped) print('Bootstrapping database...');
    const pending = migrations.filter((m) => state.pending.includes(m.name));
    return applyPending(client, pending, print, !state.bootstrapped);
  });
}

/** Reads the state and prints it (executed and pending migrations). */
export async function status(pool: pg.Pool, print: Print, opts: MigrationOptions = {}): Promise<MigrationState> {
  const state = await readState(pool, opts.migrations ?? MIGRATIONS);
  if (!state.bootstrapped) {
    print(NEEDS_BOOTSTRAP);
    return state;
  }
  print('Executed migrations:');
  print(`  ${SUBSYSTEM}: ${state.executed.join(', ')}`);
  print('');
  if (state.pending.length) {
    print('Database has pending migrations:');
    print(`  ${SUBSYSTEM}: ${state.pending.join(', ')}`);
    print('');
    print("Run 'silverback migrations up' to proceed");
  } else print('Database is up-to-date');
  return state;
}

/** Current state without printing (e.g. `start` refusing to run on pending migrations). */
export async function migrationState(pool: pg.Pool, opts: MigrationOptions = {}): Promise<MigrationState> {
  return readState(pool, opts.migrations ?? MIGRATIONS);
}

/** Drops every table of the current schema (Kong's reset drops the whole schema). */
export async function reset(pool: pg.Pool, print: Print): Promise<boolean> {
  return withLock(pool, async (client) => {
    const state = await readState(client, []);
    if (!state.bootstrapped) {
      print('Database not bootstrapped, nothing to reset');
      return false;
    }
    const tables = await run(client, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`);
    await run(client, 'BEGIN');
    try {
      for (const { tablename } of tables.rows) await run(client, `DROP TABLE IF EXISTS ${client.escapeIdentifier(tablename)} CASCADE`);
      await run(client, 'COMMIT');
    } catch (err) {
      await run(client, 'ROLLBACK').catch(() => undefined);
      throw err;
    }
    print('Database successfully reset');
    return true;
  });
}
