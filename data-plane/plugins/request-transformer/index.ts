// request-transformer (priority 801): edit what is sent upstream, in Kong's order —
// uri, method, headers, body, querystring; inside each: remove → rename → replace → add → append.
// Body edits apply to JSON, urlencoded and multipart bodies, and only then is the body buffered.
import { splitPair } from '../../../shared/plugins/request-transformer.js';
import type { PluginHandler, RequestContext } from '../types.js';
import { knownHeaderNames } from '../../proxy/header-names.js';
import { boundaryOf, parseMultipart, partValue, serializeMultipart, simplePart } from './multipart.js';
import { encodeQuery, parseQuery, type Query, type QueryValue } from './query.js';
import { compileTemplate, render, RequestEnv, type Template, type TemplateEnv } from './template.js';

type Lists = { body: string[]; headers: string[]; querystring: string[] };

export interface RequestTransformerConfig {
  http_method: string | null;
  remove: Lists;
  rename: Lists;
  replace: Lists & { uri: string | null };
  add: Lists;
  append: Lists;
}

type Pair = { name: string; value: Template };
type Ops = { remove: string[]; rename: [string, string][]; replace: Pair[]; add: Pair[]; append: Pair[] };

interface State {
  headers: Ops;
  querystring: Ops;
  body: Ops;
  uri: Template | null;
  method: string | null;
  hasHeaderOps: boolean;
  hasQueryOps: boolean;
  hasBodyOps: boolean;
  /** Some value is a template: requests get a template environment. */
  rendersTemplates: boolean;
  /** The query a request without one gets, computed once (null: it depends on the request). */
  queryFromNothing: string | null;
}

function pairs(list: string[]): Pair[] {
  return list.map((e) => {
    const { name, value } = splitPair(e);
    return { name, value: compileTemplate(value) };
  });
}

function ops(conf: RequestTransformerConfig, key: keyof Lists): Ops {
  return {
    remove: conf.remove[key].map((e) => splitPair(e).name),
    rename: conf.rename[key].map((e) => {
      const { name, value } = splitPair(e);
      return [name, value];
    }),
    replace: pairs(conf.replace[key]),
    add: pairs(conf.add[key]),
    append: pairs(conf.append[key]),
  };
}

const allConstant = (ps: Pair[]) => ps.every((p) => p.value.constant);
const hasTemplates = (o: Ops) => !allConstant(o.replace) || !allConstant(o.add) || !allConstant(o.append);

// constant values never read their environment
const NO_ENV: TemplateEnv = { headers: {}, query: new Map(), uriCaptures: {}, shared: {} };

const isEmpty = (o: Ops) => !o.remove.length && !o.rename.length && !o.replace.length && !o.add.length && !o.append.length;

type BodyKind = 'json' | 'form' | 'multipart';

function bodyKind(contentType: string | undefined): BodyKind | null {
  if (!contentType) return null;
  const t = contentType.toLowerCase();
  if (t.includes('application/json')) return 'json';
  if (t.includes('multipart/form-data')) return 'multipart';
  if (t.includes('application/x-www-form-urlencoded')) return 'form';
  return null;
}

function contentType(ctx: RequestContext): string | undefined {
  const v = ctx.req.headers['content-type'];
  return Array.isArray(v) ? v[0] : v;
}

/** Kong's append_value: a value becomes a list, a list grows. */
function appendValue<T>(current: T | T[] | undefined, value: T): T[] {
  if (current === undefined || current === null) return [value];
  return Array.isArray(current) ? [...current, value] : [current, value];
}

/** Header names as node keys them (lower-case), once at init rather than per request. */
function lowerCaseNames(o: Ops): Ops {
  const lower = (p: Pair): Pair => ({ name: p.name.toLowerCase(), value: p.value });
  return {
    remove: o.remove.map((n) => n.toLowerCase()),
    rename: o.rename.map(([from, to]) => [from.toLowerCase(), to.toLowerCase()]),
    replace: o.replace.map(lower),
    add: o.add.map(lower),
    append: o.append.map(lower),
  };
}

