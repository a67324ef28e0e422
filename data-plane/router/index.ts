// Kong 3.x `traditional_compatible` router, compiled once per snapshot.
//
// Every route is split per path group (all regex paths, or all prefixes of one length), each group
// becomes a Candidate with Kong's priority (match weight, plain-hosts bit, header count, regex bit,
// regex_priority, prefix length) turned into a global rank. Candidates are indexed by host bucket
// (exact, `*.suffix`, `prefix.*`, any host) and inside a bucket by exact prefix string, so a request
// does a handful of map lookups and only evaluates candidates that can still beat the best so far.
import type { IncomingHttpHeaders } from 'node:http';
import type { Row } from '../../shared/snapshot.js';
import { normalizePath } from './normalize.js';
import { upstreamPath } from './upstream-uri.js';

export { normalizePath } from './normalize.js';
export { upstreamPath } from './upstream-uri.js';

export interface RouterInput {
  method: string;
  /** Normalized request path, no query string. */
  path: string;
  /** Host header as sent (may carry a port); '' when absent. */
  host: string;
  headers: IncomingHttpHeaders;
  /**
   * The request's header lines as node received them (name, value, name, value…). When present, header
   * conditions read every line of a repeated header from it (node's `headers` keeps only the first line of
   * some headers and joins the others with ", ").
   */
  rawHeaders?: string[];
  /** Port the request arrived on: a route host's `:port` is compared with it when the Host header has none. */
  localPort?: number;
  /** TLS server name, null on plain HTTP. */
  sni?: string | null;
}

export interface RouteMatch {
  route: Row;
  service: Row | null;
  /** The matched prefix / whole regex match, null for routes without paths. */
  matchedPath: string | null;
  /** What strip_path removed (X-Forwarded-Prefix), null when nothing was stripped. */
  strippedPrefix: string | null;
  uriCaptures: Record<string, string>;
  /** Upstream path (without query) per strip_path × path_handling × service.path. */
  upstreamPath: string;
}

export interface Router {
  match(input: RouterInput): RouteMatch | null;
  /** Routes that could not be compiled (bad regex...): skipped, like Kong logs and skips them. */
  readonly errors: { routeId: string; message: string }[];
  readonly size: number;
}

type HostRule = { kind: 0 | 1 | 2; value: string; port: number }; // 0 exact, 1 suffix (*.x), 2 prefix (x.*)
type HeaderRule = { name: string; values: string[]; regexes: RegExp[] };

export const EMPTY_CAPTURES: Record<string, string> = Object.freeze({}) as Record<string, string>;

class Candidate {
  rank = 0;
  constructor(
    readonly route: Row,
    readonly service: Row | null,
    readonly order: number,
    readonly methods: string[] | null,
    readonly hosts: HostRule[] | null,
    readonly headers: HeaderRule[] | null,
    readonly snis: string[] | null,
    readonly prefixes: string[] | null,
    readonly regexes: RegExp[] | null,
    readonly servicePath: string,
    readonly stripPath: boolean,
    readonly pathHandling: string,
    // priority fields
    readonly weight: number,
    readonly plainHosts: boolean,
    readonly headerCount: number,
    readonly regexPriority: number,
    readonly prefixLength: number,
  ) {}
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
}

function comparePriority(a: Candidate, b: Candidate): number {
  return (
    b.weight - a.weight ||
    Number(b.plainHosts) - Number(a.plainHosts) ||
    b.headerCount - a.headerCount ||
    Number(b.regexes !== null) - Number(a.regexes !== null) ||
    b.regexPriority - a.regexPriority ||
    b.prefixLength - a.prefixLength ||
    a.order - b.order
  );
}

