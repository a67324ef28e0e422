import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, chmodSync, existsSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, runningPostmaster, type EmbeddedPostgres } from '../../control-plane/embedded-db.js';
import { createLogger } from '../../shared/log.js';

const log = createLogger('warn', { test: 'embedded-db' });
let prefix: string;
let db: EmbeddedPostgres | null = null;

beforeAll(() => {
  prefix = mkdtempSync(join(tmpdir(), 'sb-embedded-'));
  chmodSync(prefix, 0o755); // the postgres user must reach <prefix>/postgres when we run as root
});
afterAll(async () => {
  await db?.stop();
  rmSync(prefix, { recursive: true, force: true });
});

async function query(d: { host: string; port: number; user: string; password: string; database: string }, sql: string) {
  const client = new pg.Client(d);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('starts on a loopback port with a password, creates the database, and keeps data across restarts', async () => {
    db = await startEmbeddedPostgres({ prefix, log });
    expect(db.host).toBe('127.0.0.1');
    expect(db.port).toBeGreaterThan(0);
    expect(db.database).toBe('silverback');
    expect(db.password.length).toBeGreaterThan(10);
    expect(statSync(join(prefix, 'postgres', 'password')).mode & 0o777).toBe(0o600);
    await query(db, 'CREATE TABLE kept (v text)');
    await query(db, "INSERT INTO kept VALUES ('hello')");
    await expect(query({ ...db, password: 'wrong' }, 'SELECT 1')).rejects.toThrow(/password authentication failed/);

    await db.stop();
    expect(runningPostmaster(db.dataDir)).toBeNull();
    db = await startEmbeddedPostgres({ prefix, log });
    expect(await query(db, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);
    await db.stop();
    db = null;
  });

  it('recovers from an owner that was killed with SIGKILL (orphaned server, stale postmaster.pid)', async () => {
    const module = resolve('dist/control-plane/embedded-db.js');
    expect(existsSync(module), 'dist/ must be built (global setup builds it)').toBe(true);
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(module)});
      const { createLogger } = await import(${JSON.stringify(resolve('dist/shared/log.js'))});
      const db = await startEmbeddedPostgres({ prefix: ${JSON.stringify(prefix)}, log: createLogger('warn') });
      console.log(JSON.stringify({ port: db.port }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<{ port: number }>((res, rej) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]!));
      });
      child.on('exit', (code) => rej(new Error(`child exited ${code}`)));
    });
    // The owner is also able to reuse: a second process while the first lives shares the server.
    const shared = await startEmbeddedPostgres({ prefix, log });
    expect(shared.shared).toBe(true);
    expect(shared.port).toBe(first.port);
    await query(shared, 'CREATE TABLE survivor (v int)');
    await query(shared, 'INSERT INTO survivor VALUES (42)');
    await shared.stop(); // no-op for a shared server
    expect(runningPostmaster(shared.dataDir)).not.toBeNull();

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const orphan = runningPostmaster(shared.dataDir);
    expect(orphan).not.toBeNull();

    db = await startEmbeddedPostgres({ prefix, log });
    expect(db.shared).toBe(false);
    expect(await query(db, 'SELECT v FROM survivor')).toEqual([{ v: 42 }]);
    await db.stop();
    db = null;
    expect(runningPostmaster(shared.dataDir)).toBeNull();
  });
});