function transformHeaders(ctx: RequestContext, o: Ops, env: TemplateEnv): void {
  const h = ctx.upstreamHeaders;
  for (let i = 0; i < o.remove.length; i++) if (h[o.remove[i]] !== undefined) delete h[o.remove[i]]; // delete of an absent key is a runtime call
  for (let i = 0; i < o.rename.length; i++) {
    const [from, to] = o.rename[i];
    const v = h[from];
    if (v !== undefined) {
      delete h[from];
      h[to] = v;
    }
  }
  for (let i = 0; i < o.replace.length; i++) {
    const { name, value } = o.replace[i];
    if (h[name] !== undefined || name === 'host') h[name] = render(value, env);
  }
  for (let i = 0; i < o.add.length; i++) {
    const { name, value } = o.add[i];
    if (h[name] === undefined && name !== 'host') h[name] = render(value, env);
  }
  for (let i = 0; i < o.append.length; i++) {
    const { name, value } = o.append[i];
    if (name !== 'host') h[name] = appendValue(h[name], render(value, env));
  }
}

/** Edits a name → value collection; returns whether anything changed. */
function editMap<V>(
  m: Map<string, V | V[]>,
  o: Ops,
  env: TemplateEnv,
  wrap: (s: string) => V,
  isSet: (v: V | V[] | undefined) => boolean,
): boolean {
  let changed = false;
  for (const name of o.remove) changed = m.delete(name) || changed;
  for (const [oldName, newName] of o.rename) {
    if (m.has(oldName)) {
      const v = m.get(oldName)!;
      m.delete(oldName);
      m.set(newName, v);
      changed = true;
    }
  }
  for (const { name, value } of o.replace) {
    if (isSet(m.get(name))) {
      m.set(name, wrap(render(value, env)));
      changed = true;
    }
  }
  for (const { name, value } of o.add) {
    if (!isSet(m.get(name))) {
      m.set(name, wrap(render(value, env)));
      changed = true;
    }
  }
  for (const { name, value } of o.append) {
    m.set(name, appendValue(m.get(name) as any, wrap(render(value, env))) as any);
    changed = true;
  }
  return changed;
}

const querySet = (v: unknown) => v !== undefined;

function splitUri(uri: string): [string, string] {
  const q = uri.indexOf('?');
  return q < 0 ? [uri, ''] : [uri.slice(0, q), uri.slice(q + 1)];
}

/**
 * What the querystring ops make of a request without a query, when that does not depend on the
 * request (every add/append value is constant: remove, rename and replace find nothing): null if it does.
 */
function queryFromNothing(o: Ops): string | null {
  if (!allConstant(o.add) || !allConstant(o.append)) return null;
  const q: Query = new Map();
  return editMap<string | true>(q, o, NO_ENV, (s) => s, querySet) ? encodeQuery(q) : '';
}

function transformQuery(ctx: RequestContext, state: State, env: TemplateEnv): void {
  const [path, raw] = splitUri(ctx.upstreamUri);
  if (raw === '' && state.queryFromNothing !== null) {
    if (state.queryFromNothing !== '') ctx.upstreamUri = `${path}?${state.queryFromNothing}`;
    return;
  }
  const o = state.querystring;
  const q: Query = parseQuery(raw);
  if (!editMap<string | true>(q, o, env, (s) => s, querySet)) return;
  const encoded = encodeQuery(q);
  ctx.upstreamUri = encoded ? `${path}?${encoded}` : path;
}

