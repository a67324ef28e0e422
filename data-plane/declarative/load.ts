// Reading declarative files from disk: the data plane's DB-less loader and `config validate`.
import { readFile } from 'node:fs/promises';
import { ERR, KongError } from '../../shared/errors.js';
import { SNAPSHOT_ENTITIES, type Snapshot, type SnapshotEntity } from '../../shared/snapshot.js';
import { parseDeclarative, type ParseOptions } from './parse.js';

export type EntityCounts = Record<SnapshotEntity, number>;

export type DeclarativeValidation = { ok: true; counts: EntityCounts; snapshot: Snapshot } | { ok: false; error: KongError };

export function entityCounts(s: Snapshot): EntityCounts {
  const counts = {} as EntityCounts;
  for (const e of SNAPSHOT_ENTITIES) counts[e] = s[e].length;
  return counts;
}

/** Reads and compiles a YAML/JSON declarative file. Throws KongError code 14 when unreadable or invalid. */
export async function loadDeclarativeFile(path: string, opts: Omit<ParseOptions, 'filename'> = {}): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new KongError(ERR.DECLARATIVE_CONFIG, `failed reading declarative configuration file '${path}': ${err.code ?? err.message}`, {});
  }
  return parseDeclarative(text, { ...opts, filename: path });
}

/** Never throws for a bad file: `{ ok: false, error }` carries every problem (see flattenDeclarativeErrors). */
export async function validateDeclarativeFile(path: string): Promise<DeclarativeValidation> {
  try {
    const snapshot = await loadDeclarativeFile(path);
    return { ok: true, counts: entityCounts(snapshot), snapshot };
  } catch (e) {
    if (e instanceof KongError) return { ok: false, error: e };
    throw e;
  }
}
