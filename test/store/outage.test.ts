// A database outage: queries fail fast with a 500 DATABASE_ERROR, nothing crashes, and the pool
// and the LISTEN connection recover by themselves. Uses a private PostgreSQL server, so stopping
// it cannot disturb the other test files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { DatabaseError, openDatabase, type Database } from '../../control-plane/store/db.js';
import { bootstrap } from '../../control-plane/store/migrations.js';
import { createDao } from '../../control-plane/store/dao.js';
import type { Dao } from '../../control-plane/store/types.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/processes.js';
import { failure, quietLog } from './store-helpers.js';

let server: PrivatePostgres;
let db: Database;
let dao: Dao;
beforeAll(async () => {
  server = await startPrivatePostgres();
  // openDatabase from configuration, as the control plane does
  const config = loadConfig({ env: { ...server.env, SILVERBACK_PG_TIMEOUT: '2000' } });
  db = await openDatabase(config, quietLog);
  await bootstrap(db.pool, () => undefined);
  dao = createDao(db.pool, quietLog, { listenRetryMinMs: 100, listenRetryMaxMs: 400 });
});
afterAll(async () => {
  await dao?.close();
  await db?.close();
  await server?.destroy();
});

describe('database outage', () => {
  it('fails fast with a 500 while PostgreSQL is down, then recovers by itself', async () => {
    const seen: number[] = [];
    dao.onChange((v) => seen.push(v));
    await dao.insert('services', { name: 'before', host: 'b.test' });
    expect(await dao.ping()).toBe(true);

    await server.stop();
    try {
      const t0 = Date.now();
      const f = await failure(dao.insert('services', { name: 'during', host: 'd.test' }));
      expect(f).toEqual({ status: 500, body: { message: 'An unexpected error occurred' } });
      await expect(dao.select('services', 'before')).rejects.toBeInstanceOf(DatabaseError);
      await expect(dao.page('services')).rejects.toMatchObject({ code: 8, status: 500 });
      await expect(dao.exportSnapshot()).rejects.toBeInstanceOf(DatabaseError);
      expect(await dao.ping()).toBe(false);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await server.start();
    }

    await waitFor(() => dao.ping(), 10_000);
    const after = await dao.insert('services', { name: 'after', host: 'a.test' });
    expect((await dao.select('services', 'after'))?.id).toBe(after.id);
    expect(await dao.select('services', 'during')).toBeNull();

    // the LISTEN connection is back too: a write through another pool (another CP) is seen
    const other = await openDatabase(loadConfig({ env: server.env }), quietLog);
    const otherDao = createDao(other.pool, quietLog);
    try {
      await otherDao.insert('services', { name: 'remote', host: 'r.test' });
      const v = await otherDao.configVersion();
      await waitFor(() => seen.includes(v), 10_000);
    } finally {
      await otherDao.close();
      await other.close();
    }
  });
});
