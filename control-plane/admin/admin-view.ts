// The store as Admin API clients see it. Internal fields (key-auth's expires_at) are neither
// accepted nor shown; an entity with a ttl reports the seconds it has left as `ttl` (Kong's shape),
// and once expired it is gone (404, not listed) until the ttl cleanup deletes it. The sync
// stream and the data planes read the raw rows.
import { entityByName } from '../../shared/schema/entities/index.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import { schemaViolation } from '../../shared/errors.js';
import type { Row } from '../../shared/snapshot.js';
import type { Dao } from '../store/types.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

const internalFields = new Map<string, string[]>();
for (const s of entityByName.values()) {
  const names = Object.entries(s.fields)
    .filter(([, f]) => f.internal)
    .map(([n]) => n);
  if (names.length) internalFields.set(s.name, names);
}

const ttlSchema = (entity: string): EntitySchema | null => {
  const s = entityByName.get(entity);
  return s?.ttl ? s : null;
};

function expired(entity: string, row: Row): boolean {
  return ttlSchema(entity) !== null && typeof row.expires_at === 'number' && row.expires_at <= nowSeconds();
}

function view(entity: string, row: Row): Row {
  const hidden = internalFields.get(entity);
  if (hidden === undefined) return row;
  const out: Row = { ...row };
  for (const n of hidden) delete out[n];
  // a ttl just written is echoed as given
  if (ttlSchema(entity) && typeof row.expires_at === 'number' && out.ttl === undefined) out.ttl = Math.max(0, row.expires_at - nowSeconds());
  return out;
}

/** Kong's "unknown field" for an internal field in a client's input. */
function refuseInternal(entity: string, input: Row): void {
  const hidden = internalFields.get(entity);
  if (hidden === undefined || input === null || typeof input !== 'object') return;
  const sent = hidden.filter((n) => input[n] !== undefined);
  if (sent.length) throw schemaViolation(Object.fromEntries(sent.map((n) => [n, 'unknown field'])));
}

export function withAdminView(dao: Dao): Dao {
  return {
    ...dao,
    async page(entity, opts) {
      if (!internalFields.has(entity)) return dao.page(entity, opts);
      const page = await dao.page(entity, { ...opts, liveOnly: true });
      return { ...page, data: page.data.map((r) => view(entity, r)) };
    },
    async select(entity, idOrKey, filter) {
      const row = await dao.select(entity, idOrKey, filter);
      if (row === null || expired(entity, row)) return null;
      return view(entity, row);
    },
    async insert(entity, input) {
      refuseInternal(entity, input);
      return view(entity, await dao.insert(entity, input));
    },
    async update(entity, idOrKey, patch, filter) {
      refuseInternal(entity, patch);
      if (ttlSchema(entity)) {
        const current = await dao.select(entity, idOrKey, filter);
        if (current === null || expired(entity, current)) return null;
      }
      const row = await dao.update(entity, idOrKey, patch, filter);
      return row && view(entity, row);
    },
    async upsert(entity, idOrKey, input, filter) {
      refuseInternal(entity, input);
      return view(entity, await dao.upsert(entity, idOrKey, input, filter));
    },
  };
}
