// The generic entity endpoints, generated from ENTITIES like kong/api/endpoints.lua: collections,
// entities by id or endpoint key, nested collections under each foreign key's parent, and the
// "to-one" foreign entity endpoints (/routes/{r}/service). Kong's per-entity customizations
// (consumers?custom_id, certificates by SNI name, acls by group, plugin PATCH form decoding,
// targets only under upstreams) are applied here too.
import { randomUUID } from 'node:crypto';
import { ENTITIES, entityByName } from '../../shared/schema/entities/index.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import { isUuid } from '../../shared/schema/typedefs.js';
import { ERR, HttpError, KongError, methodNotAllowed, notFound, prettyLua } from '../../shared/errors.js';
import type { Row } from '../../shared/snapshot.js';
import type { Dao } from '../store/types.js';
import { bodyArgs, isForm } from './body.js';
import { nextExtras, pageBody, pageOptions } from './paging.js';
import type { AdminRequest, AdminRoute, Reply } from './router.js';
import { withAdminView } from './admin-view.js';

export const adminName = (s: EntitySchema) => s.admin_name ?? s.name;
export const nestedName = (s: EntitySchema) => s.nested_name ?? adminName(s);
const hasTags = (s: EntitySchema) => s.fields.tags !== undefined;

const ok = (body: unknown): Reply => ({ status: 200, body });
const created = (body: unknown): Reply => ({ status: 201, body });
const noContent = (): Reply => ({ status: 204 });

function invalidPrimaryKey(id: string): KongError {
  return new KongError(ERR.INVALID_PRIMARY_KEY, `invalid primary key: '${prettyLua({ id })}'`, { id: 'expected a valid UUID' });
}

/** Foreign fields of a schema: [field name, referenced schema]. */
function foreignFields(schema: EntitySchema): Array<[string, EntitySchema]> {
  const out: Array<[string, EntitySchema]> = [];
  for (const [name, f] of Object.entries(schema.fields)) {
    if (f.type !== 'foreign' || !f.reference) continue;
    const ref = entityByName.get(f.reference);
    if (ref) out.push([name, ref]);
  }
  return out;
}

/** A path key resolved to what the store understands, plus the SNI name it came from. */
interface ResolvedKey {
  key: string;
  sniName?: string;
}

