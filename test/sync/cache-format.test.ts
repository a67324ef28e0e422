// The two cache file layouts: the streamed one (re-serialized config) and a full snapshot cached as
// received (its gzip'd payload between two small gzip members). Both load as the same config, and
// a tampered payload is refused like any corrupt cache.
import { writeFileSync, readFileSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { emptySnapshot, snapshotHash, type Snapshot } from '../../shared/snapshot.js';
import { compress, decodeSnapshotPayload } from '../../shared/sync/protocol.js';
import { cachePath, loadCachedSnapshot, writeCachedSnapshot, writeCachedSnapshotPayload } from '../../data-plane/sync/index.js';
import { quietLog, removePrefixes, tempPrefix } from './sync-helpers.js';

afterAll(() => removePrefixes());

function config(): Snapshot {
  const s = emptySnapshot() as any;
  s.version = 7;
  s.services = [{ id: '5b1f0c5e-0000-4000-8000-000000000001', name: 'a', host: 'a.test', port: 80, protocol: 'http', tags: ['é', 'x'] }];
  s.routes = [{ id: '5b1f0c5e-0000-4000-8000-000000000002', paths: ['/a'], service: { id: s.services[0].id } }];
  s.hash = snapshotHash(s);
  return s as Snapshot;
}

describe('config cache file layouts', () => {
  it('a snapshot cached from its received payload loads as the same config as the streamed layout', async () => {
    const s = config();
    const { version, hash, ...entities } = s;
    const payload = await compress(JSON.stringify(entities));
    const decoded = await decodeSnapshotPayload({ version, hash, payload, compressed: true });
    expect(decoded).toEqual(s);

    const a = tempPrefix();
    await writeCachedSnapshot(a, s);
    const b = tempPrefix();
    await writeCachedSnapshotPayload(b, version, hash, payload);
    expect(JSON.parse(gunzipSync(readFileSync(cachePath(b))).toString())).toEqual({ version, hash, payload: entities });

    const fromStreamed = await loadCachedSnapshot(a, quietLog);
    const fromPayload = await loadCachedSnapshot(b, quietLog);
    expect(fromStreamed).toEqual(s);
    expect(fromPayload).toEqual(s);
  });

  it('a payload-layout cache whose content does not match its hash is ignored', async () => {
    const s = config();
    const { version, ...entities } = s as any;
    delete entities.hash;
    entities.services[0].host = 'tampered.test';
    const p = tempPrefix();
    await writeCachedSnapshotPayload(p, version, s.hash, gzipSync(JSON.stringify(entities)));
    expect(await loadCachedSnapshot(p, quietLog)).toBeNull();
    writeFileSync(cachePath(p), Buffer.concat([gzipSync('{"version":1,"hash":"x","payload":'), gzipSync('[]}')]));
    expect(await loadCachedSnapshot(p, quietLog)).toBeNull();
  });
});
