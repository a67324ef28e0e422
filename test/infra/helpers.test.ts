import { describe, it, expect, inject } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestDatabase, startPrivatePostgres } from '../helpers/postgres.js';
import { getRedis, startPrivateRedis } from '../helpers/redis.js';
import { freePort, waitFor } from '../helpers/processes.js';

async function sql(url: string, text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe('global setup', () => {
  it('provides a real PostgreSQL with per-file databases', async () => {
    const server = inject('pg');
    expect(server.port).toBeGreaterThan(0);
    const a = await createTestDatabase('helpers');
    const b = await createTestDatabase('helpers');
    expect(a.database).not.toBe(b.database);
    await sql(a.url, 'CREATE TABLE t (v int)');
    await sql(a.url, 'INSERT INTO t VALUES (1)');
    await expect(sql(b.url, 'SELECT * FROM t')).rejects.toThrow(/does not exist/);
    expect(a.env).toMatchObject({ SILVERBACK_DATABASE: 'postgres', SILVERBACK_PG_PORT: String(server.port), SILVERBACK_PG_DATABASE: a.database });
    const [{ server_version: version }] = await sql(a.url, 'SHOW server_version');
    expect(version).toMatch(/^\d+/);
    await a.drop();
    await b.drop();
    await expect(sql(a.url, 'SELECT 1')).rejects.toThrow(/does not exist/);
  });

  it('provides a real Redis', async () => {
    const { host, port, url } = getRedis();
    expect(url).toBe(`redis://${host}:${port}`);
    const redis = new Redis(port, host);
    try {
      expect(await redis.ping()).toBe('PONG');
      await redis.set('helpers:test', '1', 'EX', 10);
      expect(await redis.get('helpers:test')).toBe('1');
    } finally {
      redis.disconnect();
    }
  });
});

describe('outage helpers', () => {
  it('a private Redis can be stopped and started again on the same port', async () => {
    const r = await startPrivateRedis();
    const client = new Redis(r.port, r.host, { maxRetriesPerRequest: 0, retryStrategy: () => 50, lazyConnect: true });
    client.on('error', () => {});
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      await r.stop();
      await expect(client.ping()).rejects.toThrow();
      await r.start();
      expect(await waitFor(() => client.ping().catch(() => null), 5000)).toBe('PONG');
    } finally {
      client.disconnect();
      await r.destroy();
    }
  });

  it('a private PostgreSQL can be stopped and started again on the same port', async () => {
    const p = await startPrivatePostgres();
    try {
      await sql(p.url, 'CREATE TABLE kept (v int)');
      await p.stop();
      await expect(sql(p.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
      await p.start();
      expect(await sql(p.url, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 0 }]);
    } finally {
      await p.destroy();
    }
  });

  it('freePort and waitFor', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(1024);
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0), 1000, 5)).toBe(3);
    await expect(waitFor(() => false, 100, 10)).rejects.toThrow(/timed out after 100 ms/);
  });
});

describe('startSilverback', () => {
  it('rejects with the process output when silverback exits before its listeners answer', async () => {
    const { startSilverback } = await import('../helpers/processes.js');
    const err = await startSilverback({ env: { SILVERBACK_PG_PORT: 'abc' }, timeoutMs: 10_000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/silverback exited \(code 1, signal null\) before its listeners answered/);
    expect((err as Error).message).toContain('invalid value for setting "pg_port"');
  });
});

describe('createClusterCerts', () => {
  it('writes a 0600 pair and the env that points a node at it', async () => {
    const { createClusterCerts } = await import('../helpers/processes.js');
    const { statSync, readFileSync } = await import('node:fs');
    const certs = createClusterCerts();
    expect(statSync(certs.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(certs.cert, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(certs.env).toEqual({
      SILVERBACK_CLUSTER_MTLS: 'shared',
      SILVERBACK_CLUSTER_CERT: certs.cert,
      SILVERBACK_CLUSTER_CERT_KEY: certs.key,
      SILVERBACK_CLUSTER_SERVER_NAME: 'silverback_cluster',
    });
  });
});
