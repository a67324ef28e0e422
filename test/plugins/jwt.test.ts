// jwt: Kong 3.x behaviour through the real proxy, with real echo upstream and jose-made tokens:
// token sources, every refusal body and WWW-Authenticate value, each algorithm, claims checks,
// anonymous consumers, preflight and the upstream X-Consumer-* headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, present } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { hmacToken, keyPair, nowSec, rawToken, sign, b64url } from '../helpers/jwt-keys.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, service, snapshot } from './helpers.js';

const SECRET = 'a-shared-secret-of-the-consumer';
const ISS = 'https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_pool';

const consumer = (f: Row) => present(consumers, prepareInsert(consumers, f));
const credential = (c: Row, f: Row) => present(jwt_secrets, prepareInsert(jwt_secrets, { consumer: { id: c.id }, ...f }));

describe('jwt schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('jwt').config).toEqual({
      uri_param_names: ['jwt'], cookie_names: [], key_claim_name: 'iss', secret_is_base64: false, claims_to_verify: null,
      anonymous: null, run_on_preflight: true, maximum_expiration: 0, header_names: ['authorization'], realm: null,
      // beyond Kong
      issuers: null, claims_to_headers: null, leeway: 0, jwks_min_ttl: 60, jwks_max_ttl: 86400, jwks_refetch_interval: 10, jwks_timeout: 3000,
    });
  });
  it('requires exp in claims_to_verify with maximum_expiration', () => {
    expect(rejection('jwt', { maximum_expiration: 60 }).fields).toEqual({ config: { claims_to_verify: 'expected to contain: exp' } });
  });
});

