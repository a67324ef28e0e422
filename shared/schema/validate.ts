// Schema engine: defaults, validation with Kong's messages, entity checks and merges.
import type { EntityCheck, EntityError, EntitySchema, ErrorTree, Field, Fields, Subschema } from './types.js';

const TYPE_MESSAGES: Record<string, string> = {
  string: 'expected a string',
  number: 'expected a number',
  integer: 'expected an integer',
  boolean: 'expected a boolean',
  array: 'expected an array',
  set: 'expected a set',
  map: 'expected a map',
  record: 'expected a record',
  foreign: 'expected a record',
};

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepClone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Default of a field when absent: records are built from their own defaults. */
export function fieldDefault(field: Field, parent: Record<string, any>): unknown {
  if (field.default_fn) {
    const d = field.default_fn(parent);
    if (d !== undefined) return deepClone(d);
  }
  if (field.default !== undefined) return deepClone(field.default);
  if (field.type === 'record') {
    const sub = recordFields(field, parent);
    if (!sub) return null;
    if (!field.required && field.default === null) return null;
    return fillDefaults(sub, {}, parent);
  }
  return null;
}

export function recordFields(field: Field, parent: Record<string, any>): Fields | undefined {
  return field.dynamic ? field.dynamic(parent) : field.fields;
}

/** Fill absent (undefined) fields with defaults, recursively into records. Nulls stay null. */
export function fillDefaults(fields: Fields, input: Record<string, any>, parent?: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...input };
  for (const [name, field] of Object.entries(fields)) {
    if (field.transient) continue;
    const v = out[name];
    if (v === undefined) {
      if (field.auto) continue;
      out[name] = fieldDefault(field, out);
    } else if (field.type === 'record' && isPlainObject(v)) {
      const sub = recordFields(field, out);
      if (sub) out[name] = fillDefaults(sub, v, out);
    }
  }
  void parent;
  return out;
}

/** PATCH semantics: records merge recursively, everything else is replaced. */
export function mergeUpdate(fields: Fields, existing: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...existing };
  for (const [name, value] of Object.entries(patch)) {
    const field = fields[name];
    if (field && field.type === 'record' && isPlainObject(value) && isPlainObject(existing[name])) {
      const sub = recordFields(field, { ...existing, ...patch });
      out[name] = sub ? mergeUpdate(sub, existing[name], value) : value;
    } else {
      out[name] = value;
    }
  }
  return out;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

function fmtNum(n: number): string {
  return String(n);
}

