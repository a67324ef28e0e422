// jwt (priority 1450): authenticate requests with a JSON Web Token signed by a consumer's
// jwt_secrets credential, as Kong 3.x's jwt plugin: same token sources, checks, order of checks,
// 401 bodies (kong.response.exit: exact body, no request_id) and WWW-Authenticate values.
import type { Row } from '../../../shared/snapshot.js';
import type { PluginHandler, PluginResponse, RequestContext, SnapshotIndex } from '../types.js';
import { checkMaximumExpiration, decodeToken, retrieveTokens, verifyRegisteredClaims } from './token.js';
import { secretsByKey, verificationKey, verifySignature, type SecretsByKey } from './secrets.js';
import { setConsumer } from './consumer.js';

export interface JwtConfig {
  uri_param_names: string[] | null;
  cookie_names: string[] | null;
  header_names: string[] | null;
  key_claim_name: string;
  secret_is_base64: boolean;
  claims_to_verify: string[] | null;
  anonymous: string | null;
  run_on_preflight: boolean;
  maximum_expiration: number;
  realm: string | null;
}

interface JwtState {
  secrets: SecretsByKey;
  consumersById: ReadonlyMap<string, Row>;
  consumersByUsername: ReadonlyMap<string, Row>;
  /** WWW-Authenticate without and with `error="invalid_token"`. */
  challenge: string;
  challengeInvalid: string;
}

function consumersByUsername(index: SnapshotIndex): ReadonlyMap<string, Row> {
  return index.memo('consumers.by_username', (snapshot) => {
    const m = new Map<string, Row>();
    for (const c of snapshot.consumers ?? []) if (typeof c.username === 'string') m.set(c.username, c);
    return m;
  });
}

function unauthorized(body: unknown, challenge: string): PluginResponse {
  return { status: 401, body, headers: { 'WWW-Authenticate': challenge } };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A failure to authenticate (undefined = authenticated). */
async function authenticate(ctx: RequestContext, conf: JwtConfig, st: JwtState): Promise<PluginResponse | undefined> {
  const tokens = retrieveTokens(ctx, conf);
  if (tokens.length === 0) return unauthorized({ message: 'Unauthorized' }, st.challenge);
  if (tokens.length > 1) return unauthorized({ message: 'Multiple tokens provided' }, st.challengeInvalid);
  const token = tokens[0];
  if (typeof token !== 'string') return unauthorized({ message: 'Unrecognizable token' }, st.challengeInvalid);

  const decoded = decodeToken(token);
  if ('error' in decoded) return unauthorized({ message: `Bad token; ${decoded.error}` }, st.challengeInvalid);
  const jwt = decoded.jwt;

  const claimName = conf.key_claim_name;
  const raw = pick(jwt.claims[claimName]) ?? pick(jwt.header[claimName]);
  if (raw === undefined) return unauthorized({ message: `No mandatory '${claimName}' in claims` }, st.challengeInvalid);
  const keyValue = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : null;
  if (keyValue === '') return unauthorized({ message: `Invalid '${claimName}' in claims` }, st.challengeInvalid);

  const secret = keyValue === null ? undefined : st.secrets.get(keyValue);
  if (secret === undefined) return unauthorized({ message: `No credentials found for given '${claimName}'` }, st.challengeInvalid);
  if (jwt.header.alg !== secret.algorithm) return unauthorized({ message: 'Invalid algorithm' }, st.challengeInvalid);

  const key = verificationKey(secret, conf.secret_is_base64);
  if (key === null) return unauthorized({ message: 'Invalid key/secret' }, st.challengeInvalid);
  if (!(await verifySignature(jwt, key, secret.algorithm))) return unauthorized({ message: 'Invalid signature' }, st.challengeInvalid);

  const now = nowSeconds();
  const claimErrors = verifyRegisteredClaims(jwt.claims, conf.claims_to_verify, now);
  if (claimErrors) return unauthorized(claimErrors, st.challengeInvalid);
  const maxErrors = checkMaximumExpiration(jwt.claims, conf.maximum_expiration, now);
  if (maxErrors) return unauthorized(maxErrors, st.challengeInvalid);

  const consumer = secret.consumerId === null ? undefined : st.consumersById.get(secret.consumerId);
  if (consumer === undefined) return { status: 401, body: { message: `Could not find consumer for '${claimName}=${keyValue}'` } };

  setConsumer(ctx, consumer, secret.row);
  ctx.shared.authenticated_jwt_token = token;
  ctx.authenticatedJwt = { token, header: jwt.header, claims: jwt.claims, scopes: typeof jwt.claims.scope === 'string' ? jwt.claims.scope.split(' ').filter(Boolean) : [] };
  return undefined;
}

/** A claim/header value as Lua sees it: absent, null and false fall through to the next source. */
function pick(v: unknown): unknown {
  return v === undefined || v === null || v === false ? undefined : v;
}

export const jwt: PluginHandler<JwtConfig> = {
  name: 'jwt',
  version: '3.9.0',
  priority: 1450,

  init(conf, _row, index): JwtState {
    const realm = conf.realm;
    return {
      secrets: secretsByKey(index),
      consumersById: index.consumersById,
      consumersByUsername: consumersByUsername(index),
      challenge: realm != null ? `Bearer realm="${realm}"` : 'Bearer',
      challengeInvalid: realm != null ? `Bearer realm="${realm}", error="invalid_token"` : 'Bearer error="invalid_token"',
    };
  },

  async access(ctx, conf, st: JwtState) {
    if (!conf.run_on_preflight && ctx.method === 'OPTIONS') return undefined;
    // Logical OR with another auth plugin that already identified a credential.
    if (conf.anonymous && ctx.credential) return undefined;

    const failure = await authenticate(ctx, conf, st);
    if (failure === undefined) return undefined;
    if (!conf.anonymous) return failure;

    const anon = st.consumersById.get(conf.anonymous) ?? st.consumersByUsername.get(conf.anonymous);
    if (anon === undefined) {
      return { status: 500, body: { message: `anonymous consumer ${conf.anonymous} is configured but doesn't exist`, request_id: ctx.requestId } };
    }
    setConsumer(ctx, anon, null);
    return undefined;
  },
};

export default jwt;
