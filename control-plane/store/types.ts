// The store's contract with the Admin API and the sync server. Entities are named by table
// (services, routes, jwt_secrets, ...); rows come back as the Admin API shows them
// (every field present, unset ones null, foreign keys as {"id": ...}).
import type { Row, Snapshot } from '../../shared/snapshot.js';

export interface PageOptions {
  /** 1..1000, default 100 (validated by the caller). */
  size?: number;
  /** Opaque offset from a previous page (invalid → KongError code 7). */
  offset?: string | null;
  tags?: string[];
  /** 'and' for `tags=a,b`, 'or' for `tags=a/b`. */
  tagsMode?: 'and' | 'or';
  /** Equality filters on stored fields; foreign keys by id: { service: '<uuid>' }, { custom_id: 'x' }. */
  filter?: Record<string, string | null>;
  /** Leave out rows whose ttl has passed (what the Admin API lists). */
  liveOnly?: boolean;
}

export interface Page {
  data: Row[];
  /** Offset of the next page, null on the last page. */
  offset: string | null;
}

export interface Change {
  version: number;
  entity: string;
  id: string;
  op: 'create' | 'update' | 'delete';
}

export interface Dao {
  page(entity: string, opts?: PageOptions): Promise<Page>;
  /** By uuid or, when not a uuid, by the schema's endpoint_key. `filter` restricts to a parent (nested endpoints). */
  select(entity: string, idOrKey: string, filter?: Record<string, string>): Promise<Row | null>;
  /**
   * Validate (shared schema engine) and insert. Foreign keys may be {id} or any unique field ({name: 'x'}),
   * resolved here. Throws KongError: schema violation (400), foreign key violation (400), unique violation (409).
   */
  insert(entity: string, input: Row): Promise<Row>;
  /** PATCH. Returns null when absent (caller answers 404). */
  update(entity: string, idOrKey: string, patch: Row, filter?: Record<string, string>): Promise<Row | null>;
  /** PUT: create or replace; a non-uuid key becomes the endpoint_key value of a new row. */
  upsert(entity: string, idOrKey: string, input: Row, filter?: Record<string, string>): Promise<Row>;
  /** Returns false when absent. Throws KongError code 4 when restricted (a service still referenced by routes). */
  delete(entity: string, idOrKey: string, filter?: Record<string, string>): Promise<boolean>;
  /** Rows tagged with `tag` across all entities: { entity_name, entity_id, tag }. */
  tagged(tag: string | null, opts?: PageOptions): Promise<Page>;
  /** Current config version (last change-log version, 0 when none). */
  configVersion(): Promise<number>;
  /** Change-log rows with version > `version`, ascending. */
  changesSince(version: number, limit?: number): Promise<Change[]>;
  /** The whole config at one consistent point (REPEATABLE READ), with its version and hash. */
  exportSnapshot(): Promise<Snapshot>;
  /** Deletes rows whose ttl has passed (with their change-log entries); returns how many. */
  purgeExpired(): Promise<number>;
  /** true when the database answers. */
  ping(): Promise<boolean>;
  /** Called with the new version after any change is committed (this process or another CP via LISTEN/NOTIFY). */
  onChange(listener: (version: number) => void): () => void;
  close(): Promise<void>;
}
