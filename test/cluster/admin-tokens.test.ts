// Admin API authentication: read-only and read-write tokens, and the refusal to expose the Admin
// API beyond loopback without them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { BIN, freePort, startSilverback, type SilverbackProcess } from '../helpers/processes.js';

const RW = 'rw-token-0123456789abcdef';
const RO = 'ro-token-0123456789abcdef';

let db: TestDatabase;
let cp: SilverbackProcess;

beforeAll(async () => {
  db = await createTestDatabase('tokens');
  cp = await startSilverback({
    database: db,
    args: ['--role', 'control_plane'],
    env: { SILVERBACK_ADMIN_TOKENS: `rw:${RW},ro:${RO}`, SILVERBACK_CLUSTER_PLAINTEXT: 'on' },
  });
});

afterAll(async () => {
  await cp?.stop();
  await db?.drop();
});

const post = (headers: Record<string, string>) =>
  fetch(`${cp.adminUrl}/consumers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username: `u${Math.random().toString(36).slice(2)}` }),
  });

describe('admin tokens', () => {
  it('answers 401 without a token or with a wrong one', async () => {
    const none = await fetch(`${cp.adminUrl}/services`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ message: 'Unauthorized' });
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await fetch(`${cp.adminUrl}/services`, { headers: { authorization: 'Bearer nope-nope-nope-nope' } });
    expect(wrong.status).toBe(401);
  });

  it('lets a read-only token read but not write', async () => {
    const read = await fetch(`${cp.adminUrl}/services`, { headers: { authorization: `Bearer ${RO}` } });
    expect(read.status).toBe(200);
    const write = await post({ authorization: `Bearer ${RO}` });
    expect(write.status).toBe(403);
    const validate = await fetch(`${cp.adminUrl}/schemas/consumers/validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'silverback-admin-token': RO },
      body: JSON.stringify({ username: 'x' }),
    });
    expect(validate.status).toBe(200);
  });

  it('lets a read-write token write, by either header', async () => {
    expect((await post({ authorization: `Bearer ${RW}` })).status).toBe(201);
    expect((await post({ 'silverback-admin-token': RW })).status).toBe(201);
  });

  it('refuses to start with the Admin API beyond loopback and no tokens', async () => {
    const port = await freePort();
    const r = spawnSync(process.execPath, [BIN, 'start', '--role', 'control_plane'], {
      env: {
        PATH: process.env.PATH,
        SILVERBACK_ADMIN_LISTEN: `0.0.0.0:${port}`,
        SILVERBACK_DATABASE: 'postgres',
        SILVERBACK_PG_HOST: db.host,
        SILVERBACK_PG_PORT: String(db.port),
        SILVERBACK_PG_USER: db.user,
        SILVERBACK_PG_DATABASE: db.database,
        SILVERBACK_CLUSTER_PLAINTEXT: 'on',
        SILVERBACK_PREFIX: mkdtempSync(join(tmpdir(), 'sb-tokens-')),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toContain('set admin_tokens');
  });
});

describe('health probe with admin tokens', () => {
  const health = (tokens: string | undefined) =>
    spawnSync(process.execPath, [BIN, 'health', '--role', 'control_plane'], {
      env: {
        PATH: process.env.PATH,
        SILVERBACK_ADMIN_LISTEN: new URL(cp.adminUrl).host,
        ...(tokens ? { SILVERBACK_ADMIN_TOKENS: tokens } : {}),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('sends a configured token, so a protected control plane is healthy', () => {
    expect(health(`ro:${RO}`).status).toBe(0);
    expect(health(undefined).status).toBe(1);
  });
});
