// Change log, NOTIFY between control planes, snapshots, certificates' snis, and write races.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SNAPSHOT_ENTITIES } from '../../shared/snapshot.js';
import { waitFor } from '../helpers/processes.js';
import { failure, openTestStore, type TestStore } from './store-helpers.js';

let store: TestStore;
beforeAll(async () => {
  store = await openTestStore('changes');
});
afterAll(async () => {
  await store?.close();
});

function selfSigned(cn: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sb-store-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '2',
      '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('change log', () => {
  it('every write appends versions in order; cascaded deletes are logged', async () => {
    const { dao } = store;
    const v0 = await dao.configVersion();
    const c = await dao.insert('consumers', { username: 'log-owner' });
    const k = await dao.insert('keyauth_credentials', { consumer: { id: c.id } });
    const a = await dao.insert('acls', { consumer: { id: c.id }, group: 'g1' });
    await dao.update('consumers', c.id, { custom_id: 'log-1' });
    await dao.delete('consumers', c.id);
    const changes = await dao.changesSince(v0);
    expect(changes.map((x) => [x.entity, x.id, x.op])).toEqual([
      ['consumers', c.id, 'create'],
      ['keyauth_credentials', k.id, 'create'],
      ['acls', a.id, 'create'],
      ['consumers', c.id, 'update'],
      ['consumers', c.id, 'delete'],
      ['keyauth_credentials', k.id, 'delete'],
      ['acls', a.id, 'delete'],
    ]);
    const versions = changes.map((x) => x.version);
    expect(versions.every((v, i) => i === 0 || v > versions[i - 1])).toBe(true);
    expect(versions[0]).toBeGreaterThan(v0);
    expect(await dao.configVersion()).toBe(versions[versions.length - 1]);
    expect(await dao.changesSince(v0, 2)).toEqual(changes.slice(0, 2));
  });

  it('failed writes log nothing', async () => {
    const v = await store.dao.configVersion();
    await failure(store.dao.insert('services', { name: 'bad', host: 'bad host' }));
    await failure(store.dao.insert('routes', { paths: ['/x'], service: { name: 'missing' } }));
    expect(await store.dao.delete('services', 'never-existed')).toBe(false);
    expect(await store.dao.changesSince(v)).toEqual([]);
  });

  it('onChange fires after local commits and for writes of another control plane (LISTEN/NOTIFY)', async () => {
    const seen: number[] = [];
    const off = store.dao.onChange((v) => seen.push(v));
    try {
      await store.dao.insert('services', { name: 'local-notify', host: 'l.test' });
      const local = await store.dao.configVersion();
      expect(seen).toContain(local);
      const other = store.openDao();
      await other.dao.insert('services', { name: 'remote-notify', host: 'r.test' });
      const remote = await other.dao.configVersion();
      await waitFor(() => seen.includes(remote), 5000);
      // versions are reported once each, increasing
      expect(seen.every((v, i) => i === 0 || v > seen[i - 1])).toBe(true);
    } finally {
      off();
    }
  });
});

describe('certificates and snis', () => {
  it('snis create sni rows in the same transaction, are echoed, replaced, and cascade', async () => {
    const { dao } = store;
    const { cert, key } = selfSigned('example.test');
    const v0 = await dao.configVersion();
    const c = await dao.insert('certificates', { cert, key, snis: ['b.example.test', 'a.example.test'] });
    expect(c.snis).toEqual(['a.example.test', 'b.example.test']);
    expect(c).toMatchObject({ cert, key, cert_alt: null, key_alt: null, tags: null });
    expect((await dao.select('certificates', c.id))?.snis).toEqual(['a.example.test', 'b.example.test']);
    const sni = await dao.select('snis', 'a.example.test');
    expect(sni).toMatchObject({ name: 'a.example.test', certificate: { id: c.id } });
    const created = await dao.changesSince(v0);
    expect(created.map((x) => `${x.entity}:${x.op}`)).toEqual(['certificates:create', 'snis:create', 'snis:create']);

    const other = await dao.insert('certificates', { cert, key });
    expect(other.snis).toEqual([]);
    const f = await failure(dao.insert('certificates', { cert, key, snis: ['a.example.test'] }));
    expect(f.status).toBe(400);
    expect(f.body.message).toBe(`schema violation (snis: a.example.test already associated with existing certificate '${c.id}')`);

    const u = await dao.update('certificates', c.id, { snis: ['b.example.test', 'c.example.test'] });
    expect(u?.snis).toEqual(['b.example.test', 'c.example.test']);
    expect(await dao.select('snis', 'a.example.test')).toBeNull();

    const v1 = await dao.configVersion();
    expect(await dao.delete('certificates', c.id)).toBe(true);
    expect(await dao.select('snis', 'b.example.test')).toBeNull();
    const deleted = await dao.changesSince(v1);
    expect(deleted.map((x) => `${x.entity}:${x.op}`).sort()).toEqual(['certificates:delete', 'snis:delete', 'snis:delete']);
    await dao.delete('certificates', other.id);
  });

  it('snis: null clears the list; PUT without snis keeps it', async () => {
    const { cert, key } = selfSigned('clear.test');
    const c = await store.dao.insert('certificates', { cert, key, snis: ['clear.test'] });
    expect((await store.dao.upsert('certificates', c.id, { cert, key }))?.snis).toEqual(['clear.test']);
    expect((await store.dao.update('certificates', c.id, { snis: null }))?.snis).toEqual([]);
    expect(await store.dao.select('snis', 'clear.test')).toBeNull();
    await store.dao.delete('certificates', c.id);
  });

  it('a certificate used by a service cannot be deleted', async () => {
    const { cert, key } = selfSigned('client.test');
    const c = await store.dao.insert('certificates', { cert, key });
    const s = await store.dao.insert('services', { name: 'mtls', url: 'https://m.test', client_certificate: { id: c.id } });
    const f = await failure(store.dao.delete('certificates', c.id));
    expect(f.body.message).toBe(`an existing 'services' entity references this 'certificates' entity`);
    await store.dao.delete('services', s.id);
    expect(await store.dao.delete('certificates', c.id)).toBe(true);
  });
});

