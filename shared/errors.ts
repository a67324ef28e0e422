// Kong-compatible error values. Every Admin API error is one of these, mapped to HTTP in one place.
import type { ErrorTree } from './schema/types.js';

export const ERR = {
  INVALID_PRIMARY_KEY: 1,
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_OFFSET: 7,
  DATABASE_ERROR: 8,
  INVALID_SIZE: 9,
  INVALID_UNIQUE: 10,
  INVALID_OPTIONS: 11,
  OPERATION_UNSUPPORTED: 12,
  FOREIGN_KEYS_UNRESOLVED: 13,
  DECLARATIVE_CONFIG: 14,
  TRANSFORMATION_ERROR: 15,
  REFERENCED_BY_OTHERS: 19,
} as const;

const NAMES: Record<number, string> = {
  1: 'invalid primary key',
  2: 'schema violation',
  3: 'primary key violation',
  4: 'foreign key violation',
  5: 'unique constraint violation',
  6: 'not found',
  7: 'invalid offset',
  8: 'database error',
  9: 'invalid size',
  10: 'invalid unique',
  11: 'invalid options',
  12: 'operation unsupported',
  13: 'foreign keys unresolved',
  14: 'invalid declarative configuration',
  15: 'transformation error',
  19: 'referenced by others',
};

const STATUS: Record<number, number> = { 5: 409, 6: 404, 8: 500, 12: 405 };

/** An error with an HTTP status and a JSON body; thrown anywhere, rendered in one place. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

export class KongError extends HttpError {
  constructor(
    readonly code: number,
    message: string,
    fields?: Record<string, unknown>,
    key: 'fields' | 'options' = 'fields',
  ) {
    const body: Record<string, unknown> = { code, name: NAMES[code], message };
    if (fields) body[key] = fields;
    super(STATUS[code] ?? 400, body);
  }
}

/** Lua-ish pretty print as Kong's messages show keys: {name="foo",port=80,route=null}. */
export function prettyLua(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(prettyLua).join(',')}}`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${k}=${prettyLua(o[k])}`)
    .join(',')}}`;
}

function flattenErrors(errors: ErrorTree): string[] {
  const buf: string[] = [];
  const entity = errors['@entity'];
  if (Array.isArray(entity)) for (const e of entity) buf.push(String(e));
  for (const name of Object.keys(errors).sort()) {
    if (name === '@entity') continue;
    const fe = errors[name];
    if (typeof fe === 'object' && fe !== null) {
      const sub = fe as Record<string, unknown>;
      const keys = Array.isArray(fe) ? fe.map((_, i) => String(i)).filter((i) => (fe as unknown[])[+i] != null) : Object.keys(sub).sort();
      for (const k of keys) {
        const val = Array.isArray(fe) ? fe[+k] : sub[k];
        const label = Array.isArray(fe) ? String(+k + 1) : k;
        buf.push(`${name}.${label}: ${typeof val === 'object' ? prettyLua(val) : val}`);
      }
    } else buf.push(`${name}: ${fe}`);
  }
  return buf;
}

export function schemaViolation(errors: ErrorTree): KongError {
  const buf = flattenErrors(errors);
  const message = buf.length === 1 ? `schema violation (${buf[0]})` : `${buf.length} schema violations (${buf.join('; ')})`;
  return new KongError(ERR.SCHEMA_VIOLATION, message, errors);
}

export function uniqueViolation(key: Record<string, unknown>): KongError {
  return new KongError(ERR.UNIQUE_VIOLATION, `UNIQUE violation detected on '${prettyLua(key)}'`, key);
}

export function primaryKeyViolation(key: Record<string, unknown>): KongError {
  return new KongError(ERR.PRIMARY_KEY_VIOLATION, `primary key violation on key '${prettyLua(key)}'`, key);
}

export function foreignKeyViolation(fk: Record<string, unknown>, field: string, parent: string): KongError {
  return new KongError(
    ERR.FOREIGN_KEY_VIOLATION,
    `the foreign key '${prettyLua(fk)}' does not reference an existing '${parent}' entity.`,
    { [field]: fk },
  );
}

export function foreignKeyRestricted(parent: string, child: string): KongError {
  return new KongError(ERR.FOREIGN_KEY_VIOLATION, `an existing '${child}' entity references this '${parent}' entity`, {
    '@referenced_by': child,
  });
}

export function foreignKeysUnresolved(errors: Record<string, Record<string, string>>): KongError {
  const buf: string[] = [];
  for (const f of Object.keys(errors).sort()) for (const k of Object.keys(errors[f]).sort()) buf.push(`${f}.${k}: ${errors[f][k]}`);
  const message = buf.length === 1 ? `foreign key unresolved (${buf[0]})` : `${buf.length} foreign keys unresolved (${buf.join('; ')})`;
  return new KongError(ERR.FOREIGN_KEYS_UNRESOLVED, message, errors);
}

export function invalidOptions(options: Record<string, string>): KongError {
  const buf = Object.keys(options)
    .sort()
    .map((k) => `${k}: ${options[k]}`);
  const message = buf.length === 1 ? `invalid option (${buf[0]})` : `${buf.length} option violations (${buf.join('; ')})`;
  return new KongError(ERR.INVALID_OPTIONS, message, options, 'options');
}

export function invalidOffset(offset: string, why = 'bad base64 encoding'): KongError {
  return new KongError(ERR.INVALID_OFFSET, `'${offset}' is not a valid offset: ${why}`);
}

export function invalidSize(message: string): KongError {
  return new KongError(ERR.INVALID_SIZE, message);
}

export function referencedByOthers(message: string): KongError {
  return new KongError(ERR.REFERENCED_BY_OTHERS, message);
}

export function operationUnsupported(message: string): KongError {
  return new KongError(ERR.OPERATION_UNSUPPORTED, message);
}

export function declarativeConfigError(fields: ErrorTree, message?: string): KongError {
  const flat = flattenErrors(fields);
  return new KongError(
    ERR.DECLARATIVE_CONFIG,
    message ?? `declarative config is invalid: ${flat.length ? flat.join('; ') : prettyLua(fields)}`,
    fields,
  );
}

export const notFound = () => new HttpError(404, { message: 'Not found' });
export const methodNotAllowed = () => new HttpError(405, { message: 'Method not allowed' });
export const badRequest = (message: string) => new HttpError(400, { message });
export const unexpected = () => new HttpError(500, { message: 'An unexpected error occurred' });
