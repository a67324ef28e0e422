// The declarative schema language. One declaration per entity and per plugin drives
// validation (with Kong's messages), defaults, form decoding, SQL columns and the snapshot.

export type FieldType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'array'
  | 'set'
  | 'map'
  | 'record'
  | 'foreign'
  | 'json';

/** A validator returns an error message, or undefined when the value is fine. */
export type Check = (value: any) => string | undefined;

export interface Field {
  type: FieldType;
  required?: boolean;
  default?: unknown;
  /** Filled by the store: uuid for `id`, timestamps for created_at/updated_at. */
  auto?: boolean;
  unique?: boolean;
  /** Accepted on input but not stored (e.g. certificates.snis). */
  transient?: boolean;
  /** Stored and synced, but neither accepted from nor shown to Admin API clients (key-auth expires_at). */
  internal?: boolean;
  /** Never returned by the Admin API, e.g. basic-auth plaintext passwords once hashed. */
  uuid?: boolean;
  /** created_at/updated_at in seconds, targets in milliseconds. */
  timestamp?: 'seconds' | 'ms';
  one_of?: readonly unknown[];
  between?: readonly [number, number];
  gt?: number;
  len_min?: number;
  len_max?: number;
  starts_with?: string;
  match?: RegExp;
  match_message?: string;
  custom?: Check;
  elements?: Field;
  keys?: Field;
  values?: Field;
  fields?: Fields;
  /** record: the fields depend on the parent entity (plugin config by plugin name). */
  dynamic?: (parent: Record<string, any>) => Fields | undefined;
  /** record: checks across its fields (plugin configs). */
  entity_checks?: EntityCheck[];
  dynamic_checks?: (parent: Record<string, any>) => EntityCheck[] | undefined;
  /** A default that depends on the rest of the entity (plugin protocols by plugin name). */
  default_fn?: (parent: Record<string, any>) => unknown;
  reference?: string;
  on_delete?: 'cascade' | 'restrict' | 'null';
  /** Hide in secrets-redacted output (logs, GET / configuration). */
  secret?: boolean;
  /** Secret fields that are generated if missing (credential keys). */
  generate?: 'key32' | 'uuid';
  /** Accepted only when the entity's `mutable` check allows (immutable after insert). */
  immutable?: boolean;
  /** Any non-null value is refused with this message, before other checks (Kong's `eq = null` with `err`). */
  forbidden?: string;
  description?: string;
}

export type Fields = Record<string, Field>;

export type EntityCheck =
  | { at_least_one_of: string[] }
  | { only_one_of: string[] }
  | { mutually_required: string[] }
  | { mutually_exclusive: string[] }
  | { distinct: string[] }
  | {
      conditional: {
        if_field: string;
        if_match: (v: any) => boolean;
        then_field: string;
        then_match: (v: any) => string | undefined;
        /** Report the error on the entity (true) or on then_field (default). */
        on_entity?: boolean;
      };
    }
  | {
      custom: (entity: Record<string, any>) => EntityError | EntityError[] | undefined;
      fields?: string[];
      /** Run even when fields already have errors (Kong's run_with_invalid_fields). */
      always?: boolean;
    };

/**
 * A custom entity check may report on the entity or on one field (a message, or an error tree
 * for a record field such as a plugin's config); several at once as an array.
 */
export type EntityError = string | { field: string; message: string | ErrorTree } | (string | { field: string; message: string | ErrorTree })[];

/** Fields and checks that specialize an entity by the value of one field (Kong's subschemas). */
export interface Subschema {
  /** Replace the entity's field of the same name when validating. */
  fields?: Fields;
  /** Run after the entity's own checks. */
  entity_checks?: EntityCheck[];
}

export interface EntitySchema {
  /** Table and Admin API collection name, e.g. "services". */
  name: string;
  /** Admin API path segment when it differs from the table (jwt_secrets → jwts). */
  admin_name?: string;
  /** Nested admin name under its parent (consumers/{c}/jwt). */
  nested_name?: string;
  primary_key: string[];
  /** A non-uuid path segment is looked up by this field. */
  endpoint_key?: string;
  fields: Fields;
  entity_checks?: EntityCheck[];
  /** The field whose value (a string, or the first member of a set that has one) picks a subschema. */
  subschema_key?: string;
  subschemas?: Record<string, Subschema>;
  /** Input-only fields turned into real fields before validation (service.url). */
  shorthands?: Record<string, (value: any, input: Record<string, any>) => Record<string, any> | string>;
  /** Unique together, e.g. plugins (name, route, service, consumer). */
  unique_across?: string[];
  /** Run after validation on insert/update, before storing (basic-auth password hashing). */
  transform?: (entity: Record<string, any>, op: 'insert' | 'update') => Record<string, any>;
  /** No top-level Admin API collection (targets are only under /upstreams/{u}/targets). */
  no_top_level_admin?: boolean;
  /** Endpoints reachable from an entity to a foreign entity are disabled (snis → certificate). */
  no_foreign_endpoint?: boolean;
  /** Credentials and similar: TTL support. */
  ttl?: boolean;
  /** Which ops are done after deleting this parent: used by the DAO for cascade rules. */
  cache_key?: string[];
}

export type ErrorTree = { [k: string]: string | string[] | ErrorTree | (string | ErrorTree | null)[] };