function transformJson(raw: Buffer, o: Ops, env: TemplateEnv): Buffer | null {
  let doc: unknown = {};
  if (raw.length > 0) {
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch {
      return null;
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return null;
  const m = new Map(Object.entries(doc as Record<string, unknown>));
  // Lua truthiness: JSON false counts as absent for replace/add (null is a value).
  const isSet = (v: unknown) => v !== undefined && v !== false;
  if (!editMap<unknown>(m, o, env, (s) => s, isSet)) return null;
  return Buffer.from(JSON.stringify(Object.fromEntries(m)));
}

function transformForm(raw: Buffer, o: Ops, env: TemplateEnv): Buffer | null {
  const q = parseQuery(raw.toString('utf8'));
  if (!editMap<string | true>(q, o, env, (s) => s, querySet)) return null;
  return Buffer.from(encodeQuery(q));
}

function transformMultipart(raw: Buffer, type: string, o: Ops, env: TemplateEnv): Buffer | null {
  const boundary = boundaryOf(type);
  if (!boundary) return null;
  let parts = raw.length ? parseMultipart(raw, boundary) : [];
  const has = (n: string) => parts.some((p) => p.name === n);
  let changed = false;
  for (const [oldName, newName] of o.rename) {
    const p = parts.find((x) => x.name === oldName);
    if (p) {
      const value = partValue(p);
      parts = parts.filter((x) => x.name !== oldName && x.name !== newName);
      parts.push(simplePart(newName, value));
      changed = true;
    }
  }
  for (const name of o.remove) {
    if (has(name)) {
      parts = parts.filter((x) => x.name !== name);
      changed = true;
    }
  }
  for (const { name, value } of o.replace) {
    if (has(name)) {
      parts = parts.filter((x) => x.name !== name);
      parts.push(simplePart(name, render(value, env)));
      changed = true;
    }
  }
  for (const { name, value } of o.add) {
    if (!has(name)) {
      parts.push(simplePart(name, render(value, env)));
      changed = true;
    }
  }
  return changed ? serializeMultipart(parts, boundary) : null;
}

function transformBody(ctx: RequestContext, o: Ops, env: TemplateEnv): void {
  const type = contentType(ctx);
  const kind = bodyKind(type);
  if (kind === null) return;
  const raw = ctx.upstreamBody ?? Buffer.alloc(0);
  const out =
    kind === 'json' ? transformJson(raw, o, env) : kind === 'form' ? transformForm(raw, o, env) : transformMultipart(raw, type!, o, env);
  if (out === null) return;
  ctx.upstreamBody = out;
  ctx.upstreamHeaders['content-length'] = String(out.length);
  delete ctx.upstreamHeaders['transfer-encoding'];
}

/** GET/HEAD/TRACE carry no form body meaning: its fields join the querystring. */
function transformMethod(ctx: RequestContext, method: string): void {
  ctx.upstreamMethod = method;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'TRACE') return;
  if (bodyKind(contentType(ctx)) !== 'form' || !ctx.upstreamBody?.length) return;
  const form = parseQuery(ctx.upstreamBody.toString('utf8'));
  if (form.size === 0) return;
  const [path, raw] = splitUri(ctx.upstreamUri);
  const q = parseQuery(raw);
  for (const [k, v] of form) {
    const cur = q.get(k);
    q.set(k, cur === undefined ? v : ([] as (string | true)[]).concat(cur, v as QueryValue));
  }
  ctx.upstreamUri = `${path}?${encodeQuery(q)}`;
}

function needsBody(conf: RequestTransformerConfig, ctx: RequestContext): boolean {
  const kind = bodyKind(contentType(ctx));
  if (kind === null) return false;
  const bodyOps = [conf.remove, conf.rename, conf.replace, conf.add, conf.append].some((l) => l.body.length > 0);
  if (bodyOps) return true;
  const method = conf.http_method?.toUpperCase();
  return kind === 'form' && (method === 'GET' || method === 'HEAD' || method === 'TRACE');
}

export const requestTransformer: PluginHandler<RequestTransformerConfig> = {
  name: 'request-transformer',
  version: '3.9.0',
  priority: 801,

  init(conf): State {
    const headers = lowerCaseNames(ops(conf, 'headers'));
    knownHeaderNames([...headers.rename.map(([, to]) => to), ...[...headers.replace, ...headers.add, ...headers.append].map((p) => p.name)]);
    const querystring = ops(conf, 'querystring');
    const body = ops(conf, 'body');
    return {
      headers,
      querystring,
      body,
      uri: conf.replace.uri ? compileTemplate(conf.replace.uri) : null,
      method: conf.http_method ? conf.http_method.toUpperCase() : null,
      hasHeaderOps: !isEmpty(headers),
      hasQueryOps: !isEmpty(querystring),
      hasBodyOps: !isEmpty(body),
      queryFromNothing: queryFromNothing(querystring),
      rendersTemplates: !!conf.replace.uri || [headers, querystring, body].some(hasTemplates),
    };
  },

  bufferRequest: needsBody,

  access(ctx, _conf, state: State) {
    const env = state.rendersTemplates ? new RequestEnv(ctx) : NO_ENV;
    if (state.uri) {
      const path = render(state.uri, env);
      const query = splitUri(ctx.upstreamUri)[1];
      if (path) ctx.upstreamUri = query ? `${path}?${query}` : path;
    }
    if (state.method) transformMethod(ctx, state.method);
    if (state.hasHeaderOps) transformHeaders(ctx, state.headers, env);
    if (state.hasBodyOps) transformBody(ctx, state.body, env);
    if (state.hasQueryOps) transformQuery(ctx, state, env);
  },
};

export default requestTransformer;
