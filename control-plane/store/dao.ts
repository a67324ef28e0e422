// The PostgreSQL DAO, generated from the entity schemas. Every write is one transaction that
// stores the rows and appends one change-log row per affected entity (cascades included), then
// NOTIFYs the new config version; other control planes learn about it through LISTEN.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ENTITIES, entityByName } from '../../shared/schema/entities/index.js';
import { prepareInsert, prepareUpdate, prepareUpsert, type Row } from '../../shared/schema/entity.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import { isUuid } from '../../shared/schema/typedefs.js';
import { isPlainObject } from '../../shared/schema/validate.js';
import {
  HttpError,
  foreignKeyRestricted,
  foreignKeysUnresolved,
  invalidOffset,
  notFound,
  prettyLua,
  schemaViolation,
} from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { SNAPSHOT_ENTITIES, snapshotHash, type Snapshot } from '../../shared/snapshot.js';
import { columnsOf, quoteIdent as q, type Column } from './columns.js';
import { DatabaseError } from './db.js';
import { constraintError, fromSql, toSql, type WriteContext } from './rows.js';
import type { Change, Dao, Page, PageOptions } from './types.js';

/** NOTIFY channel; the payload is the new config version. */
export const CONFIG_CHANNEL = 'silverback_config';
/** Transaction-level advisory lock taken while appending to the change log ("SBCC"). */
const CHANGE_LOG_LOCK = 0x53424343;

type Op = Change['op'];
interface PendingChange {
  entity: string;
  id: string;
  op: Op;
}

/**
 * Transient "name list" fields: certificates.snis creates/replaces sni rows in the same
 * transaction and is echoed as the sorted list of the certificate's sni names.
 */
const NAME_LISTS: Record<string, { field: string; child: string; fk: string; key: string }> = {
  certificates: { field: 'snis', child: 'snis', fk: 'certificate', key: 'name' },
};

function schemaOf(entity: string): EntitySchema {
  const s = entityByName.get(entity);
  if (!s) throw new Error(`unknown entity '${entity}'`);
  return s;
}

function column(schema: EntitySchema, field: string): Column {
  const c = columnsOf(schema).find((x) => x.field === field);
  if (!c) throw new Error(`'${schema.name}' has no stored field '${field}'`);
  return c;
}

const hasCreatedAt = (schema: EntitySchema) => columnsOf(schema).some((c) => c.field === 'created_at');

/** A row of an entity with a ttl that has not expired yet (the ttl cleanup deletes the others). */
const NOW_SECONDS = 'floor(extract(epoch from now()))';
const NOT_EXPIRED = `(${q('expires_at')} IS NULL OR ${q('expires_at')} > ${NOW_SECONDS})`;

/** SQL conditions, appending their parameters to `params`. */
class Where {
  readonly conds: string[] = [];
  constructor(readonly params: unknown[] = []) {}
  add(sql: (p: string) => string, value: unknown): this {
    this.params.push(value);
    this.conds.push(sql(`$${this.params.length}`));
    return this;
  }
  raw(cond: string): this {
    this.conds.push(cond);
    return this;
  }
  /** By uuid, or by the endpoint key; false when the key cannot name a row. */
  key(schema: EntitySchema, idOrKey: string): this {
    if (isUuid(idOrKey)) return this.add((p) => `${q('id')} = ${p}`, idOrKey);
    if (schema.endpoint_key) return this.add((p) => `${q(column(schema, schema.endpoint_key!).name)} = ${p}`, idOrKey);
    return this.raw('FALSE');
  }
  filter(schema: EntitySchema, filter: Record<string, string | null> | undefined): this {
    for (const [field, value] of Object.entries(filter ?? {})) {
      const col = column(schema, field);
      if (value === null) this.raw(`${q(col.name)} IS NULL`);
      else if ((col.kind === 'uuid' || col.kind === 'foreign') && !isUuid(value)) this.raw('FALSE');
      else this.add((p) => `${q(col.name)} = ${p}`, value);
    }
    return this;
  }
  /** Entities with a ttl: only the rows that have not expired. */
  live(schema: EntitySchema): this {
    if (schema.ttl) this.raw(NOT_EXPIRED);
    return this;
  }
  sql(): string {
    return this.conds.length ? ` WHERE ${this.conds.join(' AND ')}` : '';
  }
}

