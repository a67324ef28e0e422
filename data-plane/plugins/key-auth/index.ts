// key-auth (priority 1250): authenticate requests with a consumer's API key, as Kong 3.x's key-auth:
// key names searched header → query → body, duplicate keys refused, hide_credentials, anonymous
// (logical OR), realm in WWW-Authenticate. Keys are one Map lookup in an index built once per
// snapshot; a credential created with `ttl` stops working when it expires.
import type { Row } from '../../../shared/snapshot.js';
import type { PluginHandler, PluginResponse, RequestContext, SnapshotIndex } from '../types.js';
import { authError, consumerLookup, orAnonymous, setConsumer, type ConsumerLookup } from '../auth/consumer.js';
import { bodyField, isMany, removeBodyField, withoutQueryArg } from '../auth/body.js';
import { queryValues } from '../request-transformer/query.js';

export interface KeyAuthConfig {
  key_names: string[];
  hide_credentials: boolean;
  anonymous: string | null;
  key_in_header: boolean;
  key_in_query: boolean;
  key_in_body: boolean;
  run_on_preflight: boolean;
  realm: string | null;
}

interface KeyCredential {
  row: Row;
  consumerId: string | null;
  /** Epoch seconds after which the key is refused (credential ttl); null = never. */
  expiresAt: number | null;
}

interface KeyAuthState extends ConsumerLookup {
  keys: ReadonlyMap<string, KeyCredential>;
  /** Per key name: the header names it matches (lower case, `_` also as `-`). */
  headerNames: string[][];
  challenge: { 'WWW-Authenticate': string };
}

export function keyCredentials(index: SnapshotIndex): ReadonlyMap<string, KeyCredential> {
  return index.memo('keyauth_credentials.by_key', (snapshot) => {
    const m = new Map<string, KeyCredential>();
    for (const row of snapshot.keyauth_credentials ?? []) {
      if (typeof row.key !== 'string') continue;
      m.set(row.key, {
        row,
        consumerId: typeof row.consumer?.id === 'string' ? row.consumer.id : null,
        expiresAt: typeof row.expires_at === 'number' && row.expires_at > 0 ? row.expires_at : null,
      });
    }
    return m;
  });
}

/** Values of the request headers named `names` (each occurrence). */
function headerValues(raw: string[], names: string[]): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    for (const want of names) {
      if (n.length === want.length && n.toLowerCase() === want) {
        (out ??= []).push(raw[i + 1]);
        break;
      }
    }
  }
  return out;
}

type Found = { key: string; name: string } | PluginResponse | undefined;

function findKey(ctx: RequestContext, conf: KeyAuthConfig, st: KeyAuthState): Found {
  for (let i = 0; i < conf.key_names.length; i++) {
    const name = conf.key_names[i];
    let v: string | undefined;
    let many = false;
    if (conf.key_in_header) {
      const values = headerValues(ctx.req.rawHeaders, st.headerNames[i]);
      if (values !== undefined) {
        if (values.length > 1) many = true;
        else v = values[0];
      }
    }
    if (v === undefined && !many && conf.key_in_query && ctx.query !== '') {
      const q = queryValues(ctx.query, name);
      if (q.length > 1) many = true;
      else if (typeof q[0] === 'string') v = q[0];
    }
    if (v === undefined && !many && conf.key_in_body) {
      const b = bodyField(ctx, name);
      if (isMany(b)) many = true;
      else v = b;
    }
    if (many) return authError(ctx, 401, 'Duplicate API key found');
    if (v !== undefined) return { key: v, name };
  }
  return undefined;
}

function authenticate(ctx: RequestContext, conf: KeyAuthConfig, st: KeyAuthState): PluginResponse | undefined {
  const found = findKey(ctx, conf, st);
  if (found !== undefined && 'status' in found) return found;
  if (found === undefined || found.key === '') return authError(ctx, 401, 'No API key found in request', st.challenge);

  const cred = st.keys.get(found.key);
  if (cred === undefined || (cred.expiresAt !== null && cred.expiresAt <= Date.now() / 1000)) {
    return authError(ctx, 401, 'Unauthorized', st.challenge);
  }
  const consumer = cred.consumerId === null ? undefined : st.consumersById.get(cred.consumerId);
  // Kong: the credential's consumer failed to load → 500 (a snapshot keeps them consistent).
  if (consumer === undefined) return authError(ctx, 500, 'An unexpected error occurred');

  if (conf.hide_credentials) {
    const name = found.name;
    delete ctx.upstreamHeaders[name.toLowerCase()];
    delete ctx.upstreamHeaders[name.toLowerCase().replace(/_/g, '-')];
    if (ctx.query !== '') ctx.upstreamUri = withoutQueryArg(ctx.upstreamUri, name);
    if (conf.key_in_body) removeBodyField(ctx, name);
  }
  setConsumer(ctx, consumer, cred.row, cred.row.id);
  return undefined;
}

export const keyAuth: PluginHandler<KeyAuthConfig> = {
  name: 'key-auth',
  version: '3.9.0',
  priority: 1250,

  init(conf, _row, index): KeyAuthState {
    return {
      keys: keyCredentials(index),
      ...consumerLookup(index),
      headerNames: conf.key_names.map((n) => [...new Set([n.toLowerCase(), n.toLowerCase().replace(/_/g, '-')])]),
      challenge: { 'WWW-Authenticate': conf.realm != null ? `Key realm="${conf.realm}"` : 'Key' },
    };
  },

  bufferRequest(conf) {
    return conf.key_in_body;
  },

  access(ctx, conf, st: KeyAuthState) {
    if (!conf.run_on_preflight && ctx.method === 'OPTIONS') return undefined;
    if (conf.anonymous && ctx.credential) return undefined;
    return orAnonymous(ctx, conf.anonymous, authenticate(ctx, conf, st), st);
  },
};

export default keyAuth;
