// basic-auth (priority 1100): authenticate requests with `Basic` credentials, as Kong 3.x's
// basic-auth: Proxy-Authorization first, then Authorization; every failure is 401 "Unauthorized"
// with `WWW-Authenticate: Basic realm="<realm>"`; hide_credentials; anonymous (logical OR).
// Passwords are stored hashed (scrypt, or Kong's SHA1 for imported users); a successful check is
// remembered (keyed by credential, stored hash and a digest of the given password) so scrypt does
// not run on every request.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Row } from '../../../shared/snapshot.js';
import { verifyPassword } from '../../../shared/password.js';
import type { PluginHandler, PluginResponse, RequestContext, SnapshotIndex } from '../types.js';
import { authError, consumerLookup, orAnonymous, setConsumer, type ConsumerLookup } from '../auth/consumer.js';

export interface BasicAuthConfig {
  anonymous: string | null;
  hide_credentials: boolean;
  realm: string;
}

interface BasicCredential {
  row: Row;
  consumerId: string | null;
}

interface BasicAuthState extends ConsumerLookup {
  byUsername: ReadonlyMap<string, BasicCredential>;
  challenge: { 'WWW-Authenticate': string };
}

export function basicCredentials(index: SnapshotIndex): ReadonlyMap<string, BasicCredential> {
  return index.memo('basicauth_credentials.by_username', (snapshot) => {
    const m = new Map<string, BasicCredential>();
    for (const row of snapshot.basicauth_credentials ?? []) {
      if (typeof row.username !== 'string') continue;
      m.set(row.username, { row, consumerId: typeof row.consumer?.id === 'string' ? row.consumer.id : null });
    }
    return m;
  });
}

/** Successful verifications, process-wide (a new snapshot with the same hash keeps its entries). */
const verified = new LRUCache<string, true>({ max: 20_000, ttl: 10 * 60_000 });

function cacheKey(cred: BasicCredential, password: string): string {
  return createHash('sha256').update(`${cred.row.id}\0${cred.row.password}\0${password}`).digest('base64');
}

/** true at once for a remembered success; otherwise the (scrypt, off the event loop) check. */
function passwordMatches(cred: BasicCredential, password: string): true | Promise<boolean> {
  const key = cacheKey(cred, password);
  if (verified.get(key)) return true;
  return verifyPassword(password, cred.row.password, cred.consumerId ?? '').then((ok) => {
    if (ok) verified.set(key, true);
    return ok;
  });
}

const BASIC = /\s*[Bb]asic\s*(.+)/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Username and password of a `Basic` header value (undefined when absent or malformed). */
function parseBasic(value: string | undefined): { username: string; password: string } | undefined {
  if (value === undefined) return undefined;
  const m = BASIC.exec(value);
  if (!m) return undefined;
  const b64 = m[1].trim();
  if (!B64.test(b64)) return undefined;
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const parts = /^([^:]+):([\s\S]*)$/.exec(decoded);
  return parts ? { username: parts[1], password: parts[2] } : undefined;
}

function header(ctx: RequestContext, name: 'authorization' | 'proxy-authorization'): string | undefined {
  const v = ctx.req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

type Result = PluginResponse | undefined;

function authenticate(ctx: RequestContext, conf: BasicAuthConfig, st: BasicAuthState): Result | Promise<Result> {
  const unauthorized = () => authError(ctx, 401, 'Unauthorized', st.challenge);
  const proxyAuth = header(ctx, 'proxy-authorization');
  const auth = header(ctx, 'authorization');
  if (proxyAuth === undefined && auth === undefined) return unauthorized();

  let given = parseBasic(proxyAuth);
  if (conf.hide_credentials) delete ctx.upstreamHeaders['proxy-authorization'];
  let cred = given ? st.byUsername.get(given.username) : undefined;
  if (cred === undefined) {
    given = parseBasic(auth);
    if (conf.hide_credentials) delete ctx.upstreamHeaders.authorization;
    if (given === undefined) return unauthorized();
    cred = st.byUsername.get(given.username);
  }
  if (cred === undefined) return unauthorized();
  const found = cred;
  const matches = passwordMatches(found, given!.password);
  if (matches === true) return authenticated(ctx, st, found);
  return matches.then((ok) => (ok ? authenticated(ctx, st, found) : unauthorized()));
}

function authenticated(ctx: RequestContext, st: BasicAuthState, cred: BasicCredential): Result {
  const consumer = cred.consumerId === null ? undefined : st.consumersById.get(cred.consumerId);
  if (consumer === undefined) return authError(ctx, 500, 'An unexpected error occurred');
  setConsumer(ctx, consumer, cred.row, cred.row.username);
  return undefined;
}

export const basicAuth: PluginHandler<BasicAuthConfig> = {
  name: 'basic-auth',
  version: '3.9.0',
  priority: 1100,

  init(conf, _row, index): BasicAuthState {
    return {
      byUsername: basicCredentials(index),
      ...consumerLookup(index),
      challenge: { 'WWW-Authenticate': `Basic realm="${conf.realm ?? 'service'}"` },
    };
  },

  access(ctx, conf, st: BasicAuthState) {
    if (conf.anonymous && ctx.credential) return undefined;
    const r = authenticate(ctx, conf, st);
    if (r instanceof Promise) return r.then((failure) => orAnonymous(ctx, conf.anonymous, failure, st));
    return orAnonymous(ctx, conf.anonymous, r, st);
  },
};

export default basicAuth;