// Offsets are opaque base64 of the last row's sort key. Spaces are read back as '+' because
// an unescaped offset in a query string decodes that way.
// Kong: base64 (no padding) of the JSON array of the last row's primary key.
function encodeOffset(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64').replace(/=+$/, '');
}

function decodeOffset(offset: string, check: (key: unknown[]) => boolean): unknown[] {
  const s = offset.replace(/ /g, '+');
  if (!/^[A-Za-z0-9+/\-_]+={0,2}$/.test(s) || s.length % 4 === 1) throw invalidOffset(offset);
  try {
    const key = JSON.parse(Buffer.from(s, 'base64').toString('utf8'));
    if (Array.isArray(key) && check(key)) return key;
  } catch {
    // fall through
  }
  throw invalidOffset(offset);
}

const RETRYABLE = new Set(['40001', '40P01']);

export interface DaoOptions {
  /** Reconnect delay bounds for the LISTEN connection (ms). */
  listenRetryMinMs?: number;
  listenRetryMaxMs?: number;
}

/**
 * A Dao over `pool`. The pool stays owned by the caller: close the Dao (it stops its LISTEN
 * connection) before ending the pool.
 */
export function createDao(pool: pg.Pool, log: Logger, options: DaoOptions = {}): Dao {
  const listeners = new Set<(version: number) => void>();
  let lastVersion = 0;
  let closed = false;

  function fire(version: number): void {
    if (!(version > lastVersion)) return;
    lastVersion = version;
    for (const l of listeners) {
      try {
        l(version);
      } catch (err) {
        log.error({ err }, 'config change listener failed');
      }
    }
  }

  function dbError(err: unknown, ctx: WriteContext = {}): HttpError {
    if (err instanceof HttpError) return err;
    const mapped = typeof (err as any)?.code === 'string' ? constraintError(err as pg.DatabaseError, ctx) : undefined;
    if (mapped) return mapped;
    log.error({ err: (err as Error)?.message ?? String(err), code: (err as any)?.code }, 'database error');
    return new DatabaseError(err);
  }

  /** One transaction on one connection; retried on serialization failures and deadlocks. */
  async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (err: Error) => (broken = err);
      client.on('error', onError);
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken ??= e));
        if (RETRYABLE.has((err as any)?.code) && attempt < 4) continue;
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  async function read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw dbError(err);
    }
  }

  /** A write transaction; `fn` reports the entities it touched; the change log and NOTIFY follow. */
  async function write<T>(fn: (c: pg.PoolClient, ctx: WriteContext, changes: PendingChange[]) => Promise<T>): Promise<T> {
    let ctx: WriteContext = {};
    let version = 0;
    try {
      const result = await tx(async (c) => {
        ctx = {};
        const changes: PendingChange[] = [];
        const r = await fn(c, ctx, changes);
        version = changes.length ? await appendChanges(c, changes) : 0;
        return r;
      });
      if (version) fire(version);
      return result;
    } catch (err) {
      throw dbError(err, ctx);
    }
  }

  async function appendChanges(c: pg.PoolClient, changes: PendingChange[]): Promise<number> {
    // Held until commit: versions become visible in the order they were allocated, so a reader
    // of changesSince(v) never skips a version that commits later.
    await c.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_LOG_LOCK]);
    const seen = new Set<string>();
    const unique = changes.filter((ch) => {
      const k = `${ch.entity}:${ch.id}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    // NOTIFY is delivered at commit, to every listening control plane (this one included)
    const res = await c.query<{ version: string }>(
      `WITH ins AS (
         INSERT INTO config_changes (entity, entity_id, op)
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[]) RETURNING version)
       SELECT max(version) AS version, pg_notify($4, max(version)::text) FROM ins`,
      [unique.map((x) => x.entity), unique.map((x) => x.id), unique.map((x) => x.op), CONFIG_CHANNEL],
    );
    return Number(res.rows[0].version);
  }

  // ---- rows ------------------------------------------------------------------------------------

  async function findRow(c: pg.PoolClient | pg.Pool, schema: EntitySchema, idOrKey: string, filter?: Record<string, string | null>, lock = false): Promise<Row | null> {
    const w = new Where().key(schema, idOrKey).filter(schema, filter);
    const res = await c.query(`SELECT * FROM ${q(schema.name)}${w.sql()} LIMIT 1${lock ? ' FOR UPDATE' : ''}`, w.params);
    return res.rows[0] ? fromSql(schema, res.rows[0]) : null;
  }

  async function insertRow(c: pg.PoolClient, schema: EntitySchema, row: Row, ctx: WriteContext): Promise<Row> {
    ctx.schema = schema;
    ctx.row = row;
    const { names, values } = toSql(schema, row);
    const res = await c.query(
      `INSERT INTO ${q(schema.name)} (${names.map(q).join(', ')}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
      values,
    );
    return fromSql(schema, res.rows[0]);
  }

  async function updateRow(c: pg.PoolClient, schema: EntitySchema, row: Row, ctx: WriteContext): Promise<Row> {
    ctx.schema = schema;
    ctx.row = row;
    const { names, values } = toSql(schema, row);
    const sets = names.filter((n) => n !== 'id').map((n) => `${q(n)} = $${names.indexOf(n) + 1}`);
    const res = await c.query(`UPDATE ${q(schema.name)} SET ${sets.join(', ')} WHERE ${q('id')} = $${names.indexOf('id') + 1} RETURNING *`, values);
    return fromSql(schema, res.rows[0]);
  }

  /** Foreign keys given by a unique field ({name: 'svc'}) become {id}; unknown ones → code 13. */
  async function resolveForeign(c: pg.PoolClient, schema: EntitySchema, input: Row): Promise<Row> {
    const out: Row = { ...input };
    const errors: Record<string, Record<string, string>> = {};
    for (const [field, def] of Object.entries(schema.fields)) {
      const v = input[field];
      if (def.type !== 'foreign' || !isPlainObject(v)) continue;
      const keys = Object.keys(v);
      if (keys.length !== 1 || keys[0] === 'id') continue;
      const ref = schemaOf(def.reference!);
      const k = keys[0];
      const refField = ref.fields[k];
      const usable = refField && refField.type !== 'foreign' && !refField.transient && (refField.unique || ref.endpoint_key === k);
      if (!usable || (typeof v[k] !== 'string' && typeof v[k] !== 'number')) continue; // left to validation
      const res = await c.query(`SELECT ${q('id')} FROM ${q(ref.name)} WHERE ${q(column(ref, k).name)} = $1 LIMIT 1`, [v[k]]);
      if (res.rows[0]) out[field] = { id: res.rows[0].id };
      else
        errors[field] = {
          [k]: `the foreign key cannot be resolved with '${prettyLua({ [k]: v[k] })}' for an existing '${ref.name}' entity`,
        };
    }
    if (Object.keys(errors).length) throw foreignKeysUnresolved(errors);
    return out;
  }

  // ---- certificates.snis ----------------------------------------------------------------------

  async function attachNameLists(c: pg.PoolClient | pg.Pool, schema: EntitySchema, rows: Row[]): Promise<Row[]> {
    const nl = NAME_LISTS[schema.name];
    if (!nl || rows.length === 0) return rows;
    const child = schemaOf(nl.child);
    const res = await c.query(
      `SELECT ${q(column(child, nl.fk).name)} AS parent, ${q(nl.key)} AS key FROM ${q(child.name)}
       WHERE ${q(column(child, nl.fk).name)} = ANY($1::uuid[]) ORDER BY ${q(nl.key)}`,
      [rows.map((r) => r.id)],
    );
    const by = new Map<string, string[]>();
    for (const r of res.rows) by.set(r.parent, [...(by.get(r.parent) ?? []), r.key]);
    for (const r of rows) r[nl.field] = by.get(r.id) ?? [];
    return rows;
  }

  /** Replace the parent's child rows by the given names (only when the input names them). */
  async function syncNameList(c: pg.PoolClient, schema: EntitySchema, parentId: string, names: unknown, ctx: WriteContext, changes: PendingChange[]): Promise<void> {
    const nl = NAME_LISTS[schema.name];
    if (!nl || names === undefined) return;
    if (names === null) names = []; // an explicit null (form: empty value) clears the list
    if (!Array.isArray(names)) return;
    const child = schemaOf(nl.child);
    const fkCol = q(column(child, nl.fk).name);
    const taken = await c.query(
      `SELECT ${q(nl.key)} AS key, ${fkCol} AS parent FROM ${q(child.name)} WHERE ${q(nl.key)} = ANY($1::text[]) AND ${fkCol} <> $2`,
      [names, parentId],
    );
    if (taken.rows[0])
      throw schemaViolation({ [nl.field]: `${taken.rows[0].key} already associated with existing certificate '${taken.rows[0].parent}'` });
    const existing = await c.query(`SELECT ${q('id')}, ${q(nl.key)} AS key FROM ${q(child.name)} WHERE ${fkCol} = $1 FOR UPDATE`, [parentId]);
    const keep = new Set(names as string[]);
    const gone = existing.rows.filter((r) => !keep.has(r.key));
    if (gone.length) {
      await c.query(`DELETE FROM ${q(child.name)} WHERE ${q('id')} = ANY($1::uuid[])`, [gone.map((r) => r.id)]);
      for (const r of gone) changes.push({ entity: child.name, id: r.id, op: 'delete' });
    }
    const have = new Set(existing.rows.map((r) => r.key));
    for (const name of new Set(names as string[])) {
      if (have.has(name)) continue;
      const row = prepareInsert(child, { [nl.key]: name, [nl.fk]: { id: parentId } });
      const stored = await insertRow(c, child, row, ctx);
      changes.push({ entity: child.name, id: stored.id, op: 'create' });
    }
  }

  // ---- deletes --------------------------------------------------------------------------------

  /** Children deleted (or nulled) with the parents, recursively; restricting children → code 4. */
  async function collectDependents(c: pg.PoolClient, parent: EntitySchema, ids: string[], changes: PendingChange[]): Promise<void> {
    if (ids.length === 0) return;
    for (const child of ENTITIES) {
      for (const col of columnsOf(child)) {
        if (col.kind !== 'foreign' || col.def.reference !== parent.name) continue;
        const rule = col.def.on_delete ?? 'cascade';
        if (rule === 'restrict') {
          const r = await c.query(`SELECT 1 FROM ${q(child.name)} WHERE ${q(col.name)} = ANY($1::uuid[]) LIMIT 1`, [ids]);
          if (r.rows.length) throw foreignKeyRestricted(parent.name, child.name);
          continue;
        }
        const r = await c.query<{ id: string }>(
          `SELECT ${q('id')} FROM ${q(child.name)} WHERE ${q(col.name)} = ANY($1::uuid[]) FOR UPDATE`,
          [ids],
        );
        const childIds = r.rows.map((x) => x.id);
        for (const id of childIds) changes.push({ entity: child.name, id, op: rule === 'null' ? 'update' : 'delete' });
        if (rule === 'cascade') await collectDependents(c, child, childIds, changes);
      }
    }
  }

  // ---- the Dao --------------------------------------------------------------------------------

  async function page(entity: string, opts: PageOptions = {}): Promise<Page> {
    const schema = schemaOf(entity);
    const size = opts.size ?? 100;
    const w = new Where().filter(schema, opts.filter);
    if (opts.liveOnly) w.live(schema);
    if (opts.tags?.length) w.add((p) => `${q('tags')} ${opts.tagsMode === 'or' ? '&&' : '@>'} ${p}::text[]`, opts.tags);
    if (opts.offset) {
      // Kong on PostgreSQL pages by primary key; [created_at, id] is the key of offsets we handed out before
      const key = decodeOffset(opts.offset, (k) => (k.length === 1 && isUuid(k[0])) || (k.length === 2 && typeof k[0] === 'number' && isUuid(k[1])));
      w.add((p) => `${q('id')} > ${p}::uuid`, key[key.length - 1]);
    }
    return read(async () => {
      const res = await pool.query(`SELECT * FROM ${q(schema.name)}${w.sql()} ORDER BY ${q('id')} LIMIT ${size + 1}`, w.params);
      const more = res.rows.length > size;
      const data = res.rows.slice(0, size).map((r) => fromSql(schema, r));
      await attachNameLists(pool, schema, data);
      const last = data[data.length - 1];
      return { data, offset: more ? encodeOffset([last.id]) : null };
    });
  }

  async function select(entity: string, idOrKey: string, filter?: Record<string, string>): Promise<Row | null> {
    const schema = schemaOf(entity);
    return read(async () => {
      const row = await findRow(pool, schema, idOrKey, filter);
      return row ? (await attachNameLists(pool, schema, [row]))[0] : null;
    });
  }

  async function insert(entity: string, input: Row): Promise<Row> {
    const schema = schemaOf(entity);
    return write(async (c, ctx, changes) => {
      const row = prepareInsert(schema, await resolveForeign(c, schema, input));
      const stored = await insertRow(c, schema, row, ctx);
      changes.push({ entity: schema.name, id: stored.id, op: 'create' });
      await syncNameList(c, schema, stored.id, row[NAME_LISTS[schema.name]?.field], ctx, changes);
      return echo(c, schema, stored, row);
    });
  }

  /** The stored row plus what the caller sent in transient fields (ttl) and the name lists. */
  async function echo(c: pg.PoolClient, schema: EntitySchema, stored: Row, written: Row): Promise<Row> {
    for (const [name, f] of Object.entries(schema.fields)) if (f.transient && written[name] !== undefined) stored[name] = written[name];
    return (await attachNameLists(c, schema, [stored]))[0];
  }

  async function update(entity: string, idOrKey: string, patch: Row, filter?: Record<string, string>): Promise<Row | null> {
    const schema = schemaOf(entity);
    return write(async (c, ctx, changes) => {
      const existing = await findRow(c, schema, idOrKey, filter, true);
      if (!existing) return null;
      const row = prepareUpdate(schema, existing, await resolveForeign(c, schema, patch));
      const stored = await updateRow(c, schema, row, ctx);
      changes.push({ entity: schema.name, id: stored.id, op: 'update' });
      await syncNameList(c, schema, stored.id, patch[NAME_LISTS[schema.name]?.field], ctx, changes);
      return echo(c, schema, stored, row);
    });
  }

  async function upsert(entity: string, idOrKey: string, input: Row, filter?: Record<string, string>): Promise<Row> {
    const schema = schemaOf(entity);
    const attempt = () =>
      write(async (c, ctx, changes) => {
        const existing = await findRow(c, schema, idOrKey, undefined, true);
        if (existing && filter && !(await findRow(c, schema, existing.id, filter))) throw notFound();
        const body: Row = { ...input };
        if (!isUuid(idOrKey) && schema.endpoint_key) body[schema.endpoint_key] = idOrKey;
        for (const [field, value] of Object.entries(filter ?? {})) {
          if (body[field] !== undefined) continue;
          body[field] = column(schema, field).kind === 'foreign' ? { id: value } : value;
        }
        const id = existing?.id ?? (isUuid(idOrKey) ? idOrKey.toLowerCase() : randomUUID());
        const row = prepareUpsert(schema, existing, await resolveForeign(c, schema, body), id);
        const stored = existing ? await updateRow(c, schema, row, ctx) : await insertRow(c, schema, row, ctx);
        changes.push({ entity: schema.name, id: stored.id, op: existing ? 'update' : 'create' });
        await syncNameList(c, schema, stored.id, input[NAME_LISTS[schema.name]?.field], ctx, changes);
        return echo(c, schema, stored, row);
      });
    try {
      return await attempt();
    } catch (err) {
      // two PUTs creating the same key at once: the loser retries once and becomes an update
      if (err instanceof HttpError && (err.body.code === 3 || err.body.code === 5)) return attempt();
      throw err;
    }
  }

  async function remove(entity: string, idOrKey: string, filter?: Record<string, string>): Promise<boolean> {
    const schema = schemaOf(entity);
    return write(async (c, ctx, changes) => {
      // FOR UPDATE: a concurrent child insert waits for us, then fails its foreign key check
      const existing = await findRow(c, schema, idOrKey, filter, true);
      if (!existing) return false;
      ctx.schema = schema;
      changes.push({ entity: schema.name, id: existing.id, op: 'delete' });
      await collectDependents(c, schema, [existing.id], changes);
      await c.query(`DELETE FROM ${q(schema.name)} WHERE ${q('id')} = $1`, [existing.id]);
      return true;
    });
  }

  /** Deletes the rows whose ttl has passed (Kong's ttl cleanup), as deletes the data planes receive. */
  async function purgeExpired(): Promise<number> {
    let purged = 0;
    for (const schema of ENTITIES) {
      if (!schema.ttl) continue;
      purged += await write(async (c, _ctx, changes) => {
        const res = await c.query<{ id: string }>(
          `DELETE FROM ${q(schema.name)} WHERE ${q('expires_at')} <= ${NOW_SECONDS} RETURNING ${q('id')}`,
        );
        for (const r of res.rows) changes.push({ entity: schema.name, id: r.id, op: 'delete' });
        return res.rows.length;
      });
    }
    return purged;
  }

  async function tagged(tag: string | null, opts: PageOptions = {}): Promise<Page> {
    const size = opts.size ?? 100;
    const w = new Where();
    // with a tag, each table is narrowed through its GIN index first
    let narrow: string | null = null;
    if (tag !== null) {
      w.add((p) => `tag = ${p}`, tag);
      narrow = `${q('tags')} @> ARRAY[$1::text]`;
    }
    const union = ENTITIES.filter((s) => columnsOf(s).some((c) => c.kind === 'tags'))
      .map((s) => {
        const conds = [narrow, s.ttl ? NOT_EXPIRED : null].filter((c) => c !== null);
        const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
        return `SELECT '${s.name}'::text AS entity_name, ${q('id')} AS entity_id, unnest(${q('tags')}) AS tag FROM ${q(s.name)}${where}`;
      })
      .join(' UNION ALL ');
    if (opts.offset) {
      const key = decodeOffset(opts.offset, (k) => k.length === 3 && typeof k[0] === 'string' && isUuid(k[1]) && typeof k[2] === 'string');
      w.params.push(...key);
      const n = w.params.length;
      w.raw(`(entity_name, entity_id, tag) > ($${n - 2}::text, $${n - 1}::uuid, $${n}::text)`);
    }
    return read(async () => {
      const res = await pool.query(
        `SELECT entity_name, entity_id, tag FROM (${union}) t${w.sql()} ORDER BY entity_name, entity_id, tag LIMIT ${size + 1}`,
        w.params,
      );
      const more = res.rows.length > size;
      const data = res.rows.slice(0, size);
      const last = data[data.length - 1];
      return { data, offset: more ? encodeOffset([last.entity_name, last.entity_id, last.tag]) : null };
    });
  }

  async function configVersion(): Promise<number> {
    return read(async () => {
      const res = await pool.query('SELECT COALESCE(MAX(version), 0) AS v FROM config_changes');
      return Number(res.rows[0].v);
    });
  }

  async function changesSince(version: number, limit = 1000): Promise<Change[]> {
    return read(async () => {
      const res = await pool.query(
        'SELECT version, entity, entity_id, op FROM config_changes WHERE version > $1 ORDER BY version LIMIT $2',
        [version, limit],
      );
      return res.rows.map((r) => ({ version: Number(r.version), entity: r.entity, id: r.entity_id, op: r.op }));
    });
  }

  async function exportSnapshot(): Promise<Snapshot> {
    try {
      return await tx(async (c) => {
        const s: any = {};
        for (const name of SNAPSHOT_ENTITIES) {
          const schema = schemaOf(name);
          const order = hasCreatedAt(schema) ? `${q('created_at')}, ${q('id')}` : q('id');
          const res = await c.query(`SELECT * FROM ${q(name)} ORDER BY ${order}`);
          s[name] = res.rows.map((r) => fromSql(schema, r));
        }
        const v = await c.query('SELECT COALESCE(MAX(version), 0) AS v FROM config_changes');
        s.version = Number(v.rows[0].v);
        s.hash = snapshotHash(s);
        return s as Snapshot;
      }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (err) {
      throw dbError(err);
    }
  }

  async function ping(): Promise<boolean> {
    try {
      await pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  // ---- LISTEN ---------------------------------------------------------------------------------

  let listenClient: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryDelay = options.listenRetryMinMs ?? 250;
  let listening = false;

  function scheduleListen(): void {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void listen();
    }, retryDelay);
    retryTimer.unref?.();
    retryDelay = Math.min(retryDelay * 2, options.listenRetryMaxMs ?? 5000);
  }

  async function listen(): Promise<void> {
    if (closed) return;
    const client = new pg.Client(pool.options);
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (listenClient === client) listenClient = null;
      client.end().catch(() => undefined);
      if (!closed) {
        log.warn({ err: err?.message }, 'config change listener disconnected; reconnecting');
        scheduleListen();
      }
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel === CONFIG_CHANNEL) fire(Number(msg.payload));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
      const res = await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM config_changes');
      if (closed || lost) {
        onLost();
        return;
      }
      listenClient = client;
      retryDelay = options.listenRetryMinMs ?? 250;
      const current = Number(res.rows[0].v);
      // first connection: a baseline; after an outage: whatever was missed meanwhile
      if (listening) fire(current);
      else lastVersion = Math.max(lastVersion, current);
      listening = true;
    } catch (err) {
      onLost(err as Error);
    }
  }

  const ready = listen();

  return {
    page,
    select,
    insert,
    update,
    upsert,
    delete: remove,
    purgeExpired,
    tagged,
    configVersion,
    changesSince,
    exportSnapshot,
    ping,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await ready.catch(() => undefined);
      const c = listenClient;
      listenClient = null;
      if (c) await c.end().catch(() => undefined);
      listeners.clear();
    },
  };
}
