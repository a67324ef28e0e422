// A fresh database per test file, migrated, with a Dao over it.
import { createLogger } from '../../shared/log.js';
import { connectDatabase, type Database } from '../../control-plane/store/db.js';
import { bootstrap } from '../../control-plane/store/migrations.js';
import { createDao } from '../../control-plane/store/dao.js';
import type { Dao } from '../../control-plane/store/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

export const quietLog = createLogger('fatal');

export interface TestStore {
  testDb: TestDatabase;
  db: Database;
  dao: Dao;
  /** Another Dao over its own pool: a second control plane on the same database. */
  openDao(): { db: Database; dao: Dao };
  close(): Promise<void>;
}

export async function openTestStore(prefix = 'store', opts: { migrate?: boolean } = {}): Promise<TestStore> {
  const testDb = await createTestDatabase(prefix);
  const db = connectDatabase(testDb, { timeoutMs: 5000, max: 10 }, quietLog);
  if (opts.migrate !== false) await bootstrap(db.pool, () => undefined);
  const dao = createDao(db.pool, quietLog);
  const extra: Array<{ db: Database; dao: Dao }> = [];
  return {
    testDb,
    db,
    dao,
    openDao() {
      const d = connectDatabase(testDb, { timeoutMs: 5000, max: 5 }, quietLog);
      const x = { db: d, dao: createDao(d.pool, quietLog) };
      extra.push(x);
      return x;
    },
    async close() {
      for (const x of extra) {
        await x.dao.close();
        await x.db.close();
      }
      await dao.close();
      await db.close();
      await testDb.drop();
    },
  };
}

/** The KongError / HttpError a promise rejects with, as {status, body}. */
export async function failure(p: Promise<unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (err: any) {
    if (typeof err?.status === 'number') return { status: err.status, body: err.body };
    throw err;
  }
  throw new Error('expected the call to fail');
}
