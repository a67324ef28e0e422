// Compiling a declarative file (Kong's DB-less format) into a normalized snapshot: every entity
// exactly as the Admin API would return it, with deterministic ids so a reload of the same file
// gives the same snapshot hash.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { ERR, KongError, prettyLua } from '../../shared/errors.js';
import { ENTITIES, entityByName } from '../../shared/schema/entities/index.js';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import type { EntitySchema, ErrorTree } from '../../shared/schema/types.js';
import { UUID_RE, isPlainObject } from '../../shared/schema/validate.js';
import { SNAPSHOT_ENTITIES, canonicalJson, snapshotHash, type Row, type Snapshot } from '../../shared/snapshot.js';
import { ErrorCollector, type ErrorOwner, type PathSegment } from './errors.js';
import { DEFAULT_WORKSPACE_ID, derivedKey32, entityUuid, uuidV5 } from './ids.js';
import { migrateToLatest } from './migrate.js';

export const FORMAT_VERSIONS = ['1.1', '2.1', '3.0'] as const;

export interface ParseOptions {
  /** Shown in parse errors. */
  filename?: string;
  /**
   * created_at/updated_at (seconds) for entities that do not carry them. Default 0: a file has no
   * creation time of its own, and a fixed value keeps the hash equal across reloads.
   */
  timestamp?: number;
}

/** Top-level keys that are not entity collections. */
const META_KEYS: Record<string, 'string' | 'boolean' | 'array'> = {
  _format_version: 'string',
  _transform: 'boolean',
  _comment: 'string',
  _workspace: 'string',
  _ignore: 'array',
};

/** Keys any entity record may carry and that are not stored. */
const RECORD_META = new Set(['_comment', '_ignore']);

interface Child {
  schema: EntitySchema;
  /** The child's foreign field pointing at the parent (routes.service). */
  field: string;
}

/** Nested collections per entity, from the schemas: every entity with a foreign key to X nests under X. */
const CHILDREN: ReadonlyMap<string, ReadonlyMap<string, Child>> = (() => {
  const m = new Map<string, Map<string, Child>>();
  for (const parent of ENTITIES) {
    const kids = new Map<string, Child>();
    for (const child of ENTITIES) {
      for (const [field, f] of Object.entries(child.fields)) {
        if (f.type !== 'foreign' || f.reference !== parent.name) continue;
        // a real (stored) field of the parent with the same name wins over nesting
        const own = parent.fields[child.name];
        if (own && !own.transient) continue;
        kids.set(child.name, { schema: child, field });
      }
    }
    m.set(parent.name, kids);
  }
  return m;
})();

const FOREIGN_FIELDS = new Map<string, [string, string][]>(
  ENTITIES.map((e) => [e.name, Object.entries(e.fields).filter(([, f]) => f.type === 'foreign').map(([n, f]) => [n, f.reference!])]),
);

/** [field, referenced entity] for each foreign key of the entity. */
function foreignFields(schema: EntitySchema): [string, string][] {
  return FOREIGN_FIELDS.get(schema.name)!;
}

/** The key other entries may use to reference this entity by name (services.name, consumers.username). */
function referenceKey(schema: EntitySchema): string | undefined {
  const k = schema.endpoint_key;
  return k && schema.fields[k]?.unique ? k : undefined;
}

interface Item {
  schema: EntitySchema;
  path: PathSegment[];
  /** File order (pre-order), used to report errors in reading order. */
  seq: number;
  /** The entry as written, without nested children (reported back in flattened errors). */
  raw: Row;
  /** What is validated: raw minus nested collections and _comment/_ignore. */
  input: Row;
  parent?: { field: string; item: Item };
  id?: string;
  failed?: boolean;
}

class Compiler {
  readonly errors = new ErrorCollector();
  private readonly items = new Map<string, Item[]>(SNAPSHOT_ENTITIES.map((e) => [e, []]));
  private readonly byId = new Map<string, Map<string, Item>>(SNAPSHOT_ENTITIES.map((e) => [e, new Map()]));
  private readonly byKey = new Map<string, Map<string, Item>>(SNAPSHOT_ENTITIES.map((e) => [e, new Map()]));
  private readonly contentIds = new Map<string, number>();
  private readonly rows = new Map<string, Row[]>(SNAPSHOT_ENTITIES.map((e) => [e, []]));
  private seq = 0;
  private transform = true;
  private readonly nowMs: number;
  private readonly docDigest: string;