function compileRegexPath(path: string): RegExp {
  // Kong's regex dialect (PCRE / Rust regex) spells named groups (?P<name>…) too.
  const src = path.slice(1).replace(/\(\?P</g, '(?<');
  return new RegExp(`^(?:${src})`);
}

function compileHosts(hosts: string[]): HostRule[] {
  return hosts.map((raw) => {
    let h = raw.toLowerCase();
    let port = 0;
    const m = /^(.*):(\d+)$/.exec(h);
    if (m && !h.endsWith(']')) {
      h = m[1];
      port = Number(m[2]);
    }
    if (h.startsWith('*.')) return { kind: 1 as const, value: h.slice(1), port };
    if (h.endsWith('.*')) return { kind: 2 as const, value: h.slice(0, -1), port };
    return { kind: 0 as const, value: h, port };
  });
}

function compileHeaders(headers: Record<string, string[]>): HeaderRule[] {
  return Object.keys(headers).map((name) => {
    const values: string[] = [];
    const regexes: RegExp[] = [];
    for (const v of headers[name] ?? []) {
      if (v.startsWith('~*')) regexes.push(new RegExp(v.slice(2), 'i'));
      else values.push(v.toLowerCase());
    }
    return { name: name.toLowerCase(), values, regexes };
  });
}

/** Split the Host header into the lower-case host and numeric port (0 when none): sets reqHost/reqPort. */
function splitHost(raw: string): void {
  // clients repeat the same Host: keep the last split
  if (raw === lastRawHost) {
    reqHost = lastHost;
    reqPort = lastPort;
    return;
  }
  let colon = raw.lastIndexOf(':');
  if (colon >= 0 && raw.charCodeAt(0) === 0x5b /* [ */ && raw.indexOf(']') > colon) colon = -1;
  reqHost = (colon >= 0 ? raw.slice(0, colon) : raw).toLowerCase();
  reqPort = colon >= 0 ? Number(raw.slice(colon + 1)) || 0 : 0;
  lastRawHost = raw;
  lastHost = reqHost;
  lastPort = reqPort;
}

// Scratch state of the match in progress (the router is synchronous, so module-level is safe).
let reqHost = '';
let reqPort = 0;
let lastRawHost: string | null = null;
let lastHost = '';
let lastPort = 0;

function headerValueMatches(rule: HeaderRule, value: string): boolean {
  const lower = value.toLowerCase();
  for (let i = 0; i < rule.values.length; i++) if (rule.values[i] === lower) return true;
  for (let i = 0; i < rule.regexes.length; i++) if (rule.regexes[i].test(lower)) return true;
  return false;
}

/** Kong's `any(lower(http.headers.<name>)) == value`: true when one line of the header matches. */
function matchHeaders(rules: HeaderRule[], input: RouterInput): boolean {
  const raw = input.rawHeaders;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    let hit = false;
    if (raw !== undefined) {
      const len = rule.name.length;
      for (let j = 0; j < raw.length && !hit; j += 2) {
        const n = raw[j];
        if (n.length === len && (n === rule.name || n.toLowerCase() === rule.name)) hit = headerValueMatches(rule, raw[j + 1]);
      }
    } else {
      const v = input.headers[rule.name];
      if (Array.isArray(v)) hit = v.some((x) => headerValueMatches(rule, x));
      else if (v !== undefined) hit = headerValueMatches(rule, v);
    }
    if (!hit) return false;
  }
  return true;
}

function matchHost(rules: HostRule[]): boolean {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.port !== 0 && r.port !== reqPort) continue;
    if (r.kind === 0 ? reqHost === r.value : r.kind === 1 ? reqHost.endsWith(r.value) && reqHost.length > r.value.length : reqHost.startsWith(r.value) && reqHost.length > r.value.length) return true;
  }
  return false;
}

/** Everything except the path (the index already chose candidates by path). */
function matchNonPath(c: Candidate, input: RouterInput): boolean {
  if (c.methods !== null && !c.methods.includes(input.method)) return false;
  if (c.hosts !== null && !matchHost(c.hosts)) return false;
  if (c.snis !== null) {
    const sni = input.sni;
    if (!sni || !c.snis.includes(sni.toLowerCase())) return false;
  }
  if (c.headers !== null && !matchHeaders(c.headers, input)) return false;
  return true;
}

class PathIndex {
  lens: number[] = [];
  byPrefix = new Map<string, Candidate[]>();
  regex: Candidate[] = [];
  noPath: Candidate[] = [];

  add(c: Candidate): void {
    if (c.regexes) this.regex.push(c);
    else if (c.prefixes) {
      for (const p of c.prefixes) {
        let list = this.byPrefix.get(p);
        if (!list) this.byPrefix.set(p, (list = []));
        if (!list.includes(c)) list.push(c);
        if (!this.lens.includes(p.length)) this.lens.push(p.length);
      }
    } else this.noPath.push(c);
  }