describe('snapshots', () => {
  it('exports every entity (disabled services too) with a stable hash and the current version', async () => {
    const { dao } = store;
    const s = await dao.insert('services', { name: 'snap-off', host: 's.test', enabled: false });
    const r = await dao.insert('routes', { paths: ['/snap'], service: { id: s.id } });
    const p = await dao.insert('plugins', { name: 'cors', route: { id: r.id } });
    const a = await dao.exportSnapshot();
    const b = await dao.exportSnapshot();
    expect(a).toEqual(b);
    expect(a.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(a.version).toBe(await dao.configVersion());
    for (const e of SNAPSHOT_ENTITIES) expect(Array.isArray(a[e])).toBe(true);
    expect(a.services.find((x) => x.id === s.id)).toEqual(await dao.select('services', s.id));
    expect(a.routes.find((x) => x.id === r.id)).toEqual(await dao.select('routes', r.id));
    expect(a.plugins.find((x) => x.id === p.id)).toEqual(await dao.select('plugins', p.id));
    await dao.update('routes', r.id, { paths: ['/snap2'] });
    const c = await dao.exportSnapshot();
    expect(c.hash).not.toBe(a.hash);
    expect(c.version).toBeGreaterThan(a.version);
  });
});

describe('races', () => {
  it('concurrent inserts of the same name: exactly one wins, the others get 409', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.dao.insert('services', { name: 'race', host: 'race.test' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(7);
    for (const r of rejected) expect(r.reason.status).toBe(409);
    expect((await store.dao.page('services', { filter: { name: 'race' } })).data).toHaveLength(1);
  });

  it('inserts racing a parent delete: clean 400s, no orphans, every survivor logged as deleted', async () => {
    const { dao, db } = store;
    const c = await dao.insert('consumers', { username: 'racing-parent' });
    const v0 = await dao.configVersion();
    // all issued at once: the pool hands out connections in call order, so the delete lands among them
    const insert = () => dao.insert('keyauth_credentials', { consumer: { id: c.id } });
    const before = Array.from({ length: 6 }, insert);
    const del = dao.delete('consumers', c.id);
    const after = Array.from({ length: 10 }, insert);
    const results = await Promise.allSettled([...before, ...after, del]);
    expect(results[results.length - 1]).toEqual({ status: 'fulfilled', value: true });
    const created = results.slice(0, -1).filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<any>).value.id);
    for (const r of results.slice(0, -1)) {
      if (r.status === 'rejected') {
        expect(r.reason.status).toBe(400);
        expect(r.reason.body.message).toBe(`the foreign key '{id="${c.id}"}' does not reference an existing 'consumers' entity.`);
      }
    }
    const orphans = await db.pool.query(
      `SELECT count(*)::int AS n FROM keyauth_credentials k LEFT JOIN consumers c ON c.id = k.consumer_id WHERE c.id IS NULL`,
    );
    expect(orphans.rows[0].n).toBe(0);
    const deletes = (await dao.changesSince(v0)).filter((x) => x.op === 'delete' && x.entity === 'keyauth_credentials').map((x) => x.id);
    expect(deletes.sort()).toEqual([...created].sort());
  });
});