/** Validate one value against its field. Returns an error (string, or tree for containers). */
export function validateField(field: Field, value: any, parent: Record<string, any>): string | ErrorTree | (string | ErrorTree | null)[] | undefined {
  if (value === null || value === undefined) {
    // a dynamic record without a schema (unknown plugin) is reported on the field that selects it
    if (field.required && !(field.dynamic && !field.dynamic(parent))) return 'required field missing';
    return undefined;
  }
  if (field.forbidden !== undefined) return field.forbidden;
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return TYPE_MESSAGES.string;
      if (value.length < (field.len_min ?? 1)) return `length must be at least ${field.len_min ?? 1}`;
      if (field.len_max !== undefined && value.length > field.len_max) return `length must be at most ${field.len_max}`;
      if (field.uuid && !UUID_RE.test(value)) return 'expected a valid UUID';
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return TYPE_MESSAGES.number;
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return TYPE_MESSAGES.integer;
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return TYPE_MESSAGES.boolean;
      break;
    case 'array':
    case 'set': {
      if (!Array.isArray(value)) return TYPE_MESSAGES[field.type];
      if (field.len_min !== undefined && value.length < field.len_min) return `length must be at least ${field.len_min}`;
      if (field.len_max !== undefined && value.length > field.len_max) return `length must be at most ${field.len_max}`;
      if (field.elements) {
        const errs: (string | ErrorTree | null)[] = [];
        let bad = false;
        value.forEach((el, i) => {
          const e = validateField({ ...field.elements!, required: true }, el, parent);
          if (e !== undefined) {
            bad = true;
            errs[i] = e === 'required field missing' ? TYPE_MESSAGES[field.elements!.type] ?? e : (e as any);
          } else errs[i] = null;
        });
        if (bad) return errs;
      }
      break;
    }
    case 'map': {
      if (!isPlainObject(value)) return TYPE_MESSAGES.map;
      const errs: ErrorTree = {};
      for (const [k, v] of Object.entries(value)) {
        if (field.keys) {
          const e = validateField(field.keys, k, parent);
          if (e !== undefined) {
            errs[k] = e as any;
            continue;
          }
        }
        if (field.values) {
          const e = validateField({ ...field.values, required: true }, v, parent);
          if (e !== undefined) errs[k] = e as any;
        }
      }
      if (Object.keys(errs).length) return errs;
      break;
    }
    case 'record': {
      if (!isPlainObject(value)) return TYPE_MESSAGES.record;
      const sub = recordFields(field, parent);
      if (!sub) break;
      const errs = validateRecord(sub, value, field.entity_checks ?? field.dynamic_checks?.(parent));
      if (errs) return errs;
      break;
    }
    case 'foreign': {
      if (!isPlainObject(value)) return TYPE_MESSAGES.foreign;
      const keys = Object.keys(value);
      if (keys.length !== 1 || keys[0] !== 'id') {
        // unresolved references are resolved by the store before validation
        if (!('id' in value)) return { id: 'missing primary key' } as ErrorTree;
      }
      if (typeof value.id !== 'string' || !UUID_RE.test(value.id)) return { id: 'expected a valid UUID' } as ErrorTree;
      break;
    }
    case 'json':
      break;
  }
  return checkConstraints(field, value);
}

function checkConstraints(field: Field, value: any): string | undefined {
  if (field.one_of && !field.one_of.includes(value)) return `expected one of: ${field.one_of.join(', ')}`;
  if (field.between && (value < field.between[0] || value > field.between[1]))
    return `value should be between ${fmtNum(field.between[0])} and ${fmtNum(field.between[1])}`;
  if (field.gt !== undefined && !(value > field.gt)) return `value must be greater than ${fmtNum(field.gt)}`;
  if (field.starts_with !== undefined && typeof value === 'string' && !value.startsWith(field.starts_with))
    return `should start with: ${field.starts_with}`;
  if (field.match && typeof value === 'string' && !field.match.test(value))
    return field.match_message ?? `invalid value: ${value}`;
  if (field.custom) return field.custom(value);
  return undefined;
}

/** Validate a record's fields (unknown fields, each field, then entity checks). */
export function validateRecord(fields: Fields, value: Record<string, any>, checks: EntityCheck[] | undefined): ErrorTree | undefined {
  const errs: ErrorTree = {};
  for (const key of Object.keys(value)) {
    if (!(key in fields)) errs[key] = 'unknown field';
  }
  for (const [name, field] of Object.entries(fields)) {
    if (field.transient && value[name] === undefined) continue;
    const e = validateField(field, value[name], value);
    if (e !== undefined) errs[name] = e as any;
  }
  if (checks) {
    const entityErrs: string[] = [];
    for (const check of checks) runEntityCheck(check, value, errs, entityErrs);
    if (entityErrs.length) errs['@entity'] = entityErrs;
  }
  return Object.keys(errs).length ? errs : undefined;
}

export const quoteList = (names: string[]) => names.map((n) => `'${n}'`).join(', ');

