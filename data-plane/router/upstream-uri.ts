// Upstream path from (service.path, route.strip_path, route.path_handling, request path, matched part),
// following Kong's truth table (spec/fixtures/router_path_handling_tests.lua), v0 and v1.

/** Kong drops a leading "." / ".." segment left over after stripping the matched prefix. */
function sanitizePostfix(p: string): string {
  if (p === '') return p;
  if (p === '.' || p === '..') return '';
  if (p.startsWith('./')) return p.slice(2);
  if (p.startsWith('../')) return p.slice(3);
  return p;
}

/**
 * @param base      service.path, or '/' when the service has none
 * @param reqPath   normalized request path (no query)
 * @param matched   the matched prefix / whole regex match (null when the route has no paths)
 */
export function upstreamPath(base: string, reqPath: string, stripPath: boolean, pathHandling: string, matched: string | null): string {
  const strip = stripPath;
  // the common case (service path '/', path kept) is the request path itself: no new string
  if (!strip && base === '/' && reqPath.charCodeAt(0) === 0x2f) return reqPath;
  const postfix = sanitizePostfix(strip && matched !== null ? reqPath.slice(matched.length) : reqPath.slice(1));
  const baseEndsSlash = base.charCodeAt(base.length - 1) === 0x2f;

  if (pathHandling === 'v1') {
    if (!strip) return base + reqPath.slice(1);
    if (baseEndsSlash && postfix.charCodeAt(0) === 0x2f) return base.slice(0, -1) + postfix;
    return base + postfix;
  }

  // v0
  if (baseEndsSlash) {
    if (!strip) return base + reqPath.slice(1);
    if (postfix === '') {
      if (base === '/') return '/';
      return reqPath.charCodeAt(reqPath.length - 1) === 0x2f ? base : base.slice(0, -1);
    }
    if (postfix.charCodeAt(0) === 0x2f) return base.slice(0, -1) + postfix;
    return base + postfix;
  }
  if (!strip) return reqPath === '/' ? base : base + reqPath;
  if (postfix === '') return reqPath.length > 1 && reqPath.charCodeAt(reqPath.length - 1) === 0x2f ? base + '/' : base;
  if (postfix.charCodeAt(0) === 0x2f) return base + postfix;
  return base + '/' + postfix;
}
