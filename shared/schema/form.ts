// Form-urlencoded and multipart arguments → a typed object, inferred from the schema (Kong's
// api/arguments.lua): `a.b=`, `a[b]=`, `paths[]=`, `paths[1]=`, single values into arrays,
// "true"/"false" → booleans, numeric strings → numbers, empty string → null.
import type { EntitySchema, Field, Fields } from './types.js';
import { isPlainObject, recordFields } from './validate.js';

type Seg = string | number | null; // null = "[]" (append)

export function parseFormKey(key: string): Seg[] {
  const segs: Seg[] = [];
  const m = key.match(/^[^[.]+/);
  let rest = key;
  if (m) {
    segs.push(m[0]);
    rest = key.slice(m[0].length);
  }
  while (rest.length) {
    let mm: RegExpMatchArray | null;
    if ((mm = rest.match(/^\[\]/))) segs.push(null);
    else if ((mm = rest.match(/^\[(\d+)\]/))) segs.push(Number(mm[1]));
    else if ((mm = rest.match(/^\[([^\]]*)\]/))) segs.push(mm[1]);
    else if ((mm = rest.match(/^\.([^[.]*)/))) segs.push(/^\d+$/.test(mm[1]) ? Number(mm[1]) : mm[1]);
    else {
      segs.push(rest);
      break;
    }
    rest = rest.slice(mm[0].length);
  }
  return segs;
}

function setPath(target: Record<string, any>, segs: Seg[], value: unknown): void {
  let cur: any = target;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (seg === null) {
      if (!Array.isArray(cur.__arr)) cur.__arr = [];
      if (last) cur.__arr.push(value);
      else {
        const o = {};
        cur.__arr.push(o);
        cur = o;
      }
      continue;
    }
    const key = typeof seg === 'number' ? `__idx${seg}` : seg;
    if (last) {
      if (cur[key] === undefined) cur[key] = value;
      else if (Array.isArray(cur[key]) && (cur[key] as any).__repeated) cur[key].push(value);
      else {
        const arr: any = [cur[key], value];
        arr.__repeated = true;
        cur[key] = arr;
      }
    } else {
      const next = segs[i + 1];
      if (cur[key] === undefined || typeof cur[key] !== 'object') cur[key] = {};
      if (next === null && !Array.isArray(cur[key].__arr)) cur[key].__arr = [];
      cur = cur[key];
    }
  }
}

/** Turn the intermediate tree (with __arr/__idxN markers) into plain arrays/objects. */
function materialize(v: any): any {
  if (Array.isArray(v)) return v.map(materialize);
  if (!isPlainObject(v)) return v;
  const keys = Object.keys(v);
  if (keys.length && keys.every((k) => k === '__arr' || k.startsWith('__idx'))) {
    const arr: any[] = [];
    for (const k of keys.filter((k) => k.startsWith('__idx')).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5))))
      arr.push(materialize(v[k]));
    if (v.__arr) arr.push(...v.__arr.map(materialize));
    return arr;
  }
  const out: Record<string, any> = {};
  for (const k of keys) {
    if (k === '__arr') continue;
    out[k.startsWith('__idx') ? k.slice(5) : k] = materialize(v[k]);
  }
  return out;
}

function coerceScalar(field: Field, v: any): any {
  if (v === '') return null;
  if (typeof v !== 'string') return v;
  switch (field.type) {
    case 'number':
    case 'integer':
      return /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : v;
    case 'boolean':
      return v === 'true' ? true : v === 'false' ? false : v;
    case 'json':
      try {
        return JSON.parse(v);
      } catch {
        return v;
      }
    default:
      return v;
  }
}

export function coerceField(field: Field, v: any, parent: Record<string, any>): any {
  if (v === undefined || v === null) return v;
  switch (field.type) {
    case 'array':
    case 'set': {
      if (v === '') return null;
      const arr = Array.isArray(v) ? v : isPlainObject(v) ? Object.values(v) : [v];
      return field.elements ? arr.map((e) => coerceField(field.elements!, e, parent)) : arr;
    }
    case 'map': {
      if (v === '') return null;
      if (!isPlainObject(v)) return v;
      const out: Record<string, any> = {};
      for (const [k, x] of Object.entries(v)) out[k] = field.values ? coerceField(field.values, x, parent) : x;
      return out;
    }
    case 'record': {
      if (v === '') return null;
      if (!isPlainObject(v)) return v;
      const sub = recordFields(field, parent);
      return sub ? coerceRecord(sub, v) : v;
    }
    case 'foreign': {
      if (v === '') return null;
      if (typeof v === 'string') return { id: v };
      return v;
    }
    default:
      if (Array.isArray(v) && (v as any).__repeated) return v.map((x) => coerceScalar(field, x));
      return coerceScalar(field, v);
  }
}

export function coerceRecord(fields: Fields, obj: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(obj)) {
    const f = fields[k];
    out[k] = f ? coerceField(f, v, obj) : v === '' ? null : v;
  }
  return out;
}

/**
 * Decode form pairs against an entity schema. `context` supplies fields the input may lack
 * but decoding depends on (PATCH /plugins/{id}: the stored plugin's name selects its config schema).
 */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

export function decodeForm(schema: EntitySchema, pairs: Array<[string, unknown]>, context: Record<string, any> = {}): Record<string, any> {
  const tree: Record<string, any> = {};
  for (const [k, v] of pairs) {
    const segs = parseFormKey(k);
    // never let a form key reach an object's prototype
    if (segs.some((s) => typeof s === 'string' && FORBIDDEN_SEGMENTS.has(s))) continue;
    setPath(tree, segs, v);
  }
  const raw = materialize(tree);
  const parentView = { ...context, ...raw };
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(raw)) {
    const f = schema.fields[k];
    if (f && f.type === 'record' && f.dynamic) out[k] = coerceField(f, v, parentView);
    else out[k] = f ? coerceField(f, v, parentView) : v === '' ? null : v;
  }
  return out;
}