  finish(): void {
    this.lens.sort((a, b) => b - a);
    const byRank = (a: Candidate, b: Candidate) => a.rank - b.rank;
    this.regex.sort(byRank);
    this.noPath.sort(byRank);
    for (const list of this.byPrefix.values()) list.sort(byRank);
  }
}

/** Best match found so far across the buckets searched for one request. */
let best: Candidate | null = null;
let bestRegexMatch: RegExpExecArray | null = null;
let bestPrefix: string | null = null;

function searchIndex(idx: PathIndex, input: RouterInput): void {
  const path = input.path;
  const lens = idx.lens;
  for (let i = 0; i < lens.length; i++) {
    const len = lens[i];
    if (len > path.length) continue;
    const list = idx.byPrefix.get(len === path.length ? path : path.slice(0, len));
    if (list === undefined) continue;
    for (let j = 0; j < list.length; j++) {
      const c = list[j];
      if (best !== null && c.rank >= best.rank) break;
      if (matchNonPath(c, input)) {
        best = c;
        bestPrefix = path.slice(0, len);
        bestRegexMatch = null;
        break;
      }
    }
  }
  const regex = idx.regex;
  for (let j = 0; j < regex.length; j++) {
    const c = regex[j];
    if (best !== null && c.rank >= best.rank) break;
    if (!matchNonPath(c, input)) continue;
    const res = c.regexes as RegExp[];
    let m: RegExpExecArray | null = null;
    for (let k = 0; k < res.length && m === null; k++) m = res[k].exec(path);
    if (m !== null) {
      best = c;
      bestRegexMatch = m;
      bestPrefix = null;
      break;
    }
  }
  const noPath = idx.noPath;
  for (let j = 0; j < noPath.length; j++) {
    const c = noPath[j];
    if (best !== null && c.rank >= best.rank) break;
    if (matchNonPath(c, input)) {
      best = c;
      bestRegexMatch = null;
      bestPrefix = null;
      break;
    }
  }
}

function capturesOf(m: RegExpExecArray): Record<string, string> {
  if (m.length <= 1) return EMPTY_CAPTURES;
  const caps: Record<string, string> = {};
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) caps[String(i)] = m[i];
  if (m.groups) for (const k of Object.keys(m.groups)) if (m.groups[k] !== undefined) caps[k] = m.groups[k];
  return caps;
}

function isHttpRoute(route: Row): boolean {
  const protocols: string[] | null = route.protocols ?? null;
  if (!protocols || protocols.length === 0) return true;
  return protocols.includes('http') || protocols.includes('https');
}

