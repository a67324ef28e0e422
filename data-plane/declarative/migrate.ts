// Files in the older formats ("1.1", "2.1") had regex route paths without the `~` prefix.
// Kong migrates them on load: a path made only of unreserved characters (plus `/` and `%`) is a
// prefix path and gets normalized; anything else is a regex and gets `~` prepended.
import { normalizePrefixPath } from '../../shared/schema/entities/routes.js';
import { isPlainObject } from '../../shared/schema/validate.js';

const PREFIX_PATH = /^[a-zA-Z0-9.\-_~/%]*$/;
const RESERVED = new Set('!#$%&\'()*+,/:;=?@[]'.split('').map((c) => c.charCodeAt(0)));
const REGEX_META = new Set('.^-{}\\|'.split('').map((c) => c.charCodeAt(0)));

/** Percent-decodes a regex path once, as 3.0 no longer decodes route paths at match time. */
function normalizeRegex(re: string): string {
  if (!re.includes('%')) return re;
  return re.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const n = parseInt(hex, 16);
    if (RESERVED.has(n)) return m.toUpperCase();
    const c = String.fromCharCode(n);
    return REGEX_META.has(n) ? `\\${c}` : c;
  });
}

export function migratePath(path: string): string {
  if (PREFIX_PATH.test(path)) return normalizePrefixPath(path);
  return `~${normalizeRegex(path)}`;
}

function migrateRoutes(routes: unknown): void {
  if (!Array.isArray(routes)) return;
  for (const r of routes) {
    if (!isPlainObject(r) || !Array.isArray(r.paths)) continue;
    r.paths = r.paths.map((p: unknown) => (typeof p === 'string' && !p.startsWith('~') ? migratePath(p) : p));
  }
}

/** Upgrades a parsed 1.1/2.1 document in place to 3.0 semantics (top-level and service-nested routes). */
export function migrateToLatest(doc: Record<string, any>): void {
  if (doc._format_version !== '1.1' && doc._format_version !== '2.1') return;
  migrateRoutes(doc.routes);
  if (Array.isArray(doc.services)) for (const s of doc.services) if (isPlainObject(s)) migrateRoutes(s.routes);
}
