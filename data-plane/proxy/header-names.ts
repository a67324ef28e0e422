// undici lower-cases and token-checks, on every request, each header name that is missing from its
// table of well-known names (lib/core/constants.js, headerNameLowerCasedRecord): about 1–2 thousand
// instructions a name, 5 % of a proxied request for Kong's proxy headers alone. The names the gateway
// itself sends are constants or come from plugin configs, so they join that table once. Client-sent
// names do not (that would let clients grow it). Bounded, so config churn cannot grow it either.
import { createRequire } from 'node:module';
import { HTTP_TOKEN_RE } from '../../shared/schema/typedefs.js';

/** The most names this process adds to undici's table. */
export const MAX_KNOWN_HEADER_NAMES = 1000;

function undiciNameTable(): Record<string, string> | null {
  try {
    const t = createRequire(import.meta.url)('undici/lib/core/constants.js').headerNameLowerCasedRecord;
    return t !== null && typeof t === 'object' && t['content-type'] === 'content-type' ? t : null;
  } catch {
    return null; // another undici layout: names are checked per request, as before
  }
}

const table = undiciNameTable();
let added = 0;

/** Header names the gateway sends upstream, made known to undici. Returns how many it added. */
export function knownHeaderNames(names: Iterable<string>): number {
  if (table === null) return 0;
  let n = 0;
  for (const name of names) {
    if (added >= MAX_KNOWN_HEADER_NAMES) break;
    if (table[name] !== undefined || !HTTP_TOKEN_RE.test(name)) continue;
    table[name] = name.toLowerCase();
    added++;
    n++;
  }
  return n;
}

/** What undici takes `name` for: its lower-case form when known, else undefined (tests). */
export function undiciKnows(name: string): string | undefined {
  return table?.[name];
}
