// How an entity schema maps onto SQL: table and column names, column types, constraint names.
// The DAO reads/writes rows through this mapping; the first migration's DDL was generated from it
// (and then frozen), so a schema change must come with a new migration (test/store/migrations
// checks that the migrated tables still match the schemas).
import type { EntitySchema, Field } from '../../shared/schema/types.js';
import { storedFields } from '../../shared/schema/entity.js';

export interface Column {
  /** Entity field name (as the Admin API shows it). */
  field: string;
  /** SQL column name: the field name, or `<field>_id` for foreign keys. */
  name: string;
  def: Field;
  kind: 'uuid' | 'text' | 'bigint' | 'double' | 'boolean' | 'jsonb' | 'tags' | 'foreign';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function columnKind(field: string, def: Field): Column['kind'] {
  if (def.type === 'foreign') return 'foreign';
  if (field === 'tags' && def.type === 'set' && def.elements?.type === 'string') return 'tags';
  switch (def.type) {
    case 'string':
      return def.uuid ? 'uuid' : 'text';
    case 'integer':
      return 'bigint';
    case 'number':
      return 'double';
    case 'boolean':
      return 'boolean';
    default:
      return 'jsonb';
  }
}

const cache = new Map<string, Column[]>();

/** Stored columns of an entity, in schema order. */
export function columnsOf(schema: EntitySchema): Column[] {
  let cols = cache.get(schema.name);
  if (!cols) {
    cols = storedFields(schema).map((field) => {
      const def = schema.fields[field];
      const kind = columnKind(field, def);
      return { field, name: kind === 'foreign' ? `${field}_id` : field, def, kind };
    });
    cache.set(schema.name, cols);
  }
  return cols;
}

export function sqlType(col: Column): string {
  switch (col.kind) {
    case 'uuid':
    case 'foreign':
      return 'uuid';
    case 'text':
      return 'text';
    case 'bigint':
      return 'bigint';
    case 'double':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    case 'tags':
      return 'text[]';
    case 'jsonb':
      return 'jsonb';
  }
}

// Constraint names: the DAO maps PostgreSQL errors back to Kong errors through them.
export const uniqueConstraint = (table: string, field: string) => `${table}_${field}_key`;
export const foreignConstraint = (table: string, field: string) => `${table}_${field}_fkey`;
export const scopeConstraint = (table: string) => `${table}_scope_key`;
export const primaryKeyConstraint = (table: string) => `${table}_pkey`;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
