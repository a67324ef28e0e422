// jwt (priority 1450): authenticate requests with a JSON Web Token signed by a consumer's
// jwt_secrets credential, as Kong 3.x's jwt plugin: same token sources, checks, order of checks,
// 401 bodies (kong.response.exit: exact body, no request_id) and WWW-Authenticate values.
// Beyond Kong: credentials whose keys come from a JWKS (URL or inline, selected by kid, rotation
// followed), consumer-less `issuers` (Cognito user pools, any OIDC issuer), `claims_to_headers`,
// `leeway`, and the verified token in ctx.authenticatedJwt for later plugins (aws-lambda).
// A token verified once with a key is not verified again with that key (LRU by token).
import type { KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Row } from '../../../shared/snapshot.js';
import type { PluginHandler, PluginResponse, RequestContext } from '../types.js';
import { ASYMMETRIC_ALGS, checkMaximumExpiration, decodeToken, retrieveTokens, verifyRegisteredClaims, type DecodedJwt } from './token.js';
import { jwksKey, secretsByKey, usesJwks, verificationKey, verifySignature, type JwtSecret, type SecretsByKey } from './secrets.js';
import { jwksCache, type JwkKey, type JwksOptions } from './jwks.js';
import { checkIssuerClaims, compileIssuers, type Issuer, type IssuerConfig } from './issuers.js';
import { consumerLookup, orAnonymous, setConsumer, type ConsumerLookup } from '../auth/consumer.js';
import { knownHeaderNames } from '../../proxy/header-names.js';

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
  issuers?: IssuerConfig[] | null;
  claims_to_headers?: Record<string, string> | null;
  leeway?: number | null;
  jwks_min_ttl?: number | null;
  jwks_max_ttl?: number | null;
  jwks_refetch_interval?: number | null;
  jwks_timeout?: number | null;
}

interface JwtState extends ConsumerLookup {
  secrets: SecretsByKey;
  issuers: Map<string, Issuer>;
  /** [claim, upstream header (lower case)] pairs. */
  claimHeaders: [string, string][];
  jwks: JwksOptions;
  leeway: number;
  /** claims_to_verify plus exp (always verified for issuers). */
  issuerClaims: Set<string>;
  /** WWW-Authenticate without and with `error="invalid_token"`. */
  challenge: string;
  challengeInvalid: string;
}

interface CachedToken {
  jwt: DecodedJwt;
  /** The key the signature was verified with (verification is not repeated with the same key). */
  verifiedWith: KeyObject | null;
}

/** Decoded tokens, and which key verified them, process-wide. */
const tokens = new LRUCache<string, CachedToken>({ max: 10_000, maxSize: 32 * 1024 * 1024, sizeCalculation: (_v, k) => k.length * 2 + 512 });

function unauthorized(body: unknown, challenge: string): PluginResponse {
  return { status: 401, body, headers: { 'WWW-Authenticate': challenge } };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

type Result = PluginResponse | undefined;

function signatureValid(entry: CachedToken, key: KeyObject, alg: string): boolean {
  if (entry.verifiedWith === key) return true;
  if (!verifySignature(entry.jwt, key, alg)) return false;
  entry.verifiedWith = key;
  return true;
}

function scopesOf(claims: Record<string, unknown>): string[] {
  const s = claims.scope ?? claims.scp;
  if (typeof s === 'string') return s.split(/\s+/).filter(Boolean);
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  return [];
}

function headerValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(', ');
  return JSON.stringify(v);
}

/** What later plugins see of the verified token; claims headers upstream. */
function authenticated(ctx: RequestContext, st: JwtState, jwt: DecodedJwt): void {
  ctx.authenticatedJwt = { token: jwt.token, header: jwt.header, claims: jwt.claims, scopes: scopesOf(jwt.claims) };
  ctx.shared.authenticated_jwt_token = jwt.token;
  for (const [claim, header] of st.claimHeaders) {
    const v = headerValue(jwt.claims[claim]);
    if (v !== undefined) ctx.upstreamHeaders[header] = v;
  }
}

/** A consumer-less issuer's token: keys from its JWKS, exp always, then token_use and audiences. */
function authenticateIssuer(ctx: RequestContext, st: JwtState, entry: CachedToken, issuer: Issuer): Result | Promise<Result> {
  const jwt = entry.jwt;
  const alg = jwt.header.alg as string;
  if (!ASYMMETRIC_ALGS.has(alg)) return unauthorized({ message: 'Invalid algorithm' }, st.challengeInvalid);
  const cached = jwksCache.peek(issuer.jwksUri, jwt.header.kid);
  if (cached !== undefined) return issuerKeyed(ctx, st, entry, issuer, cached);
  return jwksCache.key(issuer.jwksUri, jwt.header.kid, st.jwks).then((jwk) => issuerKeyed(ctx, st, entry, issuer, jwk));
}