  constructor(
    private readonly doc: Record<string, any>,
    opts: ParseOptions,
  ) {
    this.nowMs = (opts.timestamp ?? 0) * 1000;
    // seeds generated credential keys; the same document always serializes the same way
    this.docDigest = createHash('sha256').update(JSON.stringify(doc)).digest('hex');
  }

  compile(): Snapshot {
    this.checkTopLevel();
    // collected in the file's order (errors are reported in reading order), built in dependency order
    for (const name of Object.keys(this.doc)) {
      if ((SNAPSHOT_ENTITIES as readonly string[]).includes(name)) this.collect(entityByName.get(name)!, this.doc[name], [name]);
    }
    for (const name of SNAPSHOT_ENTITIES) for (const item of this.items.get(name)!) this.build(item);
    this.checkUniqueFields();
    if (!this.errors.empty) throw this.errors.toError();
    const s: any = { version: 0 };
    for (const name of SNAPSHOT_ENTITIES) s[name] = this.rows.get(name);
    s.hash = snapshotHash(s);
    return s as Snapshot;
  }

  private checkTopLevel(): void {
    const d = this.doc;
    for (const [k, v] of Object.entries(d)) {
      const meta = META_KEYS[k];
      if (meta) {
        const ok = meta === 'array' ? Array.isArray(v) : typeof v === meta;
        if (!ok) this.errors.addField([], k, `expected ${meta === 'array' ? 'an' : 'a'} ${meta}`);
      } else if (!(SNAPSHOT_ENTITIES as readonly string[]).includes(k)) {
        this.errors.addField([], k, 'unknown field');
      }
    }
    const v = d._format_version;
    if (v === undefined || v === null) this.errors.addField([], '_format_version', 'required field missing');
    else if (typeof v === 'string' && !(FORMAT_VERSIONS as readonly string[]).includes(v))
      this.errors.addField([], '_format_version', `expected one of: ${FORMAT_VERSIONS.join(', ')}`);
    if (d._transform === false) this.transform = false;
    migrateToLatest(d);
  }

  /** Walks a collection (top-level or nested), registering every entry in file order. */
  private collect(schema: EntitySchema, list: unknown, path: PathSegment[], parent?: { field: string; item: Item }): void {
    if (list === null) return; // `routes:` with nothing under it
    if (!Array.isArray(list)) {
      if (parent) this.errors.addField(path.slice(0, -1), String(path[path.length - 1]), 'expected an array', this.owner(parent.item));
      else this.errors.addField([], String(path[0]), 'expected an array');
      return;
    }
    const kids = CHILDREN.get(schema.name)!;
    list.forEach((entry, i) => {
      const p = [...path, i];
      // certificates may list their SNIs as plain names
      if (schema.name === 'snis' && typeof entry === 'string') entry = { name: entry };
      if (!isPlainObject(entry)) {
        this.errors.addTree(p, 'expected a record');
        return;
      }
      const input: Row = {};
      const nested: [string, unknown][] = [];
      for (const [k, v] of Object.entries(entry)) {
        if (RECORD_META.has(k)) continue;
        if (kids.has(k)) nested.push([k, v]);
        else input[k] = v;
      }
      const raw: Row = { ...input };
      const item: Item = { schema, path: p, seq: this.seq++, raw, input, parent };
      this.items.get(schema.name)!.push(item);
      for (const [k, v] of nested) {
        const child = kids.get(k)!;
        this.collect(child.schema, v, [...p, k], { field: child.field, item });
      }
    });
  }

  private owner(item: Item): ErrorOwner {
    return {
      entity: item.schema.name,
      path: item.path,
      seq: item.seq,
      raw: item.raw,
      get id() {
        return item.id; // assigned after references are resolved; read when the error is built
      },
    };
  }

