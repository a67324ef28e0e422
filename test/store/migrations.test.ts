// Migrations: Kong-like output, idempotence, the advisory lock, reset, the CLI, and that the
// frozen migrations still match the entity schemas.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITIES } from '../../shared/schema/entities/index.js';
import { columnsOf, sqlType } from '../../control-plane/store/columns.js';
import { connectDatabase, type Database } from '../../control-plane/store/db.js';
import { bootstrap, MIGRATIONS, MigrationError, reset, status, up, type Migration } from '../../control-plane/store/migrations.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { BIN } from '../helpers/processes.js';
import { quietLog } from './store-helpers.js';

const run = promisify(execFile);

function collector() {
  const lines: string[] = [];
  return { lines, print: (l: string) => lines.push(l) };
}

const SLOW: Migration = { name: '001_slow_test', sql: 'SELECT pg_sleep(0.5); CREATE TABLE slow_test (id int);' };

let testDb: TestDatabase;
let db: Database;
let db2: Database;
beforeAll(async () => {
  testDb = await createTestDatabase('migr');
  db = connectDatabase(testDb, { timeoutMs: 5000 }, quietLog);
  db2 = connectDatabase(testDb, { timeoutMs: 5000 }, quietLog);
});
afterAll(async () => {
  await db?.close();
  await db2?.close();
  await testDb?.drop();
});

describe('migrations', () => {
  it('status on an empty database asks for bootstrapping; up refuses', async () => {
    const out = collector();
    const state = await status(db.pool, out.print);
    expect(state).toEqual({ bootstrapped: false, executed: [], pending: MIGRATIONS.map((m) => m.name) });
    expect(out.lines.join('\n')).toContain('Database needs bootstrapping');
    await expect(up(db.pool, () => undefined)).rejects.toBeInstanceOf(MigrationError);
  });

  it('two concurrent bootstraps: one migrates, the other waits and finds it done', async () => {
    const a = collector();
    const b = collector();
    const [ra, rb] = await Promise.all([bootstrap(db.pool, a.print), bootstrap(db2.pool, b.print)]);
    const [winner, loser] = ra.executed ? [a, b] : [b, a];
    expect(ra.executed + rb.executed).toBe(MIGRATIONS.length);
    expect(winner.lines).toEqual([
      'Bootstrapping database...',
      `migrating core on database '${testDb.database}'...`,
      ...MIGRATIONS.map((m) => `core migrated up to: ${m.name} (executed)`),
      `${MIGRATIONS.length} migration${MIGRATIONS.length === 1 ? '' : 's'} processed`,
      `${MIGRATIONS.length} executed`,
      'Database is up-to-date',
    ]);
    expect(loser.lines).toEqual(['Database already bootstrapped']);
  });

  it('bootstrap and up are idempotent; status is up-to-date', async () => {
    const a = collector();
    expect(await bootstrap(db.pool, a.print)).toEqual({ processed: 0, executed: 0 });
    expect(a.lines).toEqual(['Database already bootstrapped']);
    const b = collector();
    expect(await up(db.pool, b.print)).toEqual({ processed: 0, executed: 0 });
    expect(b.lines).toEqual(['Database is already up-to-date']);
    const c = collector();
    const state = await status(db.pool, c.print);
    expect(state.pending).toEqual([]);
    expect(c.lines).toEqual(['Executed migrations:', `  core: ${MIGRATIONS.map((m) => m.name).join(', ')}`, '', 'Database is up-to-date']);
  });

  it('the migrated tables match the entity schemas (a schema change needs a new migration)', async () => {
    for (const schema of ENTITIES) {
      const res = await db.pool.query(
        `SELECT column_name, data_type, udt_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [schema.name],
      );
      const actual = Object.fromEntries(res.rows.map((r) => [r.column_name, r.data_type === 'ARRAY' ? `${r.udt_name.slice(1)}[]` : r.data_type]));
      const expected = Object.fromEntries(columnsOf(schema).map((c) => [c.name, sqlType(c)]));
      expect({ table: schema.name, columns: Object.keys(actual).sort() }).toEqual({ table: schema.name, columns: Object.keys(expected).sort() });
      for (const [name, type] of Object.entries(expected)) expect(`${schema.name}.${name} ${actual[name]}`).toBe(`${schema.name}.${name} ${type}`);
    }
  });

  it('a pending migration shows in status; two concurrent ups run it once', async () => {
    const migrations = [...MIGRATIONS, SLOW];
    const s = collector();
    const state = await status(db.pool, s.print, { migrations });
    expect(state.pending).toEqual([SLOW.name]);
    expect(s.lines).toContain('Database has pending migrations:');
    expect(s.lines).toContain(`  core: ${SLOW.name}`);
    const a = collector();
    const b = collector();
    const [ra, rb] = await Promise.all([up(db.pool, a.print, { migrations }), up(db2.pool, b.print, { migrations })]);
    expect(ra.executed + rb.executed).toBe(1);
    const [winner, loser] = ra.executed ? [a, b] : [b, a];
    expect(winner.lines).toEqual([
      `migrating core on database '${testDb.database}'...`,
      `core migrated up to: ${SLOW.name} (executed)`,
      '1 migration processed',
      '1 executed',
      'Database is up-to-date',
    ]);
    expect(loser.lines).toEqual(['Database is already up-to-date']);
    const rows = await db.pool.query('SELECT name FROM schema_migrations ORDER BY name');
    expect(rows.rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name).sort());
  });

  it('reset drops everything; a second reset has nothing to do', async () => {
    const a = collector();
    expect(await reset(db.pool, a.print)).toBe(true);
    expect(a.lines).toEqual(['Database successfully reset']);
    const tables = await db.pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`);
    expect(tables.rows).toEqual([]);
    const b = collector();
    expect(await reset(db.pool, b.print)).toBe(false);
    expect(b.lines).toEqual(['Database not bootstrapped, nothing to reset']);
  });
});

describe('silverback migrations (CLI)', () => {
  let cliDb: TestDatabase;
  beforeAll(async () => {
    cliDb = await createTestDatabase('migrcli');
  });
  afterAll(async () => {
    await cliDb?.drop();
  });
  const cli = (...args: string[]) =>
    run(process.execPath, [BIN, 'migrations', ...args], { env: { ...process.env, ...cliDb.env, SILVERBACK_LOG_LEVEL: 'error' } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );

  it('bootstrap, status, up, reset --yes', async () => {
    const boot = await cli('bootstrap');
    expect(boot.code).toBe(0);
    expect(boot.stdout).toContain('Bootstrapping database...');
    expect(boot.stdout).toContain(`${MIGRATIONS.length} executed`);
    expect(boot.stdout).toContain('Database is up-to-date');
    const st = await cli('status');
    expect(st.stdout).toContain('Database is up-to-date');
    expect((await cli('up')).stdout).toContain('Database is already up-to-date');
    const refused = await cli('reset');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--yes');
    const done = await cli('reset', '--yes');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('Database successfully reset');
    const after = await cli('up');
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('Database needs bootstrapping');
  });
});