function issuerKeyed(ctx: RequestContext, st: JwtState, entry: CachedToken, issuer: Issuer, jwk: JwkKey | undefined): Result {
  const jwt = entry.jwt;
  const alg = jwt.header.alg as string;
  if (jwk === undefined) return unauthorized({ message: 'Invalid key/secret' }, st.challengeInvalid);
  if (jwk.alg !== null && jwk.alg !== alg) return unauthorized({ message: 'Invalid algorithm' }, st.challengeInvalid);
  if (!signatureValid(entry, jwk.key, alg)) return unauthorized({ message: 'Invalid signature' }, st.challengeInvalid);

  const toVerify = jwt.claims.nbf !== undefined && !st.issuerClaims.has('nbf') ? [...st.issuerClaims, 'nbf'] : st.issuerClaims;
  const claimErrors = verifyRegisteredClaims(jwt.claims, toVerify, nowSeconds(), st.leeway);
  if (claimErrors) return unauthorized(claimErrors, st.challengeInvalid);
  const claimError = checkIssuerClaims(issuer, jwt.claims);
  if (claimError) return unauthorized({ message: claimError }, st.challengeInvalid);

  if (issuer.consumerRef !== null) {
    if (issuer.consumer === undefined) return { status: 401, body: { message: `Could not find consumer for 'iss=${issuer.iss}'` } };
    setConsumer(ctx, issuer.consumer, issuer.credential, issuer.iss);
  } else {
    ctx.credential = issuer.credential;
    const h = ctx.upstreamHeaders;
    delete h['x-consumer-id'];
    delete h['x-consumer-custom-id'];
    delete h['x-consumer-username'];
    delete h['x-anonymous-consumer'];
    h['x-credential-identifier'] = issuer.iss;
  }
  const groups = jwt.claims['cognito:groups'];
  if (Array.isArray(groups) && groups.every((g) => typeof g === 'string')) ctx.authenticatedGroups = groups;
  authenticated(ctx, st, jwt);
  return undefined;
}

/** A failure to authenticate (undefined = authenticated); a promise only when keys must be fetched. */
function authenticate(ctx: RequestContext, conf: JwtConfig, st: JwtState): Result | Promise<Result> {
  const found = retrieveTokens(ctx, conf);
  if (found.length === 0) return unauthorized({ message: 'Unauthorized' }, st.challenge);
  if (found.length > 1) return unauthorized({ message: 'Multiple tokens provided' }, st.challengeInvalid);
  const token = found[0];
  if (typeof token !== 'string') return unauthorized({ message: 'Unrecognizable token' }, st.challengeInvalid);

  let entry = tokens.get(token);
  if (entry === undefined) {
    const decoded = decodeToken(token);
    if ('error' in decoded) return unauthorized({ message: `Bad token; ${decoded.error}` }, st.challengeInvalid);
    entry = { jwt: decoded.jwt, verifiedWith: null };
    tokens.set(token, entry);
  }
  const jwt = entry.jwt;

  if (st.issuers.size > 0 && typeof jwt.claims.iss === 'string') {
    const issuer = st.issuers.get(jwt.claims.iss);
    if (issuer !== undefined) return authenticateIssuer(ctx, st, entry, issuer);
  }

  const claimName = conf.key_claim_name;
  const raw = pick(jwt.claims[claimName]) ?? pick(jwt.header[claimName]);
  if (raw === undefined) return unauthorized({ message: `No mandatory '${claimName}' in claims` }, st.challengeInvalid);
  const keyValue = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : null;
  if (keyValue === '') return unauthorized({ message: `Invalid '${claimName}' in claims` }, st.challengeInvalid);

  const secret = keyValue === null ? undefined : st.secrets.get(keyValue);
  if (secret === undefined) return unauthorized({ message: `No credentials found for given '${claimName}'` }, st.challengeInvalid);
  if (jwt.header.alg !== secret.algorithm) return unauthorized({ message: 'Invalid algorithm' }, st.challengeInvalid);

  if (usesJwks(secret)) {
    const jwk = jwksKey(secret, jwt.header.kid, st.jwks);
    if (jwk instanceof Promise) return jwk.then((k) => secretKeyed(ctx, conf, st, entry, secret, keyValue as string, k));
    return secretKeyed(ctx, conf, st, entry, secret, keyValue as string, jwk);
  }
  return secretKeyed(ctx, conf, st, entry, secret, keyValue as string, verificationKey(secret, conf.secret_is_base64));
}

