// Admin API authentication: bearer tokens with a read-only or read-write role. Required as soon as
// the Admin API listens beyond loopback (Kong's OSS Admin API has no auth at all; ours is never
// open to the world by accident).
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../../shared/config.js';
import { parseListen } from '../../shared/config.js';
import type { AdminRequest, PreHandler, Reply } from './server.js';

export type AdminRole = 'read-only' | 'read-write';
interface AdminToken {
  digest: Buffer;
  role: AdminRole;
}

const MIN_TOKEN_LENGTH = 16;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** POSTs that change nothing (schema validation) are allowed to read-only tokens. */
const READ_ONLY_POSTS = /^\/schemas\/(plugins\/)?[^/]+\/?validate$|^\/schemas\/validate$/;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** `admin_tokens` entries are `ro:<token>` / `rw:<token>` (a bare token is read-write). */
export function parseAdminTokens(entries: readonly string[]): AdminToken[] {
  return entries.map((entry) => {
    const m = /^(ro|rw|read-only|read-write):(.*)$/.exec(entry);
    const token = m ? m[2] : entry;
    const role: AdminRole = m && (m[1] === 'ro' || m[1] === 'read-only') ? 'read-only' : 'read-write';
    if (token.length < MIN_TOKEN_LENGTH)
      throw new Error(`invalid admin_tokens entry: tokens must be at least ${MIN_TOKEN_LENGTH} characters`);
    return { digest: digest(token), role };
  });
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** Refuses to expose the Admin API beyond loopback without tokens. */
export function assertAdminExposure(config: Config): void {
  const exposed = parseListen(config.admin_listen).filter((l) => !isLoopback(l.host));
  if (exposed.length && config.admin_tokens.length === 0)
    throw new Error(
      `admin_listen ${exposed.map((l) => `${l.host}:${l.port}`).join(', ')} is reachable beyond loopback: set admin_tokens (e.g. SILVERBACK_ADMIN_TOKENS=rw:<secret>) to protect it`,
    );
}

function presented(req: AdminRequest): string | undefined {
  const custom = req.headers['silverback-admin-token'];
  if (typeof custom === 'string' && custom) return custom;
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m ? m[1].trim() : undefined;
}

const unauthorized: Reply = {
  status: 401,
  body: { message: 'Unauthorized' },
  headers: { 'WWW-Authenticate': 'Bearer realm="silverback-admin"' },
};
const forbidden: Reply = { status: 403, body: { message: 'Forbidden: this token is read-only' } };

/** The Admin API pre-handler enforcing tokens; undefined when no tokens are configured. */
export function adminTokenGuard(config: Config): PreHandler | undefined {
  const tokens = parseAdminTokens(config.admin_tokens);
  if (tokens.length === 0) return undefined;
  return (req) => {
    const given = presented(req);
    if (!given) return unauthorized;
    const d = digest(given);
    const match = tokens.find((t) => timingSafeEqual(t.digest, d));
    if (!match) return unauthorized;
    const isRead = READ_METHODS.has(req.method) || (req.method === 'POST' && READ_ONLY_POSTS.test(req.path));
    if (!isRead && match.role === 'read-only') return forbidden;
    return undefined;
  };
}
