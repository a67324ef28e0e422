// The database stops under a running control plane: the Admin API answers Kong's 500 quickly and
// never crashes; when PostgreSQL is back it recovers by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres.js';
import { startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';

let pg: PrivatePostgres;
let cp: SilverbackProcess;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  cp = await startSilverback({ database: pg, args: ['--role', 'control_plane'], env: { SILVERBACK_CLUSTER_PLAINTEXT: 'on', SILVERBACK_PG_TIMEOUT: '2000' } });
});

afterAll(async () => {
  await cp?.stop();
  await pg?.destroy();
});

const json = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${cp.adminUrl}${path}`, init);
  return { status: res.status, body: (await res.json()) as any };
};

describe('database outage', () => {
  it('answers 500 with Kong body while PostgreSQL is down and recovers when it is back', async () => {
    expect((await json('/services', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"before","host":"a.test"}' })).status).toBe(201);
    await pg.stop();
    try {
      const t0 = Date.now();
      const down = await json('/services');
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(down).toEqual({ status: 500, body: { message: 'An unexpected error occurred' } });
      const write = await json('/services', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"during","host":"a.test"}' });
      expect(write).toEqual({ status: 500, body: { message: 'An unexpected error occurred' } });
      expect((await json('/status')).body.database).toEqual({ reachable: false });
    } finally {
      await pg.start();
    }
    await waitFor(async () => (await json('/services/before')).status === 200, 20_000);
    expect((await json('/services/during')).status).toBe(404);
    expect((await json('/status')).body.database).toEqual({ reachable: true });
    expect(cp.exited()).toBe(false);
  });
});