export function createCrudRoutes(store: Dao): AdminRoute[] {
  const dao = withAdminView(store);
  const routes: AdminRoute[] = [];
  const add = (method: string, pattern: string, handler: AdminRoute['handler']) => routes.push({ method, pattern, handler });

  /** certificates: a non-uuid key is an SNI name (kong/api/routes/certificates.lua). */
  async function resolveKey(schema: EntitySchema, key: string, method: string): Promise<ResolvedKey> {
    if (schema.name !== 'certificates' || isUuid(key)) return { key };
    const sni = await dao.select('snis', key);
    if (sni) return { key: sni.certificate.id, sniName: key };
    if (method !== 'PUT') throw new HttpError(404, { message: 'SNI not found' });
    return { key: randomUUID(), sniName: key };
  }

  async function findParent(schema: EntitySchema, key: string): Promise<Row> {
    const { key: k } = await resolveKey(schema, key, 'GET');
    const row = await dao.select(schema.name, k);
    if (!row) throw notFound();
    return row;
  }

  /** certificates PUT/PATCH: `snis` as a list, including the SNI name used in the path on PUT. */
  function prepareSnis(body: Row, method: string, sniName: string | undefined): void {
    let snis = body.snis;
    if (typeof snis === 'string') snis = [snis];
    if (Array.isArray(snis)) {
      if (sniName && method === 'PUT' && !snis.includes(sniName)) snis = [...snis, sniName];
    } else if (snis === undefined && method === 'PUT') snis = sniName ? [sniName] : [];
    if (snis !== undefined) body.snis = snis;
  }

  /** PATCH /plugins/{p} with a form body: config.* decodes against the stored plugin's schema. */
  async function patchArgs(schema: EntitySchema, req: AdminRequest, existing: () => Promise<Row | null>): Promise<Row> {
    if (schema.name === 'plugins' && isForm(req.body)) {
      const plugin = await existing();
      if (!plugin) throw notFound();
      return bodyArgs(req.body, schema, { name: plugin.name });
    }
    return bodyArgs(req.body, schema);
  }

  for (const schema of ENTITIES) {
    const E = schema.name;
    const coll = `/${adminName(schema)}`;
    const item = `${coll}/:${E}`;

    // ---- top level ---------------------------------------------------------------------------
    if (!schema.no_top_level_admin) {
      add('GET', coll, async (req) => {
        if (E === 'consumers' && req.query.has('custom_id')) {
          const values = req.query.getAll('custom_id');
          if (values.length !== 1 || values[0] === '') throw new HttpError(400, { message: 'custom_id must be an unempty string' });
          const page = await dao.page(E, { filter: { custom_id: values[0] }, size: 1 });
          return ok({ data: page.data, next: null });
        }
        const page = await dao.page(E, pageOptions(req.query, hasTags(schema)));
        return ok(pageBody(page, coll, nextExtras(req.query)));
      });

      add('POST', coll, async (req) => created(await dao.insert(E, bodyArgs(req.body, schema))));

      add('GET', item, async (req) => {
        const { key } = await resolveKey(schema, req.params[E], 'GET');
        const row = await dao.select(E, key);
        return row ? ok(row) : { status: 404, body: { message: 'Not found' } };
      });

      add('PUT', item, async (req) => {
        const { key, sniName } = await resolveKey(schema, req.params[E], 'PUT');
        if (!isUuid(key) && !schema.endpoint_key) throw invalidPrimaryKey(key);
        const body = bodyArgs(req.body, schema);
        if (E === 'certificates') prepareSnis(body, 'PUT', sniName);
        return ok(await dao.upsert(E, key, body));
      });

      add('PATCH', item, async (req) => {
        const { key, sniName } = await resolveKey(schema, req.params[E], 'PATCH');
        const body = await patchArgs(schema, req, () => dao.select(E, key));
        if (E === 'certificates') prepareSnis(body, 'PATCH', sniName);
        const row = await dao.update(E, key, body);
        if (!row) throw notFound();
        return ok(row);
      });

      add('DELETE', item, async (req) => {
        const { key } = await resolveKey(schema, req.params[E], 'DELETE');
        await dao.delete(E, key);
        return noContent();
      });
    }

    for (const [field, parent] of foreignFields(schema)) {
      const P = parent.name;
      const parentItem = `/${adminName(parent)}/:${P}`;
      const nestedColl = `${parentItem}/${nestedName(schema)}`;
      const nestedItem = `${nestedColl}/:${E}`;

      // ---- to-one foreign entity: /routes/{r}/service -------------------------------------------
      if (!schema.no_top_level_admin && !schema.no_foreign_endpoint) {
        const foreignPath = `${item}/${field}`;
        const own = async (req: AdminRequest): Promise<Row> => {
          const { key } = await resolveKey(schema, req.params[E], 'GET');
          const row = await dao.select(E, key);
          if (!row) throw notFound();
          return row;
        };
        add('GET', foreignPath, async (req) => {
          const row = await own(req);
          const fk = row[field]?.id;
          const target = fk ? await dao.select(P, fk) : null;
          if (!target) throw notFound();
          return ok(target);
        });
        add('PATCH', foreignPath, async (req) => {
          const row = await own(req);
          const fk = row[field]?.id;
          if (!fk) throw notFound();
          const body = await patchArgs(parent, req, () => dao.select(P, fk));
          const updated = await dao.update(P, fk, body);
          if (!updated) throw notFound();
          return ok(updated);
        });
        add('PUT', foreignPath, async (req) => {
          const row = await own(req);
          const fk: string | undefined = row[field]?.id;
          const target = await dao.upsert(P, fk ?? randomUUID(), bodyArgs(req.body, parent));
          if (!fk) await dao.update(E, row.id, { [field]: { id: target.id } });
          return ok(target);
        });
        add('DELETE', foreignPath, async (req) => {
          const row = await own(req);
          if (!row[field]?.id) throw notFound();
          throw methodNotAllowed();
        });
      }

      // ---- nested collection: /services/{s}/routes ----------------------------------------------
      add('GET', nestedColl, async (req) => {
        const p = await findParent(parent, req.params[P]);
        const opts = pageOptions(req.query, hasTags(schema));
        opts.filter = { [field]: p.id };
        const page = await dao.page(E, opts);
        return ok(pageBody(page, `/${adminName(parent)}/${req.rawParams[P]}/${nestedName(schema)}`));
      });

      add('POST', nestedColl, async (req) => {
        const p = await findParent(parent, req.params[P]);
        const body = bodyArgs(req.body, schema);
        body[field] = { id: p.id };
        return created(await dao.insert(E, body));
      });

      // ---- nested entity: /services/{s}/routes/{r} ----------------------------------------------
      /** acls under a consumer may be named by group (kong/plugins/acl/api.lua). */
      const childKey = async (req: AdminRequest, p: Row, method: string): Promise<{ key: string; group?: string }> => {
        const key = req.params[E];
        if (E !== 'acls' || isUuid(key)) return { key };
        const page = await dao.page('acls', { filter: { consumer: p.id, group: key }, size: 1 });
        if (page.data[0]) return { key: page.data[0].id };
        if (method !== 'PUT') throw notFound();
        return { key: randomUUID(), group: key };
      };
      const scope = (p: Row) => ({ [field]: p.id as string });

      add('GET', nestedItem, async (req) => {
        const p = await findParent(parent, req.params[P]);
        const { key } = await childKey(req, p, 'GET');
        const row = await dao.select(E, key, scope(p));
        if (!row) throw notFound();
        return ok(row);
      });

      add('PATCH', nestedItem, async (req) => {
        const p = await findParent(parent, req.params[P]);
        const { key } = await childKey(req, p, 'PATCH');
        const body = await patchArgs(schema, req, () => dao.select(E, key, scope(p)));
        if (body[field] === undefined) body[field] = { id: p.id };
        const row = await dao.update(E, key, body, scope(p));
        if (!row) throw notFound();
        return ok(row);
      });

      add('PUT', nestedItem, async (req) => {
        const p = await findParent(parent, req.params[P]);
        const { key, group } = await childKey(req, p, 'PUT');
        if (!isUuid(key) && !schema.endpoint_key) throw invalidPrimaryKey(key);
        const body = bodyArgs(req.body, schema);
        if (group !== undefined && body.group === undefined) body.group = group;
        body[field] = { id: p.id };
        return ok(await dao.upsert(E, key, body, scope(p)));
      });

      add('DELETE', nestedItem, async (req) => {
        const p = await findParent(parent, req.params[P]);
        const { key } = await childKey(req, p, 'DELETE');
        const row = await dao.select(E, key, scope(p));
        if (!row) throw notFound();
        await dao.delete(E, row.id);
        return noContent();
      });
    }
  }

  // /upstreams/{u}/targets/all: every target (no history is kept, so the same rows as the list)
  const targets = entityByName.get('targets')!;
  add('GET', '/upstreams/:upstreams/targets/all', async (req) => {
    const u = await dao.select('upstreams', req.params.upstreams);
    if (!u) throw notFound();
    const opts = pageOptions(req.query, hasTags(targets));
    opts.filter = { upstream: u.id };
    const page = await dao.page('targets', opts);
    return ok(pageBody(page, `/upstreams/${req.rawParams.upstreams}/targets/all`));
  });

  // /tags and /tags/{tag}: every tagged entity as {entity_name, entity_id, tag}
  add('GET', '/tags', async (req) => {
    const page = await dao.tagged(null, pageOptions(req.query, false));
    return ok(pageBody(page, '/tags', req.query.has('size') ? `&size=${req.query.get('size')}` : ''));
  });
  add('GET', '/tags/:tags', async (req) => {
    const page = await dao.tagged(req.params.tags, pageOptions(req.query, false));
    return ok(pageBody(page, `/tags/${req.rawParams.tags}`));
  });

  return routes;
}