describe('jwt behaviour', () => {
  let up: Upstream;
  let proxy: Proxy;
  let url: string;
  const alice = consumer({ username: 'alice', custom_id: 'c-1' });
  const bob = consumer({ custom_id: '42' });
  const anon = consumer({ username: 'anonymous' });
  const ghost = consumer({ username: 'ghost' }); // its credential is in the snapshot, the consumer is not
  const hs = credential(alice, { key: 'hs-key', secret: SECRET });
  const hs512 = credential(alice, { key: 'hs512-key', secret: SECRET, algorithm: 'HS512' });
  const b64Secret = Buffer.from([0, 1, 2, 250, 251, 252, 99, 100]);
  const hsB64 = credential(bob, { key: 'b64-key', secret: b64url(b64Secret) });
  const noPem = { ...credential(bob, { key: 'es-nopem', algorithm: 'ES256' }), rsa_public_key: null };
  const ghostCred = credential(ghost, { key: 'ghost-key', secret: SECRET });
  const asym: Record<string, Row> = {};
  const kids: Row[] = [];

  beforeAll(async () => {
    up = await startUpstream();
    const svc = service({ name: 'echo', port: up.port });
    for (const alg of ['RS256', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']) {
      asym[alg] = credential(bob, { key: `${alg}-key`, algorithm: alg, rsa_public_key: (await keyPair(alg)).publicPem });
    }
    // one issuer, two keys selected by the token's kid (Kong's recipe for rotating issuers)
    for (const id of ['kid-1', 'kid-2']) kids.push(credential(bob, { key: id, algorithm: 'RS256', rsa_public_key: (await keyPair('RS256', id)).publicPem }));

    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, config: Row = {}) => {
      const r = route({ paths: [path], service: { id: svc.id } });
      routes.push(r);
      plugins.push(pluginRow('jwt', config, { route: r }));
    };
    add('/default');
    add('/sources', { uri_param_names: ['token', 'jwt'], cookie_names: ['session_jwt'], header_names: ['authorization', 'x-token'] });
    add('/realm', { realm: 'silverback' });
    add('/exp', { claims_to_verify: ['exp'] });
    add('/nbf', { claims_to_verify: ['nbf', 'exp'] });
    add('/maxexp', { claims_to_verify: ['exp'], maximum_expiration: 600 });
    add('/kid', { key_claim_name: 'kid' });
    add('/b64', { secret_is_base64: true });
    add('/anon-id', { anonymous: anon.id });
    add('/anon-name', { anonymous: 'anonymous' });
    add('/anon-missing', { anonymous: 'nobody' });
    add('/nopreflight', { run_on_preflight: false });
    const snap = snapshot({
      services: [svc],
      routes,
      plugins,
      consumers: [alice, bob, anon],
      jwt_secrets: [hs, hs512, hsB64, noPem, ghostCred, ...Object.values(asym), ...kids],
    });
    ({ proxy, url } = await startProxy(snap, { registry: handlers }));
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => request(`${url}${path}`, { method, headers });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  async function refused(path: string, headers: Record<string, string>, body: unknown, challenge = 'Bearer error="invalid_token"') {
    const before = up.requests;
    const res = await get(path, headers);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual(body);
    expect(res.headers['www-authenticate']).toBe(challenge);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(up.requests).toBe(before);
  }

  describe('token sources', () => {
    it('answers 401 {"message":"Unauthorized"} with WWW-Authenticate: Bearer when there is no token', async () => {
      await refused('/default/request', {}, { message: 'Unauthorized' }, 'Bearer');
    });

    it('accepts a Bearer token and sends the consumer headers upstream', async () => {
      const res = await get('/default/request', bearer(await hmacToken({ iss: 'hs-key' }, SECRET)));
      expect(res.status).toBe(200);
      const h = res.json().headers;
      expect(h['x-consumer-id']).toBe(alice.id);
      expect(h['x-consumer-username']).toBe('alice');
      expect(h['x-consumer-custom-id']).toBe('c-1');
      expect(h['x-credential-identifier']).toBe('hs-key');
      expect(h['x-anonymous-consumer']).toBeUndefined();
    });

    it('clears X-Consumer-* headers a client sent', async () => {
      const ok = await get('/b64/request', {
        ...bearer(await hmacToken({ iss: 'b64-key' }, b64Secret)),
        'x-consumer-username': 'admin', 'x-anonymous-consumer': 'true', 'x-credential-identifier': 'forged',
      });
      expect(ok.status).toBe(200);
      const h = ok.json().headers;
      expect(h['x-consumer-id']).toBe(bob.id);
      expect(h['x-consumer-custom-id']).toBe('42');
      expect(h['x-consumer-username']).toBeUndefined();
      expect(h['x-credential-identifier']).toBe('b64-key');
      expect(h['x-anonymous-consumer']).toBeUndefined();
    });

    it('matches "bearer" with either case of its first letter, anywhere in the header', async () => {
      const t = await hmacToken({ iss: 'hs-key' }, SECRET);
      expect((await get('/default/request', { authorization: `bearer ${t}` })).status).toBe(200);
      expect((await get('/default/request', { authorization: `  Bearer   ${t}` })).status).toBe(200);
      await refused('/default/request', { authorization: `Basic ${t}` }, { message: 'Unauthorized' }, 'Bearer');
    });

    it('reads the uri parameter, a configured cookie and a configured header', async () => {
      const t = await hmacToken({ iss: 'hs-key' }, SECRET);
      expect((await get(`/default/request?jwt=${t}`)).status).toBe(200);
      // found among other parameters, and under a percent-encoded name (%6A%77%74 = jwt)
      expect((await get(`/default/request?a=1&&jwtx=2&jwt=${t}&b`)).status).toBe(200);
      expect((await get(`/default/request?%6A%77%74=${t}`)).status).toBe(200);
      expect((await get(`/sources/request?token=${t}`)).status).toBe(200);
      expect((await get('/sources/request', { cookie: `other=1; session_jwt=${t}` })).status).toBe(200);
      expect((await get('/sources/request', { 'x-token': `Bearer ${t}` })).status).toBe(200);
      // the default cookie list is empty
      await refused('/default/request', { cookie: `jwt=${t}` }, { message: 'Unauthorized' }, 'Bearer');
    });

    it('refuses two different tokens but accepts the same token given twice', async () => {
      const t1 = await hmacToken({ iss: 'hs-key' }, SECRET);
      const t2 = await hmacToken({ iss: 'hs-key', sub: 'x' }, SECRET);
      await refused(`/default/request?jwt=${t1}`, bearer(t2), { message: 'Multiple tokens provided' });
      await refused(`/sources/request?token=${t1}&jwt=${t2}`, {}, { message: 'Multiple tokens provided' });
      expect((await get(`/sources/request?token=${t1}&jwt=${t1}`, bearer(t1))).status).toBe(200);
    });

    it('refuses a token parameter without a value', async () => {
      await refused('/default/request?jwt', {}, { message: 'Unrecognizable token' });
      await refused('/default/request?jwt=', {}, { message: 'Unauthorized' }, 'Bearer');
    });
  });

  describe('decoding and lookup errors', () => {
    it('Bad token; invalid JSON', async () => {
      await refused('/default/request', bearer('hogehoge'), { message: 'Bad token; invalid JSON' });
      await refused('/default/request', bearer(`${b64url('{"alg":"HS256"}')}.${b64url('{}')}`), { message: 'Bad token; invalid JSON' });
      await refused('/default/request', bearer(`${b64url('{"alg":')}.${b64url('{}')}.sig`), { message: 'Bad token; invalid JSON' });
    });

    it('Bad token; invalid typ / invalid alg / invalid claims / invalid signature', async () => {
      await refused('/default/request', bearer(rawToken({ typ: 'JOSE+JSON', alg: 'HS256' }, { iss: 'hs-key' })), { message: 'Bad token; invalid typ' });
      await refused('/default/request', bearer(rawToken({ alg: 'none' }, { iss: 'hs-key' })), { message: 'Bad token; invalid alg' });
      await refused('/default/request', bearer(rawToken({ typ: 'JWT' }, { iss: 'hs-key' })), { message: 'Bad token; invalid alg' });
      await refused('/default/request', bearer(rawToken({ alg: 'HS256' }, 12)), { message: 'Bad token; invalid claims' });
      await refused('/default/request', bearer(rawToken({ alg: 'HS256' }, { iss: 'hs-key' }, 'not*base64')), { message: 'Bad token; invalid signature' });
    });

    it('accepts a lower-case typ', async () => {
      expect((await get('/default/request', bearer(await hmacToken({ iss: 'hs-key' }, SECRET, 'HS256', { typ: 'jwt' })))).status).toBe(200);
    });

    it("No mandatory 'iss' in claims / Invalid 'iss' in claims / No credentials found for given 'iss'", async () => {
      await refused('/default/request', bearer(await hmacToken({ sub: 'x' }, SECRET)), { message: "No mandatory 'iss' in claims" });
      await refused('/default/request', bearer(await hmacToken({ iss: '' }, SECRET)), { message: "Invalid 'iss' in claims" });
      await refused('/default/request', bearer(await hmacToken({ iss: 'unknown' }, SECRET)), { message: "No credentials found for given 'iss'" });
      await refused('/kid/request', bearer(await hmacToken({ iss: 'hs-key' }, SECRET)), { message: "No mandatory 'kid' in claims" });
    });

    it('Invalid algorithm when the token alg differs from the credential', async () => {
      await refused('/default/request', bearer(await hmacToken({ iss: 'hs-key' }, SECRET, 'HS384')), { message: 'Invalid algorithm' });
      await refused('/default/request', bearer(await hmacToken({ iss: 'RS256-key' }, SECRET)), { message: 'Invalid algorithm' });
    });

    it('Invalid signature for a wrong secret or a token signed by another key', async () => {
      await refused('/default/request', bearer(await hmacToken({ iss: 'hs-key' }, 'another-secret')), { message: 'Invalid signature' });
      await refused('/default/request', bearer(await sign({ iss: 'RS256-key' }, await keyPair('RS256', 'kid-1'))), { message: 'Invalid signature' });
      const t = await hmacToken({ iss: 'hs-key' }, SECRET);
      const [h, , s] = t.split('.');
      await refused('/default/request', bearer(`${h}.${b64url('{"iss":"hs-key","admin":true}')}.${s}`), { message: 'Invalid signature' });
    });

    it('Invalid key/secret when the credential has no public key', async () => {
      await refused('/default/request', bearer(await sign({ iss: 'es-nopem' }, await keyPair('ES256'))), { message: 'Invalid key/secret' });
    });

    it('401 without WWW-Authenticate when the credential consumer is gone', async () => {
      const res = await get('/default/request', bearer(await hmacToken({ iss: 'ghost-key' }, SECRET)));
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ message: "Could not find consumer for 'iss=ghost-key'" });
      expect(res.headers['www-authenticate']).toBeUndefined();
    });

    it('adds the realm to WWW-Authenticate', async () => {
      await refused('/realm/request', {}, { message: 'Unauthorized' }, 'Bearer realm="silverback"');
      await refused('/realm/request', bearer('hogehoge'), { message: 'Bad token; invalid JSON' }, 'Bearer realm="silverback", error="invalid_token"');
    });
  });

  describe('algorithms and keys', () => {
    for (const alg of ['RS256', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']) {
      it(`verifies ${alg} with the credential's PEM public key`, async () => {
        const res = await get('/default/request', bearer(await sign({ iss: `${alg}-key` }, await keyPair(alg))));
        expect(res.status).toBe(200);
        expect(res.json().headers['x-credential-identifier']).toBe(`${alg}-key`);
      });
    }

    it('verifies HS512', async () => {
      expect((await get('/default/request', bearer(await hmacToken({ iss: 'hs512-key' }, SECRET, 'HS512')))).status).toBe(200);
    });

    it('selects the key by the header kid when key_claim_name is kid', async () => {
      for (const id of ['kid-1', 'kid-2']) {
        const res = await get('/kid/request', bearer(await sign({ iss: ISS }, await keyPair('RS256', id), { kid: id })));
        expect(res.status).toBe(200);
        expect(res.json().headers['x-credential-identifier']).toBe(id);
      }
      await refused('/kid/request', bearer(await sign({ iss: ISS }, await keyPair('RS256', 'kid-1'), { kid: 'kid-2' })), { message: 'Invalid signature' });
    });

    it('decodes a base64 secret with secret_is_base64', async () => {
      expect((await get('/b64/request', bearer(await hmacToken({ iss: 'b64-key' }, b64Secret)))).status).toBe(200);
      await refused('/b64/request', bearer(await hmacToken({ iss: 'b64-key' }, b64url(b64Secret))), { message: 'Invalid signature' });
    });
  });

  describe('registered claims', () => {
    it('{"exp":"token expired"} for an expired token, 200 for a live one', async () => {
      await refused('/exp/request', bearer(await hmacToken({ iss: 'hs-key', exp: nowSec() - 10 }, SECRET)), { exp: 'token expired' });
      await refused('/exp/request', bearer(await hmacToken({ iss: 'hs-key', exp: nowSec() }, SECRET)), { exp: 'token expired' });
      expect((await get('/exp/request', bearer(await hmacToken({ iss: 'hs-key', exp: nowSec() + 60 }, SECRET)))).status).toBe(200);
      // without claims_to_verify an expired token passes (Kong's default)
      expect((await get('/default/request', bearer(await hmacToken({ iss: 'hs-key', exp: nowSec() - 10 }, SECRET)))).status).toBe(200);
    });

    it('{"exp":"must be a number"} when exp is missing or not a number', async () => {
      await refused('/exp/request', bearer(await hmacToken({ iss: 'hs-key' }, SECRET)), { exp: 'must be a number' });
      await refused('/exp/request', bearer(await hmacToken({ iss: 'hs-key', exp: String(nowSec() + 60) }, SECRET)), { exp: 'must be a number' });
    });

    it('reports nbf and exp errors together', async () => {
      await refused('/nbf/request', bearer(await hmacToken({ iss: 'hs-key', nbf: nowSec() + 60 }, SECRET)), {
        nbf: 'token not valid yet', exp: 'must be a number',
      });
      expect((await get('/nbf/request', bearer(await hmacToken({ iss: 'hs-key', nbf: nowSec() - 1, exp: nowSec() + 60 }, SECRET)))).status).toBe(200);
    });

    it('{"exp":"exceeds maximum allowed expiration"} beyond maximum_expiration', async () => {
      await refused('/maxexp/request', bearer(await hmacToken({ iss: 'hs-key', exp: nowSec() + 3600 }, SECRET)), { exp: 'exceeds maximum allowed expiration' });
      expect((await get('/maxexp/request', bearer(await hmacToken({ iss: 'hs-key', exp: nowSec() + 300 }, SECRET)))).status).toBe(200);
    });
  });

  describe('anonymous and preflight', () => {
    it('proxies as the anonymous consumer (by id or username) when authentication fails', async () => {
      for (const path of ['/anon-id/request', '/anon-name/request']) {
        const res = await get(path, { 'x-credential-identifier': 'forged' });
        expect(res.status).toBe(200);
        const h = res.json().headers;
        expect(h['x-consumer-id']).toBe(anon.id);
        expect(h['x-consumer-username']).toBe('anonymous');
        expect(h['x-anonymous-consumer']).toBe('true');
        expect(h['x-credential-identifier']).toBeUndefined();
      }
      const bad = await get('/anon-id/request', bearer('hogehoge'));
      expect(bad.status).toBe(200);
      expect(bad.json().headers['x-anonymous-consumer']).toBe('true');
    });

    it('uses the real consumer when the token is valid', async () => {
      const res = await get('/anon-id/request', bearer(await hmacToken({ iss: 'hs-key' }, SECRET)));
      expect(res.status).toBe(200);
      expect(res.json().headers['x-consumer-id']).toBe(alice.id);
      expect(res.json().headers['x-anonymous-consumer']).toBeUndefined();
    });

    it('answers 500 when the anonymous consumer does not exist', async () => {
      const res = await get('/anon-missing/request');
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ message: "anonymous consumer nobody is configured but doesn't exist" });
    });

    it('lets OPTIONS through without a token when run_on_preflight is false', async () => {
      expect((await get('/nopreflight/request', {}, 'OPTIONS')).status).toBe(200);
      expect((await get('/nopreflight/request', {}, 'GET')).status).toBe(401);
      expect((await get('/default/request', {}, 'OPTIONS')).status).toBe(401);
    });
  });
});