function runEntityCheck(check: EntityCheck, v: Record<string, any>, errs: ErrorTree, entityErrs: string[]): void {
  if ('at_least_one_of' in check) {
    if (check.at_least_one_of.every((f) => isEmpty(v[f])))
      entityErrs.push(`at least one of these fields must be non-empty: ${quoteList(check.at_least_one_of)}`);
  } else if ('only_one_of' in check) {
    const n = check.only_one_of.filter((f) => !isEmpty(v[f])).length;
    if (n !== 1) entityErrs.push(`exactly one of these fields must be non-empty: ${quoteList(check.only_one_of)}`);
  } else if ('mutually_required' in check) {
    const n = check.mutually_required.filter((f) => !isEmpty(v[f])).length;
    if (n !== 0 && n !== check.mutually_required.length)
      entityErrs.push(`all or none of these fields must be set: ${quoteList(check.mutually_required)}`);
  } else if ('mutually_exclusive' in check) {
    const n = check.mutually_exclusive.filter((f) => !isEmpty(v[f])).length;
    if (n > 1) entityErrs.push(`only one or none of these fields must be set: ${quoteList(check.mutually_exclusive)}`);
  } else if ('distinct' in check) {
    const vals = check.distinct.map((f) => JSON.stringify(v[f] ?? null));
    if (new Set(vals).size !== vals.length) entityErrs.push(`values of these fields must be distinct: ${quoteList(check.distinct)}`);
  } else if ('conditional' in check) {
    const c = check.conditional;
    if (errs[c.if_field] || errs[c.then_field]) return;
    if (!c.if_match(v[c.if_field])) return;
    const msg = c.then_match(v[c.then_field]);
    if (msg) {
      if (c.on_entity) entityErrs.push(msg);
      else {
        errs[c.then_field] = msg;
        entityErrs.push(`failed conditional validation given value of field '${c.if_field}'`);
      }
    }
  } else if ('custom' in check) {
    if (!check.always) {
      if (check.fields && check.fields.some((f) => errs[f] !== undefined)) return;
      if (Object.keys(errs).length && !check.fields) return;
    }
    const res = check.custom(v);
    if (res === undefined) return;
    for (const e of [res].flat(2) as Exclude<EntityError, unknown[]>[]) {
      if (typeof e === 'string') entityErrs.push(e);
      else if (errs[e.field] === undefined) errs[e.field] = e.message;
    }
  }
}

/** The subschema an entity falls under, by its subschema_key value (first set member that has one). */
export function subschemaOf(schema: EntitySchema, entity: Record<string, any>): Subschema | undefined {
  if (!schema.subschema_key || !schema.subschemas) return undefined;
  const key = entity[schema.subschema_key];
  if (typeof key === 'string') return schema.subschemas[key];
  if (Array.isArray(key)) for (const k of key) if (typeof k === 'string' && schema.subschemas[k]) return schema.subschemas[k];
  return undefined;
}

/** Validate an entity: its fields (specialized by its subschema), then its checks and the subschema's. */
export function validateEntity(schema: EntitySchema, entity: Record<string, any>): ErrorTree | undefined {
  const sub = subschemaOf(schema, entity);
  if (!sub) return validateRecord(schema.fields, entity, schema.entity_checks);
  const fields = sub.fields ? { ...schema.fields, ...sub.fields } : schema.fields;
  const checks = [...(schema.entity_checks ?? []), ...(sub.entity_checks ?? [])];
  return validateRecord(fields, entity, checks);
}

/** Apply shorthand fields (e.g. service.url) to an input object. Returns an error tree on failure. */
export function applyShorthands(
  schema: EntitySchema,
  input: Record<string, any>,
  base: Record<string, any> = {},
): { value: Record<string, any>; errors?: ErrorTree } {
  if (!schema.shorthands) return { value: input };
  let out = input;
  for (const [name, expand] of Object.entries(schema.shorthands)) {
    if (out[name] === undefined) continue;
    const { [name]: sv, ...rest } = out;
    // a PATCH names only what changes: the shorthand also sees the stored row (plugin name)
    const r = expand(sv, { ...base, ...rest });
    if (typeof r === 'string') return { value: rest, errors: { [name]: r } };
    out = { ...rest, ...r };
  }
  return { value: out };
}