/** Compile routes (and their services) into a router. Routes of disabled services are not routed. */
export function compileRouter(routes: Row[], services: Row[]): Router {
  const servicesById = new Map<string, Row>();
  for (const s of services) servicesById.set(s.id, s);
  const errors: { routeId: string; message: string }[] = [];
  const candidates: Candidate[] = [];

  routes.forEach((route, order) => {
    if (!isHttpRoute(route)) return;
    let service: Row | null = null;
    if (route.service && route.service.id) {
      service = servicesById.get(route.service.id) ?? null;
      if (!service) {
        errors.push({ routeId: route.id, message: `service ${route.service.id} not found` });
        return;
      }
      if (service.enabled === false) return;
    }
    try {
      const methods = isEmpty(route.methods) ? null : (route.methods as string[]).map((m) => m.toUpperCase());
      const hosts = isEmpty(route.hosts) ? null : compileHosts(route.hosts);
      const headers = isEmpty(route.headers) ? null : compileHeaders(route.headers);
      const snis = isEmpty(route.snis) ? null : (route.snis as string[]).map((s) => s.toLowerCase().replace(/\.$/, ''));
      const plainHosts = Array.isArray(route.hosts) && !(route.hosts as string[]).some((h) => h.includes('*'));
      const headerCount = headers ? Math.min(headers.length, 255) : 0;
      const baseWeight = (methods ? 1 : 0) + (hosts ? 1 : 0) + (headers ? 1 : 0) + (snis ? 1 : 0);
      const servicePath: string = service?.path || '/';
      const stripPath = route.strip_path !== false;
      const pathHandling: string = route.path_handling || 'v0';
      const make = (prefixes: string[] | null, regexes: RegExp[] | null, len: number) =>
        new Candidate(
          route, service, order, methods, hosts, headers, snis, prefixes, regexes, servicePath, stripPath, pathHandling,
          baseWeight + (prefixes || regexes ? 1 : 0), plainHosts, headerCount,
          regexes ? Number(route.regex_priority) || 0 : 0, len,
        );
      if (isEmpty(route.paths)) {
        candidates.push(make(null, null, 0));
        return;
      }
      // split per path group like Kong: all regex paths together, prefixes grouped by length
      const regexes: RegExp[] = [];
      const byLen = new Map<number, string[]>();
      for (const p of route.paths as string[]) {
        if (p.startsWith('~')) regexes.push(compileRegexPath(p));
        else {
          const np = normalizePath(p);
          const list = byLen.get(np.length) ?? [];
          if (!list.includes(np)) list.push(np);
          byLen.set(np.length, list);
        }
      }
      if (regexes.length) candidates.push(make(null, regexes, 0));
      for (const [len, list] of byLen) candidates.push(make(list, null, len));
    } catch (err) {
      errors.push({ routeId: route.id, message: (err as Error).message });
    }
  });

  candidates.sort(comparePriority);
  candidates.forEach((c, i) => (c.rank = i));

  const anyHost = new PathIndex();
  const exact = new Map<string, PathIndex>();
  const suffix = new Map<string, PathIndex>();
  const prefix = new Map<string, PathIndex>();
  const bucket = (map: Map<string, PathIndex>, key: string) => {
    let idx = map.get(key);
    if (!idx) map.set(key, (idx = new PathIndex()));
    return idx;
  };
  for (const c of candidates) {
    if (!c.hosts) {
      anyHost.add(c);
      continue;
    }
    const seen = new Set<PathIndex>();
    for (const h of c.hosts) {
      const idx = bucket(h.kind === 0 ? exact : h.kind === 1 ? suffix : prefix, h.value);
      if (!seen.has(idx)) idx.add(c);
      seen.add(idx);
    }
  }
  anyHost.finish();
  for (const m of [exact, suffix, prefix]) for (const idx of m.values()) idx.finish();
  const hasSuffix = suffix.size > 0;
  const hasPrefix = prefix.size > 0;
  const hasExact = exact.size > 0;

  function match(input: RouterInput): RouteMatch | null {
    best = null;
    bestRegexMatch = null;
    bestPrefix = null;
    if (hasExact || hasSuffix || hasPrefix) {
      splitHost(input.host || '');
      // Kong's net.dst.port: the Host header's port, else the port the request came in on
      if (reqPort === 0 && input.localPort !== undefined) reqPort = input.localPort;
      if (hasExact) {
        const idx = exact.get(reqHost);
        if (idx !== undefined) searchIndex(idx, input);
      }
      if (hasSuffix || hasPrefix) {
        for (let i = reqHost.indexOf('.'); i >= 0; i = reqHost.indexOf('.', i + 1)) {
          if (hasSuffix) {
            const idx = suffix.get(reqHost.slice(i));
            if (idx !== undefined) searchIndex(idx, input);
          }
          if (hasPrefix) {
            const idx = prefix.get(reqHost.slice(0, i + 1));
            if (idx !== undefined) searchIndex(idx, input);
          }
        }
      }
    }
    searchIndex(anyHost, input);
    const c = best as Candidate | null;
    if (c === null) return null;
    const m = bestRegexMatch as RegExpExecArray | null;
    const matchedPath = m !== null ? m[0] : bestPrefix;
    best = null;
    bestRegexMatch = null;
    return {
      route: c.route,
      service: c.service,
      matchedPath,
      strippedPrefix: c.stripPath && matchedPath !== null ? matchedPath : null,
      uriCaptures: m !== null ? capturesOf(m) : EMPTY_CAPTURES,
      upstreamPath: upstreamPath(c.servicePath, input.path, c.stripPath, c.pathHandling, matchedPath),
    };
  }

  return { match, errors, size: candidates.length };
}
