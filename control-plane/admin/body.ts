// Request bodies as Kong's Admin API reads them (kong/api/api_helpers.lua, arguments.lua):
// application/json taken literally, x-www-form-urlencoded and multipart/form-data as key/value
// pairs that are decoded against the entity schema (shared/schema/form.ts), no body → {}.
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { HttpError, badRequest } from '../../shared/errors.js';
import { decodeForm } from '../../shared/schema/form.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import type { ParsedBody } from './router.js';

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
/** Kong's max_post_args / max_uri_args. */
export const MAX_ARGS = 1000;

export const unsupportedMediaType = () => new HttpError(415, { message: 'Unsupported Media Type' });
export const payloadTooLarge = () => new HttpError(413, { message: 'Request size limit exceeded' });
const cannotParseJson = () => badRequest('Cannot parse JSON body');
const tooManyArguments = () => badRequest('Too many arguments');

/** Reads the whole body, failing with 413 past `limit` bytes (the rest is discarded). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(payloadTooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(payloadTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

// Keys that would walk into Object.prototype while building nested objects from form keys.
const UNSAFE_KEY = /(^|[.[\]])(__proto__|constructor|prototype)([.[\]]|$)/;

function safeJson(text: string): unknown {
  return JSON.parse(text, (k, v) => (k === '__proto__' ? undefined : v));
}

function parseUrlEncoded(buf: Buffer): Array<[string, unknown]> {
  const pairs: Array<[string, unknown]> = [];
  for (const [k, v] of new URLSearchParams(buf.toString('utf8'))) {
    if (pairs.length >= MAX_ARGS) throw tooManyArguments();
    if (!UNSAFE_KEY.test(k)) pairs.push([k, v]);
  }
  return pairs;
}

function parseMultipart(buf: Buffer, headers: IncomingMessage['headers']): Promise<Array<[string, unknown]>> {
  if (buf.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers, limits: { fields: MAX_ARGS, files: MAX_ARGS, parts: MAX_ARGS, fieldSize: buf.length + 1, fileSize: buf.length + 1 } });
    } catch {
      reject(badRequest('Cannot parse multipart body'));
      return;
    }
    const pairs: Array<[string, unknown]> = [];
    const pending: Array<Promise<void>> = [];
    let limited = false;
    const add = (name: string, value: string, mimeType: string | undefined) => {
      if (UNSAFE_KEY.test(name)) return;
      if (mimeType && mimeType.toLowerCase().startsWith('application/json')) {
        try {
          pairs.push([name, safeJson(value)]);
          return;
        } catch {
          // Kong keeps the undecodable part as a string
        }
      }
      pairs.push([name, value]);
    };
    bb.on('field', (name, value, info) => add(name, value, info.mimeType === 'text/plain' ? undefined : info.mimeType));
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      pending.push(
        new Promise((done) => {
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            add(name, Buffer.concat(chunks).toString('utf8'), info.mimeType);
            done();
          });
          stream.on('error', () => done());
        }),
      );
    });
    for (const ev of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) bb.on(ev, () => (limited = true));
    bb.on('error', () => reject(badRequest('Cannot parse multipart body')));
    bb.on('close', () => {
      void Promise.all(pending).then(() => (limited ? reject(tooManyArguments()) : resolve(pairs)));
    });
    bb.end(buf);
  });
}

/**
 * Turns the request into a ParsedBody. `rawBody` routes get the bytes whatever the content type.
 * Methods without a body (GET, DELETE, ...) always get { kind: 'none' }.
 */
export async function parseRequestBody(req: IncomingMessage, limit: number, rawBody = false): Promise<ParsedBody> {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
    req.resume();
    return { kind: 'none' };
  }
  const header = req.headers['content-type'];
  const contentType = header?.toLowerCase().trim();
  const buf = await readBody(req, limit);
  if (rawBody) return { kind: 'raw', buffer: buf, contentType };
  if (!contentType) {
    if (buf.length === 0) return { kind: 'none' };
    throw unsupportedMediaType();
  }
  if (contentType.startsWith('application/json')) {
    let value: unknown;
    try {
      value = safeJson(buf.toString('utf8'));
    } catch {
      throw cannotParseJson();
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw cannotParseJson();
    return { kind: 'json', value: value as Record<string, unknown> };
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) return { kind: 'form', pairs: parseUrlEncoded(buf), multipart: false };
  if (contentType.startsWith('multipart/form-data')) return { kind: 'form', pairs: await parseMultipart(buf, req.headers), multipart: true };
  throw unsupportedMediaType();
}

/** The body as an entity input: JSON literally, form pairs type-inferred from `schema`. */
export function bodyArgs(body: ParsedBody, schema: EntitySchema, context?: Record<string, unknown>): Record<string, any> {
  switch (body.kind) {
    case 'json':
      return { ...body.value };
    case 'form':
      return decodeForm(schema, body.pairs, context);
    default:
      return {};
  }
}

export function isForm(body: ParsedBody): boolean {
  return body.kind === 'form';
}
