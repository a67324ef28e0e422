// Turning input into a stored row: shorthands, auto fields, generated keys, defaults,
// validation and transformations — the same steps for the Admin API and declarative files.
import { randomUUID } from 'node:crypto';
import { schemaViolation } from '../errors.js';
import type { EntitySchema, Field } from './types.js';
import { applyShorthands, fillDefaults, mergeUpdate, validateEntity } from './validate.js';
import { randomKey32 } from './typedefs.js';

export type Row = Record<string, any>;

function nowFor(field: Field, nowMs: number): number {
  return field.timestamp === 'ms' ? nowMs / 1000 : Math.floor(nowMs / 1000);
}

/** Sets keep their first occurrence of each value. */
function dedupeSets(schema: EntitySchema, row: Row): Row {
  for (const [name, f] of Object.entries(schema.fields)) {
    if (f.type === 'set' && Array.isArray(row[name])) {
      const seen = new Set<string>();
      row[name] = row[name].filter((v: unknown) => {
        const k = JSON.stringify(v);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
  }
  return row;
}

function fillAuto(schema: EntitySchema, row: Row, nowMs: number, existing?: Row): void {
  for (const [name, f] of Object.entries(schema.fields)) {
    if (f.auto) {
      if (name === 'id') row.id ??= existing?.id ?? randomUUID();
      else if (name === 'created_at') row.created_at = existing?.created_at ?? row.created_at ?? nowFor(f, nowMs);
      else if (name === 'updated_at') row.updated_at = nowFor(f, nowMs);
    }
    if (f.generate && (row[name] === undefined || row[name] === null)) row[name] = f.generate === 'uuid' ? randomUUID() : randomKey32();
  }
}

function finish(schema: EntitySchema, row: Row, op: 'insert' | 'update'): Row {
  dedupeSets(schema, row);
  const errors = validateEntity(schema, row);
  if (errors) throw schemaViolation(errors);
  return schema.transform ? schema.transform(row, op) : row;
}

function expand(schema: EntitySchema, input: Row, existing?: Row): Row {
  const { value, errors } = applyShorthands(schema, input, existing);
  if (errors) throw schemaViolation(errors);
  return value;
}

/** A new row from Admin API / declarative input. Foreign keys must already be {id}. */
export function prepareInsert(schema: EntitySchema, input: Row, nowMs = Date.now()): Row {
  const row = fillDefaults(schema.fields, expand(schema, input));
  fillAuto(schema, row, nowMs);
  return finish(schema, row, 'insert');
}

/** PATCH: merge into the stored row (records merge, everything else replaced). */
export function prepareUpdate(schema: EntitySchema, existing: Row, patch: Row, nowMs = Date.now()): Row {
  const p = expand(schema, patch, existing);
  delete p.id;
  const row = fillDefaults(schema.fields, mergeUpdate(schema.fields, existing, p));
  fillAuto(schema, row, nowMs, existing);
  return finish(schema, row, 'update');
}

/** PUT: full replacement (omitted fields → defaults), keeping id and created_at. */
export function prepareUpsert(schema: EntitySchema, existing: Row | null, input: Row, id: string, nowMs = Date.now()): Row {
  const row = fillDefaults(schema.fields, { ...expand(schema, input), id });
  fillAuto(schema, row, nowMs, existing ?? undefined);
  return finish(schema, row, existing ? 'update' : 'insert');
}

/** Fields that are stored (transient ones such as certificates.snis are handled by the caller). */
export function storedFields(schema: EntitySchema): string[] {
  return Object.entries(schema.fields)
    .filter(([, f]) => !f.transient)
    .map(([n]) => n);
}

/** The row as the Admin API returns it: every stored field present, unset ones null. */
export function present(schema: EntitySchema, row: Row): Row {
  const out: Row = {};
  for (const [name, f] of Object.entries(schema.fields)) {
    if (f.transient) {
      if (row[name] !== undefined) out[name] = row[name];
      continue;
    }
    out[name] = row[name] ?? null;
  }
  return out;
}