  /** Resolves references, assigns the id, checks keys, validates and normalizes one entry. */
  private build(item: Item): void {
    const { schema, input } = item;
    const owner = () => this.owner(item);
    const fks: Record<string, string | null> = {};
    let unresolved = false;
    for (const [field, ref] of foreignFields(schema)) {
      if (item.parent?.field === field) {
        // parents are built before their children (dependency order), so the id is known
        fks[field] = item.parent.item.id!;
        continue;
      }
      const v = input[field];
      if (v === undefined || v === null) continue;
      const found = this.resolve(ref, v);
      if (found) fks[field] = found.id!;
      else {
        unresolved = true;
        const shown = typeof v === 'string' ? v : JSON.stringify(v);
        this.errors.addField(item.path, field, `invalid reference '${field}: ${shown}' (no such entry in '${ref}')`, owner());
      }
    }

    item.id = this.idFor(item, fks);
    if (!this.register(item, fks)) item.failed = true;

    // a malformed id in the file stays in the row so validation reports it
    const badId = input.id !== undefined && input.id !== null && !(typeof input.id === 'string' && UUID_RE.test(input.id));
    const row: Row = { ...input, id: badId ? input.id : item.id };
    for (const [field] of foreignFields(schema)) {
      if (field in fks) row[field] = { id: fks[field] };
      // an unresolved reference is reported already; keep validation quiet about it
      else if (row[field] !== undefined && row[field] !== null) row[field] = { id: '00000000-0000-0000-0000-000000000000' };
    }
    for (const [name, f] of Object.entries(schema.fields)) {
      if (f.generate && (row[name] === undefined || row[name] === null)) {
        row[name] =
          f.generate === 'uuid'
            ? uuidV5(item.id, `${this.docDigest}:${name}`)
            : derivedKey32(`${this.docDigest}:${schema.name}:${item.id}:${name}`);
      }
    }
    if (schema.name === 'certificates') delete row.snis; // nested SNIs become snis rows
    let prepared: Row;
    try {
      const target = this.transform || schema.name !== 'basicauth_credentials' ? schema : { ...schema, transform: undefined };
      prepared = prepareInsert(target, row, this.nowMs);
    } catch (e) {
      if (e instanceof KongError && e.code === ERR.SCHEMA_VIOLATION && e.body.fields) {
        this.errors.addTree(item.path, e.body.fields as ErrorTree, owner());
      } else {
        this.errors.addEntity(item.path, (e as Error).message, owner());
      }
      item.failed = true;
      return;
    }
    if (typeof input.updated_at === 'number') prepared.updated_at = input.updated_at;
    if (unresolved || item.failed) return;
    this.rows.get(schema.name)!.push(present(schema, prepared));
  }

  private resolve(entity: string, v: unknown): Item | undefined {
    const ids = this.byId.get(entity)!;
    const keys = this.byKey.get(entity)!;
    if (typeof v === 'string') return keys.get(v) ?? ids.get(v.toLowerCase());
    if (isPlainObject(v)) {
      if (typeof v.id === 'string') return ids.get(v.id.toLowerCase());
      const k = referenceKey(entityByName.get(entity)!);
      if (k && typeof v[k] === 'string' && Object.keys(v).length === 1) return keys.get(v[k]);
    }
    return undefined;
  }

  /**
   * Deterministic ids, Kong-style: uuid v5 of the cache key for plugins, acls, targets and
   * basic-auth; of the endpoint key when it is unique (services, routes, consumers, upstreams,
   * snis by name; key-auth and jwt by key); otherwise of the entry's content with its resolved
   * references (identical entries are numbered in file order).
   */
  private idFor(item: Item, fks: Record<string, string | null>): string {
    const { schema, input } = item;
    if (typeof input.id === 'string' && UUID_RE.test(input.id)) return input.id.toLowerCase();
    const name = schema.name;
    // Kong's cache keys come first (entity:workspace:fields…), then the unique endpoint key
    const ws = DEFAULT_WORKSPACE_ID;
    if (name === 'plugins' && typeof input.name === 'string')
      return entityUuid(name, `plugins:${ws}:${input.name}:${fks.route ?? ''}:${fks.service ?? ''}:${fks.consumer ?? ''}`);
    if (name === 'acls' && typeof input.group === 'string' && fks.consumer) return entityUuid(name, `acls:${ws}:${fks.consumer}:${input.group}`);
    if (name === 'targets' && typeof input.target === 'string' && fks.upstream) return entityUuid(name, `targets:${ws}:${fks.upstream}:${input.target}`);
    if (name === 'basicauth_credentials' && typeof input.username === 'string') return entityUuid(name, `basicauth_credentials:${ws}:${input.username}`);
    const rk = referenceKey(schema);
    if (rk && typeof input[rk] === 'string') return entityUuid(name, input[rk]);
    const content: Row = { ...input };
    delete content.id;
    for (const [f, id] of Object.entries(fks)) content[f] = id;
    const key = canonicalJson(content);
    // identical entries get distinct ids, numbered in file order
    const n = (this.contentIds.get(`${name}\n${key}`) ?? 0) + 1;
    this.contentIds.set(`${name}\n${key}`, n);
    return entityUuid(name, n === 1 ? key : `${key}#${n}`);
  }

