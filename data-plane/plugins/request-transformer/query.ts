// Query strings as Kong's kong.request.get_query / ngx.encode_args see them: '+' is a space,
// a key without '=' is `true`, repeated keys collect into arrays, insertion order is kept.
export type QueryValue = string | true | (string | true)[];
export type Query = Map<string, QueryValue>;

/** One key or value: '+' is a space, then percent-decoding (left as is when malformed). */
export function decodeQueryComponent(s: string): string {
  // most keys and values (tokens, ids) have nothing to decode
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function parseQuery(raw: string): Query {
  const out: Query = new Map();
  if (!raw) return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    if (key === '') continue;
    const value: string | true = eq < 0 ? true : decodeQueryComponent(part.slice(eq + 1));
    const prev = out.get(key);
    if (prev === undefined) out.set(key, value);
    else if (Array.isArray(prev)) prev.push(value);
    else out.set(key, [prev, value]);
  }
  return out;
}

/** What parseQuery(raw).get(name) holds, as a list in order, without building the Map: [] when absent. */
export function queryValues(raw: string, name: string): (string | true)[] {
  const out: (string | true)[] = [];
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end < 0) end = raw.length;
    if (end > start) {
      const eq = raw.indexOf('=', start);
      const keyEnd = eq >= 0 && eq < end ? eq : end;
      const key = raw.slice(start, keyEnd);
      const encoded = key.includes('%') || key.includes('+');
      if (key !== '' && (key === name || (encoded && decodeQueryComponent(key) === name))) {
        out.push(keyEnd === end ? true : decodeQueryComponent(raw.slice(keyEnd + 1, end)));
      }
    }
    start = end + 1;
  }
  return out;
}

const enc = (s: string) => encodeURIComponent(s);

export function encodeQuery(q: Query): string {
  let out = '';
  for (const [k, v] of q) {
    const key = enc(k);
    if (Array.isArray(v)) {
      for (const item of v) out += (out === '' ? '' : '&') + (item === true ? key : key + '=' + enc(item));
    } else out += (out === '' ? '' : '&') + (v === true ? key : key + '=' + enc(v));
  }
  return out;
}

/** First value of a query parameter as a string (Kong renders `true` as "true"). */
export function queryToObject(q: Query): Record<string, QueryValue> {
  return Object.fromEntries(q);
}
