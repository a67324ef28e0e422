// Request-path normalization before routing (Kong's kong.tools.uri.normalize with merge_slashes):
// %-decode unreserved characters only, upper-case the remaining escapes, merge "//", remove dot segments.

const HEX = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e // - . _ ~
  );
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Cheap test first: most request paths need no work at all. */
function needsWork(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 /* % */) return true;
    if (c === 0x2f /* / */ && i + 1 < path.length) {
      const n = path.charCodeAt(i + 1);
      if (n === 0x2f || n === 0x2e) return true;
    }
  }
  return false;
}

function decodeUnreserved(path: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) !== 0x25) continue;
    if (i + 2 >= path.length) break;
    const h = hexVal(path.charCodeAt(i + 1));
    const l = hexVal(path.charCodeAt(i + 2));
    if (h < 0 || l < 0) continue; // not an escape: leave as is
    const code = h * 16 + l;
    out += path.slice(last, i);
    out += isUnreserved(code) ? String.fromCharCode(code) : '%' + HEX[h] + HEX[l];
    last = i + 3;
    i += 2;
  }
  return last === 0 ? path : out + path.slice(last);
}

/** RFC 3986 §5.2.4 remove_dot_segments, applied after merging slashes. */
function removeDotSegments(path: string): string {
  const segs = path.split('/');
  const out: string[] = [];
  // segs[0] is '' for an absolute path
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      if (out.length) out.pop();
      if (last) out.push('');
    } else if (s === '' && !last) {
      // merged slash
    } else out.push(s);
  }
  return '/' + out.join('/');
}

export function normalizePath(path: string): string {
  if (!needsWork(path)) return path;
  let p = path.indexOf('%') >= 0 ? decodeUnreserved(path) : path;
  if (p.charCodeAt(0) !== 0x2f) p = '/' + p;
  return removeDotSegments(p);
}