  /** Indexes the entry by id and name; false when either is already declared. */
  private register(item: Item, fks: Record<string, string | null>): boolean {
    const { schema, input } = item;
    const owner = this.owner(item);
    const rk = referenceKey(schema);
    if (rk && typeof input[rk] === 'string') {
      const keys = this.byKey.get(schema.name)!;
      if (keys.has(input[rk])) {
        this.errors.addEntity(item.path, uniqueness(schema.name, rk, input[rk]), owner);
        return false;
      }
      keys.set(input[rk], item);
    }
    if (schema.name === 'plugins' && typeof input.name === 'string') {
      const scope = { name: input.name, route: scopeRef(fks.route), service: scopeRef(fks.service), consumer: scopeRef(fks.consumer) };
      const k = prettyLua(scope);
      const scopes = (this.pluginScopes ??= new Set());
      if (scopes.has(k)) {
        this.errors.addEntity(item.path, `uniqueness violation: 'plugins' entity with (name, route, service, consumer) set to '${k}' already declared`, owner);
        return false;
      }
      scopes.add(k);
    }
    const ids = this.byId.get(schema.name)!;
    if (ids.has(item.id!)) {
      this.errors.addEntity(item.path, uniqueness(schema.name, 'primary key', item.id!), owner);
      return false;
    }
    ids.set(item.id!, item);
    return true;
  }

  private pluginScopes?: Set<string>;

  /** Unique fields other than the reference key (consumers.custom_id, ca_certificates.cert_digest). */
  private checkUniqueFields(): void {
    for (const schema of ENTITIES) {
      const rk = referenceKey(schema);
      const fields = Object.entries(schema.fields).filter(([n, f]) => f.unique && n !== rk && !f.auto);
      if (!fields.length) continue;
      const rows = this.rows.get(schema.name)!;
      const items = new Map(this.items.get(schema.name)!.map((i) => [i.id, i]));
      const keep: Row[] = [];
      const seen = new Map<string, Set<string>>(fields.map(([n]) => [n, new Set()]));
      for (const row of rows) {
        let ok = true;
        for (const [n] of fields) {
          const v = row[n];
          if (v === null || v === undefined) continue;
          const k = typeof v === 'string' ? v : canonicalJson(v);
          if (seen.get(n)!.has(k)) {
            const item = items.get(row.id)!;
            this.errors.addEntity(item.path, uniqueness(schema.name, n, k), this.owner(item));
            ok = false;
          } else seen.get(n)!.add(k);
        }
        if (ok) keep.push(row);
      }
      this.rows.set(schema.name, keep);
    }
  }
}

function scopeRef(id: string | null | undefined): { id: string } | null {
  return id ? { id } : null;
}

function uniqueness(entity: string, key: string, value: string): string {
  return `uniqueness violation: '${entity}' entity with ${key} set to '${value}' already declared`;
}

function parseError(message: string): KongError {
  return new KongError(ERR.DECLARATIVE_CONFIG, `failed parsing declarative configuration: ${message}`, {});
}

const withoutTimestamps = (tags: YAML.Tags): YAML.Tags =>
  tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp');

/** Parses YAML or JSON text into a plain object (no validation yet). */
export function parseDeclarativeText(text: string, opts: ParseOptions = {}): Record<string, any> {
  const where = opts.filename ? `${opts.filename}: ` : '';
  let doc: unknown;
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined; // YAML flow syntax is a superset; let the YAML parser report
    }
  }
  if (doc === undefined) {
    try {
      // Kong reads files with libyaml (YAML 1.1): yes/no/on/off are booleans, `<<` merge keys work;
      // dates stay strings (a tag such as 2024-01-01 is not a timestamp)
      doc = YAML.parse(text, { version: '1.1', prettyErrors: true, maxAliasCount: 1000, customTags: withoutTimestamps });
    } catch (e) {
      throw parseError(`${where}${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!isPlainObject(doc)) throw parseError(`${where}expected an object`);
  return doc;
}

/** Validates and normalizes an already parsed declarative document (e.g. a POST /config JSON body). */
export function compileDeclarative(doc: Record<string, any>, opts: ParseOptions = {}): Snapshot {
  return new Compiler(structuredClone(doc), opts).compile();
}

/**
 * YAML or JSON declarative configuration → normalized snapshot (version 0).
 * Throws a KongError code 14 (`DeclarativeConfigError`, with every problem) when invalid.
 */
export function parseDeclarative(text: string, opts: ParseOptions = {}): Snapshot {
  return compileDeclarative(parseDeclarativeText(text, opts), opts);
}