/** The rest of Kong's checks once the credential's key (a PEM/secret key, or a JWK) is known. */
function secretKeyed(ctx: RequestContext, conf: JwtConfig, st: JwtState, entry: CachedToken, secret: JwtSecret, keyValue: string, found: KeyObject | JwkKey | null | undefined): Result {
  const jwt = entry.jwt;
  const claimName = conf.key_claim_name;
  let key: KeyObject | null;
  if (found === null || found === undefined) key = null;
  else if ('kid' in found) {
    if (found.alg !== null && found.alg !== secret.algorithm) return unauthorized({ message: 'Invalid algorithm' }, st.challengeInvalid);
    key = found.key;
  } else key = found;
  if (key === null) return unauthorized({ message: 'Invalid key/secret' }, st.challengeInvalid);
  if (!signatureValid(entry, key, secret.algorithm)) return unauthorized({ message: 'Invalid signature' }, st.challengeInvalid);

  const now = nowSeconds();
  const claimErrors = verifyRegisteredClaims(jwt.claims, conf.claims_to_verify, now, st.leeway);
  if (claimErrors) return unauthorized(claimErrors, st.challengeInvalid);
  const maxErrors = checkMaximumExpiration(jwt.claims, conf.maximum_expiration, now);
  if (maxErrors) return unauthorized(maxErrors, st.challengeInvalid);

  const consumer = secret.consumerId === null ? undefined : st.consumersById.get(secret.consumerId);
  if (consumer === undefined) return { status: 401, body: { message: `Could not find consumer for '${claimName}=${keyValue}'` } };

  setConsumer(ctx, consumer, secret.row);
  authenticated(ctx, st, jwt);
  return undefined;
}

/** A claim/header value as Lua sees it: absent, null and false fall through to the next source. */
function pick(v: unknown): unknown {
  return v === undefined || v === null || v === false ? undefined : v;
}

const num = (v: number | null | undefined, dflt: number) => (typeof v === 'number' ? v : dflt);

/** claims_to_headers as [claim, lower-case header] pairs. */
function claimHeaders(map: Record<string, string> | null | undefined): [string, string][] {
  const pairs = Object.entries(map ?? {}).map(([claim, header]): [string, string] => [claim, header.toLowerCase()]);
  knownHeaderNames(pairs.map(([, header]) => header));
  return pairs;
}

export const jwt: PluginHandler<JwtConfig> = {
  name: 'jwt',
  version: '3.9.0',
  priority: 1450,

  init(conf, _row: Row, index): JwtState {
    const realm = conf.realm;
    const lookup = consumerLookup(index);
    const minTtl = num(conf.jwks_min_ttl, 60);
    return {
      secrets: secretsByKey(index),
      ...lookup,
      issuers: compileIssuers(conf.issuers, lookup),
      claimHeaders: claimHeaders(conf.claims_to_headers),
      jwks: {
        minTtl,
        maxTtl: Math.max(minTtl, num(conf.jwks_max_ttl, 86400)),
        refetchInterval: num(conf.jwks_refetch_interval, 10),
        timeoutMs: num(conf.jwks_timeout, 3000),
      },
      leeway: num(conf.leeway, 0),
      issuerClaims: new Set(['exp', ...(conf.claims_to_verify ?? [])]),
      challenge: realm != null ? `Bearer realm="${realm}"` : 'Bearer',
      challengeInvalid: realm != null ? `Bearer realm="${realm}", error="invalid_token"` : 'Bearer error="invalid_token"',
    };
  },

  access(ctx, conf, st: JwtState) {
    if (!conf.run_on_preflight && ctx.method === 'OPTIONS') return undefined;
    // Logical OR with another auth plugin that already identified a credential.
    if (conf.anonymous && ctx.credential) return undefined;
    // claim headers only ever come from a verified token, never from the client
    for (const [, header] of st.claimHeaders) delete ctx.upstreamHeaders[header];
    const r = authenticate(ctx, conf, st);
    if (r instanceof Promise) return r.then((failure) => orAnonymous(ctx, conf.anonymous, failure, st));
    return orAnonymous(ctx, conf.anonymous, r, st);
  },
};

export default jwt;
