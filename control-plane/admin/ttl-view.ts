// Entities with a ttl (key-auth credentials) as Kong's Admin API shows them: the seconds left as
// `ttl`, not the expiry the data planes enforce, and an expired row is gone (404, not listed),
// though it stays stored until it is deleted. The store and the sync stream keep the raw rows.
import { entityByName } from '../../shared/schema/entities/index.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import type { Row } from '../../shared/snapshot.js';
import type { Dao } from '../store/types.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

function ttlSchema(entity: string): EntitySchema | null {
  const s = entityByName.get(entity);
  return s?.ttl ? s : null;
}

function expired(row: Row): boolean {
  return typeof row.expires_at === 'number' && row.expires_at <= nowSeconds();
}

function view(row: Row): Row {
  if (!('expires_at' in row)) return row;
  const { expires_at: expiresAt, ...rest } = row;
  // a ttl just written is echoed as given
  if (typeof expiresAt === 'number' && rest.ttl === undefined) rest.ttl = Math.max(0, expiresAt - nowSeconds());
  return rest;
}

/** The store as the Admin API reads and writes it. */
export function withTtlView(dao: Dao): Dao {
  return {
    ...dao,
    async page(entity, opts) {
      if (!ttlSchema(entity)) return dao.page(entity, opts);
      const page = await dao.page(entity, { ...opts, liveOnly: true });
      return { ...page, data: page.data.map(view) };
    },
    async select(entity, idOrKey, filter) {
      const row = await dao.select(entity, idOrKey, filter);
      if (row === null || !ttlSchema(entity)) return row;
      return expired(row) ? null : view(row);
    },
    async insert(entity, input) {
      const row = await dao.insert(entity, input);
      return ttlSchema(entity) ? view(row) : row;
    },
    async update(entity, idOrKey, patch, filter) {
      if (!ttlSchema(entity)) return dao.update(entity, idOrKey, patch, filter);
      const current = await dao.select(entity, idOrKey, filter);
      if (current === null || expired(current)) return null;
      const row = await dao.update(entity, idOrKey, patch, filter);
      return row && view(row);
    },
    async upsert(entity, idOrKey, input, filter) {
      const row = await dao.upsert(entity, idOrKey, input, filter);
      return ttlSchema(entity) ? view(row) : row;
    },
  };
}
