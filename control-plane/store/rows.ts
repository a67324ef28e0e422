// Entity rows ⇄ SQL rows, and PostgreSQL constraint errors ⇄ Kong errors.
import type pg from 'pg';
import { ENTITIES } from '../../shared/schema/entities/index.js';
import { present, type Row } from '../../shared/schema/entity.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import {
  foreignKeyRestricted,
  foreignKeyViolation,
  primaryKeyViolation,
  uniqueViolation,
  type KongError,
} from '../../shared/errors.js';
import { columnsOf, foreignConstraint, primaryKeyConstraint, scopeConstraint, uniqueConstraint } from './columns.js';

/** Column names and parameter values of every stored field of `row`. */
export function toSql(schema: EntitySchema, row: Row): { names: string[]; values: unknown[] } {
  const names: string[] = [];
  const values: unknown[] = [];
  for (const col of columnsOf(schema)) {
    const v = row[col.field];
    names.push(col.name);
    if (v === undefined || v === null) values.push(null);
    else if (col.kind === 'foreign') values.push(v.id ?? null);
    else if (col.kind === 'jsonb') values.push(JSON.stringify(v));
    else values.push(v);
  }
  return { names, values };
}

/** A SQL row as the Admin API shows it (every field, nulls, foreign keys as {id}). */
export function fromSql(schema: EntitySchema, sqlRow: Record<string, any>): Row {
  const out: Row = {};
  for (const col of columnsOf(schema)) {
    const v = sqlRow[col.name];
    if (v === null || v === undefined) out[col.field] = null;
    else if (col.kind === 'foreign') out[col.field] = { id: v };
    else if ((col.kind === 'bigint' || col.kind === 'double') && typeof v === 'string') out[col.field] = Number(v);
    else out[col.field] = v;
  }
  return present(schema, out);
}

type ConstraintInfo =
  | { kind: 'pkey' | 'unique' | 'scope'; table: string; field: string }
  | { kind: 'fkey'; table: string; field: string; reference: string };

const CONSTRAINTS = new Map<string, ConstraintInfo>();
for (const schema of ENTITIES) {
  const t = schema.name;
  CONSTRAINTS.set(primaryKeyConstraint(t), { kind: 'pkey', table: t, field: 'id' });
  if (schema.unique_across) CONSTRAINTS.set(scopeConstraint(t), { kind: 'scope', table: t, field: '' });
  for (const col of columnsOf(schema)) {
    if (col.def.unique) CONSTRAINTS.set(uniqueConstraint(t, col.field), { kind: 'unique', table: t, field: col.field });
    if (col.kind === 'foreign')
      CONSTRAINTS.set(foreignConstraint(t, col.field), { kind: 'fkey', table: t, field: col.field, reference: col.def.reference! });
  }
}

/** The row a write statement was about to store, to name the offending key in errors. */
export interface WriteContext {
  schema?: EntitySchema;
  row?: Row;
}

/** "Key (name)=(foo) already exists." → "foo" (fallback when the context does not know the row). */
function detailValue(detail: string | undefined): string | null {
  const m = detail?.match(/^Key \([^)]*\)=\((.*)\) (already exists|is not present)/);
  return m ? m[1] : null;
}

/** Unique / foreign-key violations as Kong errors; undefined for anything else. */
export function constraintError(err: pg.DatabaseError, ctx: WriteContext): KongError | undefined {
  const info = err.constraint ? CONSTRAINTS.get(err.constraint) : undefined;
  if (!info) return undefined;
  const row = ctx.schema?.name === info.table ? ctx.row : undefined;
  if (err.code === '23505') {
    if (info.kind === 'pkey') return primaryKeyViolation({ id: row?.id ?? detailValue(err.detail) });
    if (info.kind === 'unique') return uniqueViolation({ [info.field]: row ? row[info.field] : detailValue(err.detail) });
    if (info.kind === 'scope') {
      const schema = ENTITIES.find((s) => s.name === info.table)!;
      const key: Row = {};
      for (const f of schema.unique_across!) key[f] = row?.[f] ?? null;
      return uniqueViolation(key);
    }
  }
  if (err.code === '23503' && info.kind === 'fkey') {
    // the child's write names a missing parent; otherwise a parent delete hit a restricting child
    if (row && row[info.field]) return foreignKeyViolation({ id: row[info.field].id }, info.field, info.reference);
    if (ctx.schema?.name === info.reference || !row) return foreignKeyRestricted(info.reference, info.table);
  }
  return undefined;
}
