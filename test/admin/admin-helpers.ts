// A migrated database, a Dao and a running Admin API per test file, plus a small HTTP client and
// encoders for the three input encodings (Kong's it_content_types).
import { request } from 'undici';
import { afterAll, beforeAll, it } from 'vitest';
import { defaultConfig, type Config } from '../../shared/config.js';
import { startAdminApi, type AdminApi, type AdminApiOptions } from '../../control-plane/admin/server.js';
import { openTestStore, quietLog, type TestStore } from '../store/store-helpers.js';

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

export interface TestAdmin {
  store: TestStore;
  api: AdminApi;
  config: Config;
  call(method: string, path: string, init?: { body?: unknown; contentType?: ContentType | string; headers?: Record<string, string>; raw?: string | Buffer }): Promise<Response>;
}

/** Starts everything in beforeAll and stops it in afterAll; the returned object fills in then. */
export function useAdmin(prefix: string, extra: Partial<AdminApiOptions> = {}): TestAdmin {
  const t = {} as TestAdmin;
  beforeAll(async () => {
    t.store = await openTestStore(prefix);
    t.config = { ...defaultConfig(), node_id: '11111111-2222-4333-8444-555555555555' };
    t.api = await startAdminApi({ config: t.config, dao: t.store.dao, log: quietLog, role: 'control_plane', listen: { host: '127.0.0.1', port: 0 }, ...extra });
    t.call = (method, path, init = {}) => call(t.api.url, method, path, init);
  });
  afterAll(async () => {
    await t.api?.close();
    await t.store?.close();
  });
  return t;
}

export async function call(
  base: string,
  method: string,
  path: string,
  init: { body?: unknown; contentType?: ContentType | string; headers?: Record<string, string>; raw?: string | Buffer } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | Buffer | undefined;
  if (init.raw !== undefined) {
    body = init.raw;
    if (init.contentType) headers['content-type'] = init.contentType;
  } else if (init.body !== undefined) {
    const enc = encodeBody((init.contentType ?? 'application/json') as ContentType, init.body);
    body = enc.body;
    headers['content-type'] = enc.contentType;
  }
  const res = await request(base + path, { method: method as any, headers, body });
  const text = await res.body.text();
  let parsed: any;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, body: parsed };
}

export const CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

/** A file part in a multipart body (`-F key=@file`). */
export class FilePart {
  constructor(
    readonly content: string,
    readonly filename = 'file.txt',
    readonly mimeType = 'application/octet-stream',
  ) {}
}

/** A multipart part with its own Content-Type (application/json parts are JSON-decoded). */
export class TypedPart {
  constructor(
    readonly content: string,
    readonly mimeType: string,
  ) {}
}

/** {a: {b: 1}, paths: ['/x']} → [["a.b","1"], ["paths[1]","/x"]]; null → "" (form's way to unset). */
export function flattenForm(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (value instanceof FilePart || value instanceof TypedPart) return [[prefix, value]];
  if (value === null || value === undefined) return [[prefix, '']];
  if (Array.isArray(value)) return value.flatMap((v, i) => flattenForm(v, `${prefix}[${i + 1}]`));
  if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flattenForm(v, prefix ? `${prefix}.${k}` : k));
  return [[prefix, String(value)]];
}

export function encodeBody(contentType: ContentType, value: unknown): { body: string | Buffer; contentType: string } {
  if (contentType === 'application/json') return { body: JSON.stringify(value), contentType };
  const pairs = flattenForm(value);
  if (contentType === 'application/x-www-form-urlencoded') {
    const p = new URLSearchParams();
    for (const [k, v] of pairs) p.append(k, v instanceof FilePart || v instanceof TypedPart ? v.content : String(v));
    return { body: p.toString(), contentType };
  }
  const boundary = `----sb${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of pairs) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${k}"`;
    let content: string;
    if (v instanceof FilePart) {
      head += `; filename="${v.filename}"\r\nContent-Type: ${v.mimeType}`;
      content = v.content;
    } else if (v instanceof TypedPart) {
      head += `\r\nContent-Type: ${v.mimeType}`;
      content = v.content;
    } else content = String(v);
    parts.push(Buffer.from(`${head}\r\n\r\n${content}\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Runs the case once per input encoding. */
export function forEachContentType(name: string, fn: (ct: ContentType) => Promise<void>): void {
  for (const ct of CONTENT_TYPES) it(`${name} (${ct})`, () => fn(ct));
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let counter = 0;
/** A unique name for this file's entities. */
export function gensym(prefix = 'n'): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}
