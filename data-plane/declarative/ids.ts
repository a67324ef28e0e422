// Deterministic identifiers for declarative files: the same file always yields the same ids,
// generated credential keys and therefore the same snapshot hash on every data plane.
import { createHash } from 'node:crypto';

/** Kong's namespace for declarative-config ids (uuid v5 of the entity name, then of the key). */
const ENTITIES_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5';

/** Kong's default workspace id in DB-less mode; part of some generated keys (targets, plugins). */
export const DEFAULT_WORKSPACE_ID = '0dc6f45b-8f8d-40d2-a504-473544ee190b';

export function uuidV5(namespace: string, name: string): string {
  const h = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const namespaces = new Map<string, string>();

/** uuid v5 of `key` in the entity's namespace, as Kong derives ids of declarative entities. */
export function entityUuid(entity: string, key: string): string {
  let ns = namespaces.get(entity);
  if (!ns) {
    ns = uuidV5(ENTITIES_NAMESPACE, entity);
    namespaces.set(entity, ns);
  }
  return uuidV5(ns, key);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A 32-character [A-Za-z0-9] value (Kong's credential key/secret format) derived from a seed.
 * The seed includes a digest of the whole file, so it is as secret as the file itself.
 */
export function derivedKey32(seed: string): string {
  const bytes = createHash('sha256').update(seed, 'utf8').digest();
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}
