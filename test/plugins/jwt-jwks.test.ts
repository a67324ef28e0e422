// jwt beyond Kong, through the real proxy, a real echo upstream and a local JWKS server playing a
// Cognito user pool (keys made with jose): one-call issuer registration, both pool keys, rotation
// without an Admin call, removed keys after the cache window, aud/client_id/token_use/iss checks,
// JWKS down or hanging, credentials with jwks_uri or inline jwks, claims_to_headers, the verified
// token for later plugins, acl on cognito:groups, and the attacks (alg none, HS/RS confusion, alg
// differing from the key, weak RSA keys, expired / not yet valid tokens, unknown kid).
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSPKI } from 'jose';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { PluginHandler } from '../../data-plane/plugins/types.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { b64url, hmacToken, nowSec, rawToken } from '../helpers/jwt-keys.js';
import { poolKey, signWith, startJwksServer, type JwksServer, type PoolKey } from '../helpers/jwks-server.js';
import { plugin, startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, service, snapshot } from './helpers.js';

const CLIENT = 'app-client-1';
const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));
const credential = (c: Row, f: Row) => present(jwt_secrets, prepareInsert(jwt_secrets, { consumer: { id: c.id }, ...f }));

// A plugin after jwt that shows upstream what ctx.authenticatedJwt holds (as aws-lambda reads it).
const probe: PluginHandler = {
  name: 'jwt-probe',
  version: '0',
  priority: 751,
  access(ctx) {
    if (ctx.authenticatedJwt) ctx.upstreamHeaders['x-probe'] = Buffer.from(JSON.stringify(ctx.authenticatedJwt)).toString('base64');
  },
};

describe('jwt schema beyond Kong', () => {
  const c = { id: '6b5c6e43-9c0c-4b8d-9a7e-8d7a1f7b2c3d' };
  const errs = (f: Row) => {
    try {
      prepareInsert(jwt_secrets, { consumer: c, ...f });
      return undefined;
    } catch (e) {
      return (e as any).body.fields;
    }
  };
  it('a credential may name a JWKS instead of a PEM key, with an asymmetric algorithm', () => {
    expect(errs({ key: 'i', algorithm: 'RS256', jwks_uri: 'https://issuer.example/.well-known/jwks.json' })).toBeUndefined();
    expect(errs({ key: 'i', algorithm: 'HS256', jwks_uri: 'https://issuer.example/jwks' })).toEqual({ algorithm: 'must be an asymmetric algorithm with jwks_uri or jwks' });
    expect(errs({ key: 'i', algorithm: 'RS256', jwks_uri: 'file:///etc/passwd' })).toEqual({ jwks_uri: 'must be an http or https URL' });
    expect(errs({ key: 'i', algorithm: 'RS256', jwks: '{"keys":[{"kty":"oct","k":"AAAA"}]}' })).toEqual({ jwks: 'no usable public key (RSA, EC or OKP) in the JWK/JWKS' });
    expect(errs({ key: 'i', algorithm: 'RS256', jwks: 'not json' })).toEqual({ jwks: 'invalid JSON' });
    expect(errs({ key: 'i', algorithm: 'RS256' })).toEqual({ rsa_public_key: 'required field missing' });
  });
  it('issuers need an iss; token_use is id or access', () => {
    expect(rejection('jwt', { issuers: [{ audiences: ['x'] }] }).fields.config.issuers).toBeDefined();
    expect(rejection('jwt', { issuers: [{ iss: 'https://i', token_use: 'refresh' }] }).fields.config.issuers).toBeDefined();
    expect(pluginRow('jwt', { issuers: [{ iss: 'https://i', token_use: 'id', audiences: ['a'] }] }).config.issuers[0]).toMatchObject({ iss: 'https://i' });
  });
});

