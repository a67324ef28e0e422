// The data plane's copy of its last applied config, <prefix>/config.cache.json.gz (mode 0600), so
// a restart while the control plane is down keeps serving traffic. Written atomically (temporary
// file + rename); a corrupt or foreign file is reported and ignored, never a crash.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Logger } from '../../shared/log.js';
import { SNAPSHOT_ENTITIES, snapshotHash, type Snapshot } from '../../shared/snapshot.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const CACHE_FILE = 'config.cache.json.gz';

export function cachePath(prefix: string): string {
  return join(prefix, CACHE_FILE);
}

export async function writeCachedSnapshot(prefix: string, snapshot: Snapshot): Promise<void> {
  const file = cachePath(prefix);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const data = await gzipAsync(Buffer.from(JSON.stringify(snapshot), 'utf8'));
  await mkdir(prefix, { recursive: true, mode: 0o700 });
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The cached config, or null (no file, or a file that is not a valid config: logged). */
export async function loadCachedSnapshot(prefix: string, log: Logger): Promise<Snapshot | null> {
  const file = cachePath(prefix);
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    log.error({ file, err: (err as Error).message }, 'config cache cannot be read; ignoring it');
    return null;
  }
  try {
    const s = JSON.parse((await gunzipAsync(raw)).toString('utf8'));
    if (!s || typeof s !== 'object' || !Number.isInteger(s.version) || typeof s.hash !== 'string') throw new Error('no version/hash');
    for (const e of SNAPSHOT_ENTITIES) if (!Array.isArray(s[e])) throw new Error(`no "${e}" list`);
    const hash = snapshotHash(s);
    if (hash !== s.hash) throw new Error(`hash mismatch (file says ${s.hash}, content is ${hash})`);
    return s as Snapshot;
  } catch (err) {
    log.error({ file, err: (err as Error).message }, 'config cache is corrupt; ignoring it');
    return null;
  }
}
