// The data plane's config cache (<prefix>/config.cache.json.gz, mode 0600, atomic writes) and
// its node id file: read back on restart, a corrupt file logged and ignored.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log.js';
import type { SyncServer } from '../../control-plane/sync/index.js';
import { cachePath, loadCachedSnapshot, loadOrCreateNodeId } from '../../data-plane/sync/index.js';
import { waitFor } from '../helpers/processes.js';
import { openTestStore, type TestStore } from '../store/store-helpers.js';
import { quietLog, removePrefixes, startCp, startDp, tempPrefix, type TestDp } from './sync-helpers.js';

let store: TestStore;
let cp: SyncServer;
const dps: TestDp[] = [];

beforeAll(async () => {
  store = await openTestStore('sync_cache');
  const svc = await store.dao.insert('services', { name: 'cached', url: 'http://cached.test' });
  await store.dao.insert('routes', { name: 'cached-route', paths: ['/cached'], service: { id: svc.id } });
  cp = await startCp(store.dao);
});
afterAll(async () => {
  for (const d of dps) await d.client.close();
  await cp?.close();
  await store?.close();
  removePrefixes();
});

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger('info', {}, { destination: stream }), lines };
}

describe('config cache', () => {
  it('is written with mode 0600 after each applied config and read back as the same config', async () => {
    const d = startDp(cp.port);
    dps.push(d);
    const s = await waitFor(() => d.current());
    await waitFor(async () => (await loadCachedSnapshot(d.prefix, quietLog))?.hash === s.hash);
    const file = cachePath(d.prefix);
    expect(file).toBe(join(d.prefix, 'config.cache.json.gz'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const cached = await loadCachedSnapshot(d.prefix, quietLog);
    expect(cached).toEqual(s);
    // no temporary files left behind
    expect(readdirSync(d.prefix).filter((f) => f.includes('.tmp'))).toEqual([]);

    // a later change replaces it
    await store.dao.insert('consumers', { username: 'cached-consumer' });
    await waitFor(async () => (await loadCachedSnapshot(d.prefix, quietLog))?.consumers.length === 1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a missing cache is null without a complaint; a corrupt or tampered one is logged and ignored', async () => {
    const prefix = tempPrefix();
    const { log, lines } = capture();
    expect(await loadCachedSnapshot(prefix, log)).toBeNull();
    expect(lines).toEqual([]);

    writeFileSync(cachePath(prefix), 'not gzip at all', { mode: 0o600 });
    expect(await loadCachedSnapshot(prefix, log)).toBeNull();
    expect(lines.at(-1)).toMatchObject({ level: 'error', msg: 'config cache is corrupt; ignoring it', file: cachePath(prefix) });

    const good = (await loadCachedSnapshot(dps[0]!.prefix, quietLog))!;
    const tampered = { ...good, services: [{ ...good.services[0], host: 'evil.test' }] };
    writeFileSync(cachePath(prefix), gzipSync(JSON.stringify(tampered)), { mode: 0o600 });
    expect(await loadCachedSnapshot(prefix, log)).toBeNull();
    expect(String(lines.at(-1)?.err)).toMatch(/^hash mismatch/);

    writeFileSync(cachePath(prefix), gzipSync(JSON.stringify({ version: 1, hash: 'x' })), { mode: 0o600 });
    expect(await loadCachedSnapshot(prefix, log)).toBeNull();
    expect(lines.at(-1)?.err).toBe('no "ca_certificates" list');
  });

  it('a data plane starting with a corrupt cache syncs in full and overwrites it', async () => {
    const prefix = tempPrefix();
    writeFileSync(cachePath(prefix), gzipSync('{"version": 3, "hash": "tru'), { mode: 0o600 });
    const d = startDp(cp.port, { configOverrides: { prefix } });
    dps.push(d);
    const s = await waitFor(() => d.current());
    expect(d.client.state().received.snapshots).toBe(1);
    await waitFor(async () => (await loadCachedSnapshot(prefix, quietLog))?.hash === s.hash);
  });

  it('a burst of changes is written once, as the latest config, after cacheDelayMs; close() writes a pending one at once', async () => {
    const d = startDp(cp.port, { cacheDelayMs: 60_000 });
    dps.push(d);
    await waitFor(() => d.current());
    const file = cachePath(d.prefix);
    await d.client.idle(); // idle() writes what is pending without waiting for the delay
    expect((await loadCachedSnapshot(d.prefix, quietLog))?.hash).toBe(d.current()!.hash);
    const writtenAt = statSync(file).mtimeMs;
    for (let i = 0; i < 3; i++) await store.dao.insert('consumers', { username: `burst-${i}` });
    await waitFor(() => d.current()!.consumers.some((c) => c.username === 'burst-2'));
    await new Promise((r) => setTimeout(r, 200));
    expect(statSync(file).mtimeMs).toBe(writtenAt); // not yet: within the delay
    const latest = d.current()!;
    await d.client.close();
    const cached = await loadCachedSnapshot(d.prefix, quietLog);
    expect(cached?.hash).toBe(latest.hash);
    expect(cached).toEqual(latest);
  });

  it('the node id is generated once and kept in <prefix>/node_id; the control plane lists the node under it', async () => {
    const prefix = tempPrefix();
    const id = loadOrCreateNodeId(prefix);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(loadOrCreateNodeId(prefix)).toBe(id);
    expect(readFileSync(join(prefix, 'node_id'), 'utf8').trim()).toBe(id);
    expect(loadOrCreateNodeId(prefix, 'configured-id')).toBe('configured-id');

    const d = startDp(cp.port, { configOverrides: { prefix } });
    dps.push(d);
    await waitFor(() => d.current());
    expect(await waitFor(() => cp.dataPlanes().find((r) => r.id === id))).toMatchObject({ connected: true, sync_status: 'normal' });
  });
});