describe('jwt with JWKS', () => {
  let up: Upstream;
  let jwks: JwksServer;
  let proxy: Proxy;
  let url: string;
  let ISS: string;
  let k1: PoolKey, k2: PoolKey, k3: PoolKey, es: PoolKey;
  const alice = consumer({ username: 'alice' });
  const mapped = consumer({ username: 'pool-user', custom_id: 'cognito' });
  const base = () => ({ iss: ISS, token_use: 'id', aud: CLIENT, sub: 'user-1', exp: nowSec() + 300, email: 'u@example.com', 'cognito:groups': ['admins', 'ops'] });

  beforeAll(async () => {
    up = await startUpstream();
    jwks = await startJwksServer();
    ISS = jwks.issuer('ap-northeast-1_pool');
    [k1, k2, k3, es] = await Promise.all([poolKey('kid-1'), poolKey('kid-2'), poolKey('kid-3'), poolKey('es-1', 'ES256')]);
    jwks.add('ap-northeast-1_pool', k1);
    jwks.add('ap-northeast-1_pool', k2);
    for (const name of ['ratelimited', 'credential-pool', 'down-later']) jwks.add(name, k1);

    const svc = service({ name: 'echo', port: up.port });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, config: Row, more: [string, Row][] = []) => {
      const r = route({ paths: [path], service: { id: svc.id } });
      routes.push(r);
      plugins.push(pluginRow('jwt', config, { route: r }));
      for (const [name, c] of more) plugins.push(name === 'jwt-probe' ? plugin('jwt-probe', { route: { id: r.id } }) : pluginRow(name, c, { route: r }));
    };
    const fast = { jwks_refetch_interval: 0, jwks_min_ttl: 1, jwks_max_ttl: 1 };
    add('/cognito', {
      issuers: [{ iss: ISS, audiences: [CLIENT], token_use: 'id' }],
      claims_to_headers: { sub: 'x-user-sub', email: 'x-user-email', 'cognito:groups': 'x-user-groups' },
      ...fast,
    }, [['jwt-probe', {}]]);
    add('/access', { issuers: [{ iss: ISS, audiences: [CLIENT], token_use: 'access' }], ...fast });
    add('/any-use', { issuers: [{ iss: ISS, audiences: [CLIENT] }], ...fast });
    add('/leeway', { issuers: [{ iss: ISS }], leeway: 30, ...fast });
    add('/mapped', { issuers: [{ iss: ISS, consumer: 'pool-user' }], ...fast });
    add('/groups', { issuers: [{ iss: ISS }], ...fast }, [['acl', { allow: ['admins'] }]]);
    add('/ratelimited', { issuers: [{ iss: jwks.issuer('ratelimited') }], jwks_refetch_interval: 60 });
    add('/never-fetched', { issuers: [{ iss: jwks.issuer('never-fetched') }], jwks_timeout: 300, jwks_refetch_interval: 0 });
    add('/hang', { issuers: [{ iss: jwks.issuer('hang'), jwks_uri: `${jwks.url}/hang/.well-known/jwks.json` }], jwks_timeout: 300 });
    add('/down-later', { issuers: [{ iss: jwks.issuer('down-later') }], jwks_min_ttl: 0, jwks_max_ttl: 1, jwks_refetch_interval: 0, jwks_timeout: 500 });
    add('/credentials', { jwks_refetch_interval: 0 });

    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    weakKey = weak.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const snap = snapshot({
      services: [svc],
      routes,
      plugins,
      consumers: [alice, mapped],
      jwt_secrets: [
        credential(alice, { key: jwks.issuer('credential-pool'), algorithm: 'RS256', jwks_uri: `${jwks.issuer('credential-pool')}/.well-known/jwks.json` }),
        credential(alice, { key: 'inline-issuer', algorithm: 'ES256', jwks: JSON.stringify({ keys: [es.jwk] }) }),
        credential(alice, { key: 'pem-issuer', algorithm: 'RS256', rsa_public_key: await exportSPKI((await import('node:crypto')).createPublicKey(createPrivateKey(await pkcs8Of(k1))) as any) }),
        credential(alice, { key: 'weak-issuer', algorithm: 'RS256', rsa_public_key: weak.publicKey.export({ format: 'pem', type: 'spki' }) as string }),
      ],
    });
    ({ proxy, url } = await startProxy(snap, { registry: { ...handlers, 'jwt-probe': probe } }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await jwks?.close();
  });

  let weakKey = '';
  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    request(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}`, ...headers } : headers });
  async function refused(path: string, token: string, body: unknown) {
    const before = up.requests;
    const res = await get(path, token);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual(body);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(up.requests).toBe(before);
  }

  describe('Cognito user pool as a consumer-less issuer', () => {
    it('accepts ID tokens signed by either pool key, with claims headers and no consumer', async () => {
      for (const k of [k1, k2]) {
        const res = await get('/cognito/request', await signWith(k, base()), { 'x-user-sub': 'forged', 'x-consumer-id': 'forged' });
        expect(res.status).toBe(200);
        const h = res.json().headers;
        expect(h['x-user-sub']).toBe('user-1');
        expect(h['x-user-email']).toBe('u@example.com');
        expect(h['x-user-groups']).toBe('admins, ops');
        expect(h['x-credential-identifier']).toBe(ISS);
        expect(h['x-consumer-id']).toBeUndefined();
        expect(h['x-anonymous-consumer']).toBeUndefined();
      }
    });

    it('gives later plugins the verified token, header, claims and scopes', async () => {
      const token = await signWith(k1, { ...base(), scope: 'openid profile' });
      const res = await get('/cognito/request', token);
      const seen = JSON.parse(Buffer.from(res.json().headers['x-probe'], 'base64').toString('utf8'));
      expect(seen).toEqual({ token, header: { alg: 'RS256', typ: 'JWT', kid: 'kid-1' }, claims: { ...base(), exp: expect.any(Number), scope: 'openid profile' }, scopes: ['openid', 'profile'] });
    });

    it('follows key rotation without an Admin call', async () => {
      jwks.add('ap-northeast-1_pool', k3);
      const res = await get('/cognito/request', await signWith(k3, base()));
      expect(res.status).toBe(200);
    });

    it('refuses a removed key once the cache window has passed', async () => {
      expect((await get('/cognito/request', await signWith(k2, base()))).status).toBe(200);
      jwks.remove('ap-northeast-1_pool', 'kid-2');
      await new Promise((r) => setTimeout(r, 1200));
      await refused('/cognito/request', await signWith(k2, base()), { message: 'Invalid key/secret' });
      expect((await get('/cognito/request', await signWith(k1, base()))).status).toBe(200);
      jwks.add('ap-northeast-1_pool', k2);
    });

    it('checks aud for ID tokens, client_id for access tokens, token_use, and the issuer', async () => {
      await refused('/cognito/request', await signWith(k1, { ...base(), aud: 'other-client' }), { message: "Invalid 'aud' in claims" });
      await refused('/cognito/request', await signWith(k1, { ...base(), token_use: 'access' }), { message: "Invalid 'token_use' in claims" });
      const access = { iss: ISS, token_use: 'access', client_id: CLIENT, sub: 'user-1', exp: nowSec() + 300, scope: 'aws.cognito.signin.user.admin' };
      expect((await get('/access/request', await signWith(k1, access))).status).toBe(200);
      await refused('/access/request', await signWith(k1, { ...access, client_id: 'other' }), { message: "Invalid 'client_id' in claims" });
      await refused('/access/request', await signWith(k1, base()), { message: "Invalid 'token_use' in claims" });
      // without token_use configured: aud or client_id
      expect((await get('/any-use/request', await signWith(k1, access))).status).toBe(200);
      expect((await get('/any-use/request', await signWith(k1, base()))).status).toBe(200);
      await refused('/any-use/request', await signWith(k1, { ...base(), aud: ['x', 'y'] }), { message: "Invalid 'aud' in claims" });
      // an issuer that is not listed
      await refused('/cognito/request', await signWith(k1, { ...base(), iss: `${ISS}x` }), { message: "No credentials found for given 'iss'" });
    });

    it('always verifies exp, with the configured leeway; nbf when present', async () => {
      await refused('/cognito/request', await signWith(k1, { ...base(), exp: nowSec() - 5 }), { exp: 'token expired' });
      await refused('/cognito/request', await signWith(k1, { ...base(), exp: undefined }), { exp: 'must be a number' });
      expect((await get('/leeway/request', await signWith(k1, { ...base(), exp: nowSec() - 10 }))).status).toBe(200);
      await refused('/leeway/request', await signWith(k1, { ...base(), exp: nowSec() - 40 }), { exp: 'token expired' });
      await refused('/cognito/request', await signWith(k1, { ...base(), nbf: nowSec() + 60 }), { nbf: 'token not valid yet' });
    });

    it('maps the issuer to a consumer when configured', async () => {
      const res = await get('/mapped/request', await signWith(k1, base()));
      expect(res.status).toBe(200);
      expect(res.json().headers['x-consumer-id']).toBe(mapped.id);
      expect(res.json().headers['x-consumer-custom-id']).toBe('cognito');
    });

    it('lets acl decide on cognito:groups (X-Authenticated-Groups)', async () => {
      const ok = await get('/groups/request', await signWith(k1, base()));
      expect(ok.status).toBe(200);
      expect(ok.json().headers['x-authenticated-groups']).toBe('admins, ops');
      const no = await get('/groups/request', await signWith(k1, { ...base(), 'cognito:groups': ['users'] }));
      expect(no.status).toBe(403);
      expect(no.json().message).toBe('You cannot consume this service');
    });
  });

  describe('attacks', () => {
    it('alg none is refused', async () => {
      await refused('/cognito/request', rawToken({ alg: 'none', kid: 'kid-1' }, base(), ''), { message: 'Bad token; invalid alg' });
      await refused('/cognito/request', rawToken({ alg: 'None', kid: 'kid-1' }, base()), { message: 'Bad token; invalid alg' });
      await refused('/cognito/request', rawToken({ alg: 'none', kid: 'kid-1' }, base()), { message: 'Bad token; invalid alg' });
    });

    it('HS256 signed with the public key as the secret (algorithm confusion) is refused', async () => {
      const pem = await exportSPKI((await import('node:crypto')).createPublicKey(createPrivateKey(await pkcs8Of(k1))) as any);
      await refused('/cognito/request', await hmacToken(base(), pem, 'HS256', { kid: 'kid-1' }), { message: 'Invalid algorithm' });
      await refused('/credentials/request', await hmacToken({ iss: 'pem-issuer' }, pem), { message: 'Invalid algorithm' });
      await refused('/credentials/request', await hmacToken({ iss: jwks.issuer('credential-pool') }, JSON.stringify(k1.jwk), 'HS256', { kid: 'kid-1' }), { message: 'Invalid algorithm' });
    });

    it('a token whose alg differs from its key is refused', async () => {
      const pk = await poolKey('kid-1', 'RS384');
      // same kid, signed RS384 by another key: the JWK says RS256
      await refused('/cognito/request', await signWith(pk, base()), { message: 'Invalid algorithm' });
    });

    it('a forged signature or a token signed by an unknown key is refused', async () => {
      const t = await signWith(k1, base());
      const [h, , s] = t.split('.');
      await refused('/cognito/request', `${h}.${b64url(JSON.stringify({ ...base(), sub: 'admin' }))}.${s}`, { message: 'Invalid signature' });
      const stranger = await poolKey('kid-1');
      await refused('/cognito/request', await signWith(stranger, base()), { message: 'Invalid signature' });
    });

    it('weak RSA keys (< 2048 bits) are refused', async () => {
      const data = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify({ iss: 'weak-issuer' }))}`;
      const sig = cryptoSign('sha256', Buffer.from(data), weakKey).toString('base64url');
      await refused('/credentials/request', `${data}.${sig}`, { message: 'Invalid key/secret' });
    });

    it('an unknown kid is refused and refetches are rate-limited', async () => {
      expect((await get('/ratelimited/request', await signWith(k1, { iss: jwks.issuer('ratelimited'), exp: nowSec() + 60 }))).status).toBe(200);
      const before = jwks.fetches('ratelimited');
      const other = await poolKey('kid-unknown');
      for (let i = 0; i < 5; i++) {
        await refused('/ratelimited/request', await signWith(other, { iss: jwks.issuer('ratelimited'), exp: nowSec() + 60 }), { message: 'Invalid key/secret' });
      }
      expect(jwks.fetches('ratelimited') - before).toBeLessThanOrEqual(1);
    });
  });

  describe('JWKS endpoint failures', () => {
    it('no cached key and the endpoint down → 401 at once', async () => {
      jwks.mode = 'down';
      try {
        const t0 = Date.now();
        await refused('/never-fetched/request', await signWith(k1, { iss: jwks.issuer('never-fetched'), exp: nowSec() + 60 }), { message: 'Invalid key/secret' });
        expect(Date.now() - t0).toBeLessThan(2000);
      } finally {
        jwks.mode = 'up';
      }
    });

    it('a hanging endpoint → 401 after the bounded timeout, never a 5xx', async () => {
      jwks.mode = 'hang';
      try {
        const t0 = Date.now();
        await refused('/hang/request', await signWith(k1, { iss: jwks.issuer('hang'), exp: nowSec() + 60 }), { message: 'Invalid key/secret' });
        expect(Date.now() - t0).toBeLessThan(3000);
      } finally {
        jwks.mode = 'up';
      }
    });

    it('cached keys keep working while the endpoint is down', async () => {
      const token = await signWith(k1, { iss: jwks.issuer('down-later'), exp: nowSec() + 60 });
      expect((await get('/down-later/request', token)).status).toBe(200);
      jwks.mode = 'down';
      try {
        await new Promise((r) => setTimeout(r, 1100)); // past the cache window
        const before = jwks.fetches('down-later');
        expect((await get('/down-later/request', token)).status).toBe(200);
        expect(jwks.fetches('down-later')).toBeGreaterThan(before);
        expect((await get('/down-later/request', await signWith(k1, { iss: jwks.issuer('down-later'), exp: nowSec() + 61 }))).status).toBe(200);
      } finally {
        jwks.mode = 'up';
      }
    });
  });

  describe('consumer credentials with JWKS', () => {
    it('a credential with jwks_uri selects the key by kid and follows rotation', async () => {
      const iss = jwks.issuer('credential-pool');
      const res = await get('/credentials/request', await signWith(k1, { iss }));
      expect(res.body).toContain('"x-consumer-id"');
      expect(res.json().headers['x-consumer-id']).toBe(alice.id);
      expect(res.json().headers['x-credential-identifier']).toBe(iss);
      jwks.add('credential-pool', k3);
      expect((await get('/credentials/request', await signWith(k3, { iss }))).status).toBe(200);
      await refused('/credentials/request', await signWith(await poolKey('kid-9'), { iss }), { message: 'Invalid key/secret' });
    });

    it('a credential with an inline JWKS verifies without fetching', async () => {
      expect((await get('/credentials/request', await signWith(es, { iss: 'inline-issuer' }))).status).toBe(200);
      expect((await get('/credentials/request', await signWith(es, { iss: 'inline-issuer' }, { kid: undefined }))).status).toBe(200);
    });
  });
});

async function pkcs8Of(k: PoolKey): Promise<string> {
  const { exportPKCS8 } = await import('jose');
  return exportPKCS8(k.privateKey);
}
