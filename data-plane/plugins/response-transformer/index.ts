// response-transformer (priority 800): edit the response headers, and the body when it is JSON,
// in Kong's order remove → rename → replace → add → append. Only JSON responses are rewritten;
// the proxy recomputes Content-Length for a buffered body.
import { splitPair } from '../../../shared/plugins/request-transformer.js';
import type { PluginHandler, RequestContext, UpstreamResponse } from '../types.js';

type JsonTypes = ('boolean' | 'number' | 'string')[];

export interface ResponseTransformerConfig {
  remove: { json: string[]; headers: string[] };
  rename: { json: string[]; headers: string[] };
  replace: { json: string[]; json_types: JsonTypes; headers: string[] };
  add: { json: string[]; json_types: JsonTypes; headers: string[] };
  append: { json: string[]; json_types: JsonTypes; headers: string[] };
}

type Pair = { name: string; value: string };

interface State {
  headers: { remove: string[]; rename: Pair[]; replace: Pair[]; add: Pair[]; append: Pair[] };
  json: { remove: string[]; rename: Pair[]; replace: Pair[]; add: Pair[]; append: Pair[] };
  jsonTypes: { replace: JsonTypes; add: JsonTypes; append: JsonTypes };
  hasJsonOps: boolean;
}

const pairs = (list: string[]): Pair[] => list.map(splitPair);
const lower = (p: Pair): Pair => ({ name: p.name.toLowerCase(), value: p.value });

function hasJsonOps(conf: ResponseTransformerConfig): boolean {
  return [conf.remove, conf.rename, conf.replace, conf.add, conf.append].some((l) => l.json.length > 0);
}

/** application/json or a +json media type, in any of the listed content types. */
export function isJsonType(contentType: string | string[] | undefined): boolean {
  if (contentType === undefined) return false;
  const v = Array.isArray(contentType) ? contentType.join(',') : contentType;
  return v.split(',').some((t) => {
    const [type, subtype] = t.split(';')[0].trim().toLowerCase().split('/');
    return type === 'application' && (subtype === 'json' || subtype?.endsWith('+json'));
  });
}

function header(headers: Record<string, string | string[]>, name: string): string | string[] | undefined {
  if (headers[name] !== undefined) return headers[name];
  for (const k in headers) if (k.toLowerCase() === name) return headers[k];
  return undefined;
}

function deleteHeader(headers: Record<string, string | string[]>, name: string): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) delete headers[k];
}

function transformHeaders(h: Record<string, string | string[]>, s: State['headers']): void {
  for (const name of s.remove) deleteHeader(h, name);
  for (const { name, value } of s.rename) {
    const v = header(h, name);
    if (v !== undefined && value) {
      deleteHeader(h, name);
      h[value.toLowerCase()] = v;
    }
  }
  for (const { name, value } of s.replace) {
    if (header(h, name) !== undefined && value) {
      deleteHeader(h, name);
      h[name] = value;
    }
  }
  for (const { name, value } of s.add) {
    if (header(h, name) === undefined && value) h[name] = value;
  }
  for (const { name, value } of s.append) {
    const cur = header(h, name);
    deleteHeader(h, name);
    h[name] = cur === undefined ? value : Array.isArray(cur) ? [...cur, value] : [cur, value];
  }
}

/** Kong's cast: a value stays a string unless json_types says number or boolean. */
function cast(value: string, type: JsonTypes[number] | undefined): unknown {
  if (type === 'number') {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  if (type === 'boolean') return value === 'true';
  return value;
}

// Lua truthiness on decoded JSON: false counts as absent for replace/add, null does not.
const truthy = (v: unknown) => v !== undefined && v !== false;

function transformJson(body: Buffer, s: State): Buffer | null {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return null;
  const o = doc as Record<string, unknown>;
  for (const name of s.json.remove) delete o[name];
  for (const { name, value } of s.json.rename) {
    if (o[name] !== undefined && value) {
      const v = o[name];
      delete o[name];
      o[value] = v;
    }
  }
  s.json.replace.forEach(({ name, value }, i) => {
    const v = cast(value, s.jsonTypes.replace[i]);
    if (truthy(o[name]) && v !== undefined) o[name] = v;
  });
  s.json.add.forEach(({ name, value }, i) => {
    const v = cast(value, s.jsonTypes.add[i]);
    if (!truthy(o[name]) && v !== undefined) o[name] = v;
  });
  s.json.append.forEach(({ name, value }, i) => {
    const v = cast(value, s.jsonTypes.append[i]);
    if (v === undefined) return;
    const cur = o[name];
    o[name] = cur === undefined || cur === null ? [v] : Array.isArray(cur) ? [...cur, v] : typeof cur === 'string' ? [cur, v] : [v];
  });
  return Buffer.from(JSON.stringify(o));
}

function contentEncoded(headers: Record<string, string | string[]>): boolean {
  const ce = header(headers, 'content-encoding');
  return ce !== undefined && String(ce).toLowerCase() !== 'identity';
}

export const responseTransformer: PluginHandler<ResponseTransformerConfig> = {
  name: 'response-transformer',
  version: '3.9.0',
  priority: 800,

  init(conf): State {
    return {
      headers: {
        remove: conf.remove.headers.map((n) => n.toLowerCase()),
        rename: pairs(conf.rename.headers).map(lower),
        replace: pairs(conf.replace.headers).map(lower),
        add: pairs(conf.add.headers).map(lower),
        append: pairs(conf.append.headers).map(lower),
      },
      json: {
        remove: conf.remove.json,
        rename: pairs(conf.rename.json),
        replace: pairs(conf.replace.json),
        add: pairs(conf.add.json),
        append: pairs(conf.append.json),
      },
      jsonTypes: { replace: conf.replace.json_types, add: conf.add.json_types, append: conf.append.json_types },
      hasJsonOps: hasJsonOps(conf),
    };
  },

  // Asked before the upstream answers (no content type known yet) or, given the response, only for JSON.
  bufferResponse(conf, _ctx: RequestContext, res?: UpstreamResponse) {
    if (!hasJsonOps(conf)) return false;
    return res === undefined || (isJsonType(header(res.headers, 'content-type')) && !contentEncoded(res.headers));
  },

  response(_ctx, res, _conf, state: State) {
    transformHeaders(res.headers, state.headers);
    if (!state.hasJsonOps || res.body === undefined) return;
    if (!isJsonType(header(res.headers, 'content-type')) || contentEncoded(res.headers)) return;
    const out = transformJson(res.body, state);
    if (out === null) return;
    res.body = out;
    if (header(res.headers, 'content-length') !== undefined) {
      deleteHeader(res.headers, 'content-length');
      res.headers['content-length'] = String(out.length);
    }
  },
};

export default responseTransformer;
