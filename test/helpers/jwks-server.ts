// A local stand-in for an OIDC issuer's JWKS endpoint (a Cognito user pool publishes its keys at
// <iss>/.well-known/jwks.json): RS256 key pairs made with jose, keys added and removed mid-test,
// Cache-Control chosen by the test, and a down (503) or hanging mode. Serves any path ending in
// /.well-known/jwks.json, each path (issuer) with its own key list.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export interface PoolKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface JwksServer {
  url: string;
  /** Issuer URL for `name` (http://127.0.0.1:port/<name>). */
  issuer(name: string): string;
  /** Publish `key` under issuer `name`. */
  add(name: string, key: PoolKey): void;
  remove(name: string, kid: string): void;
  /** Fetches received per issuer name. */
  fetches(name: string): number;
  mode: 'up' | 'down' | 'hang';
  cacheControl: string | null;
  close(): Promise<void>;
}

/** An RS256 (or `alg`) key pair with its public JWK carrying kid, alg and use. */
export async function poolKey(kid: string, alg = 'RS256'): Promise<PoolKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

/** A compact JWS signed by a pool key (kid in the header unless overridden). */
export function signWith(key: PoolKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header } as any)
    .sign(key.privateKey);
}

export async function startJwksServer(): Promise<JwksServer> {
  const pools = new Map<string, PoolKey[]>();
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const state: Pick<JwksServer, 'mode' | 'cacheControl'> = { mode: 'up', cacheControl: 'max-age=3600' };
  const server = http.createServer((req, res) => {
    const m = /^\/(.+)\/\.well-known\/jwks\.json$/.exec(req.url ?? '');
    const name = m?.[1] ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (state.mode === 'hang') return; // never answers
    if (!m || state.mode === 'down') {
      res.writeHead(m ? 503 : 404).end();
      return;
    }
    const body = JSON.stringify({ keys: (pools.get(name) ?? []).map((k) => k.jwk) });
    res.writeHead(200, { 'content-type': 'application/json', ...(state.cacheControl ? { 'cache-control': state.cacheControl } : {}) });
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    issuer: (name: string) => `${url}/${name}`,
    add(name: string, key: PoolKey) {
      pools.set(name, [...(pools.get(name) ?? []).filter((k) => k.kid !== key.kid), key]);
    },
    remove(name: string, kid: string) {
      pools.set(name, (pools.get(name) ?? []).filter((k) => k.kid !== kid));
    },
    fetches: (name: string) => counts.get(name) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  }) as JwksServer;
}
