// Beyond Kong: consumer-less issuers (plugin config `issuers`), the way Amazon API Gateway's Cognito
// and JWT authorizers accept tokens: the issuer must be listed, its keys come from its JWKS
// (default `<iss>/.well-known/jwks.json`, cached, following rotation), `exp` is always verified,
// `token_use` and `aud` (ID tokens) / `client_id` (access tokens) are checked when configured.
import type { Row } from '../../../shared/snapshot.js';
import type { ConsumerLookup } from '../auth/consumer.js';

export interface IssuerConfig {
  iss: string;
  jwks_uri?: string | null;
  audiences?: string[] | null;
  token_use?: 'id' | 'access' | null;
  consumer?: string | null;
}

export interface Issuer {
  iss: string;
  jwksUri: string;
  audiences: ReadonlySet<string> | null;
  tokenUse: 'id' | 'access' | null;
  /** Configured consumer reference (id or username), and the consumer it names (undefined = missing). */
  consumerRef: string | null;
  consumer: Row | undefined;
  /** Stands for the credential of a consumer-less issuer (X-Credential-Identifier = iss). */
  credential: Row;
}

export function defaultJwksUri(iss: string): string {
  return `${iss.replace(/\/+$/, '')}/.well-known/jwks.json`;
}

export function compileIssuers(list: IssuerConfig[] | null | undefined, lookup: ConsumerLookup): Map<string, Issuer> {
  const out = new Map<string, Issuer>();
  for (const c of list ?? []) {
    if (!c || typeof c.iss !== 'string' || out.has(c.iss)) continue;
    const ref = typeof c.consumer === 'string' && c.consumer ? c.consumer : null;
    out.set(c.iss, {
      iss: c.iss,
      jwksUri: c.jwks_uri || defaultJwksUri(c.iss),
      audiences: c.audiences && c.audiences.length ? new Set(c.audiences) : null,
      tokenUse: c.token_use ?? null,
      consumerRef: ref,
      consumer: ref === null ? undefined : (lookup.consumersById.get(ref) ?? lookup.consumersByUsername.get(ref)),
      credential: { id: null, key: c.iss, issuer: c.iss },
    });
  }
  return out;
}

function audienceMatches(aud: unknown, audiences: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return audiences.has(aud);
  if (Array.isArray(aud)) return aud.some((a) => typeof a === 'string' && audiences.has(a));
  return false;
}

/** The first failed issuer claim check as a 401 message, or undefined when the claims pass. */
export function checkIssuerClaims(issuer: Issuer, claims: Record<string, unknown>): string | undefined {
  const tokenUse = claims.token_use;
  if (issuer.tokenUse !== null && tokenUse !== issuer.tokenUse) return "Invalid 'token_use' in claims";
  const auds = issuer.audiences;
  if (auds !== null) {
    if (tokenUse === 'access') {
      if (!(typeof claims.client_id === 'string' && auds.has(claims.client_id))) return "Invalid 'client_id' in claims";
    } else if (tokenUse === 'id') {
      if (!audienceMatches(claims.aud, auds)) return "Invalid 'aud' in claims";
    } else if (!audienceMatches(claims.aud, auds) && !(typeof claims.client_id === 'string' && auds.has(claims.client_id))) {
      return "Invalid 'aud' in claims";
    }
  }
  return undefined;
}
