// Identity end to end on a real control plane (PostgreSQL, Admin API) and a real data plane
// process: the seed walkthrough's Cognito calls unchanged (form and multipart PEM credential, PATCH
// config.claims_to_verify=exp), then the one-call Cognito registration against a local JWKS server
// with rotation, and key-auth (ttl), basic-auth (hashed password) and acl written through the Admin
// API and enforced by the data plane.
import { exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createClusterCerts, type ClusterCerts, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { nowSec } from '../helpers/jwt-keys.js';
import { poolKey, signWith, startJwksServer, type JwksServer, type PoolKey } from '../helpers/jwks-server.js';
import { admin, call, startControlPlane, startDataPlane, waitServed, type Answer } from './cluster-helpers.js';

let db: TestDatabase;
let certs: ClusterCerts;
let cp: SilverbackProcess;
let dp: SilverbackProcess;
let up: Upstream;
let jwks: JwksServer;
let k1: PoolKey, k2: PoolKey, k3: PoolKey;
let ISS: string;

beforeAll(async () => {
  [db, up, jwks] = await Promise.all([createTestDatabase('identity_e2e'), startUpstream(), startJwksServer()]);
  [k1, k2, k3] = await Promise.all([poolKey('pool-kid-1'), poolKey('pool-kid-2'), poolKey('pool-kid-3')]);
  ISS = jwks.issuer('ap-northeast-1_AbCdEfGhI');
  jwks.add('ap-northeast-1_AbCdEfGhI', k1);
  jwks.add('ap-northeast-1_AbCdEfGhI', k2);
  certs = createClusterCerts();
  // expired keys deleted every 300 ms (Kong: every 60 s), so the ttl test sees the cleanup
  cp = await startControlPlane(db, certs, { env: { SILVERBACK_TTL_CLEANUP_INTERVAL: '300' } });
  dp = await startDataPlane(cp.clusterAddr, certs);
}, 60_000);

afterAll(async () => {
  await dp?.stop();
  await cp?.stop();
  await Promise.all([up?.close(), jwks?.close()]);
  await db?.drop();
});

/** Admin call with a form or multipart body, as curl --data / -F send it. */
async function form(method: string, path: string, fields: Record<string, string>, multipart = false): Promise<any> {
  let body: string;
  let type: string;
  if (multipart) {
    const b = 'sbformboundary';
    body = Object.entries(fields).map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"${k === 'rsa_public_key' ? '; filename="jwt.pem"' : ''}\r\n\r\n${v}\r\n`).join('') + `--${b}--\r\n`;
    type = `multipart/form-data; boundary=${b}`;
  } else {
    body = new URLSearchParams(fields).toString();
    type = 'application/x-www-form-urlencoded';
  }
  const res = await call(`${cp.adminUrl}${path}`, { method, body, headers: { 'content-type': type } });
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${res.body}`);
  return res.json();
}

const proxied = (path: string, headers: Record<string, string> = {}) => call(`${dp.proxyUrl}${path}`, { headers });
const idToken = (k: PoolKey, extra: Record<string, unknown> = {}) =>
  signWith(k, { iss: ISS, token_use: 'id', aud: 'client-1', sub: 'u-1', 'cognito:username': 'taro', exp: nowSec() + 600, ...extra });

describe('the seed walkthrough on a control plane and a data plane', () => {
  let routeJwt: any;

  it('§3–§4: Kong-style jwt, consumer and multipart PEM credential; 401 / 200 / Bad token', async () => {
    await form('POST', '/services', { name: 'lambda1', url: up.url });
    const route = await form('POST', '/services/lambda1/routes', { 'paths[1]': '/lambda1' });
    await form('POST', '/services/lambda1/plugins', { name: 'jwt' });
    routeJwt = await form('POST', `/routes/${route.id}/plugins/`, { name: 'jwt' });
    const consumer = await form('POST', '/consumers/', { custom_id: '1' });
    const pem = await exportSPKI((await import('node:crypto')).createPublicKey({ key: k1.jwk as any, format: 'jwk' }) as any);
    const cred = await form('POST', `/consumers/${consumer.id}/jwt`, { algorithm: 'RS256', rsa_public_key: pem, key: ISS }, true);
    expect(cred).toMatchObject({ key: ISS, algorithm: 'RS256', consumer: { id: consumer.id } });
    const patched = await form('PATCH', `/plugins/${routeJwt.id}`, { 'config.claims_to_verify': 'exp' });
    expect(patched.config.claims_to_verify).toEqual(['exp']);

    const none = await waitServed(dp, '/lambda1', (a) => a.status === 401);
    expect(none.json()).toEqual({ message: 'Unauthorized' });
    const token = await idToken(k1);
    const good = await waitFor200(`/lambda1`, { authorization: `Bearer ${token}` });
    expect(good.json().headers['x-consumer-custom-id']).toBe('1');
    const bad = await proxied('/lambda1', { authorization: 'Bearer hogehoge' });
    expect(bad.status).toBe(401);
    expect(bad.json()).toEqual({ message: 'Bad token; invalid JSON' });
    // the seed's pain: the pool's other key is not registered, so its tokens fail under Kong's model
    expect((await proxied('/lambda1', { authorization: `Bearer ${await idToken(k2)}` })).status).toBe(401);
  });

  it('one Admin call registers the pool: both keys work, a rotated-in key works without another call', async () => {
    const res = await call(`${cp.adminUrl}/plugins/${routeJwt.id}`, {
      method: 'PATCH',
      body: { config: { issuers: [{ iss: ISS, audiences: ['client-1'], token_use: 'id' }], claims_to_headers: { 'cognito:username': 'x-user' }, jwks_refetch_interval: 0 } },
    });
    expect(res.status).toBe(200);
    const t2 = `Bearer ${await idToken(k2)}`;
    const viaK2 = await waitFor200('/lambda1', { authorization: t2 });
    expect(viaK2.json().headers['x-user']).toBe('taro');
    expect((await proxied('/lambda1', { authorization: `Bearer ${await idToken(k1)}` })).status).toBe(200);
    jwks.add('ap-northeast-1_AbCdEfGhI', k3);
    expect((await proxied('/lambda1', { authorization: `Bearer ${await idToken(k3)}` })).status).toBe(200);
    const wrongAud = await proxied('/lambda1', { authorization: `Bearer ${await idToken(k3, { aud: 'other' })}` });
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.json()).toEqual({ message: "Invalid 'aud' in claims" });
  });
});

describe('key-auth, basic-auth and acl through the Admin API', () => {
  it('a key with a ttl works until it expires; basic-auth passwords are hashed; acl groups apply', async () => {
    await admin(cp, 'POST', '/services', { name: 'keyed', url: up.url });
    await admin(cp, 'POST', '/services/keyed/routes', { name: 'keyed', paths: ['/keyed'] });
    await admin(cp, 'POST', '/services/keyed/routes', { name: 'basic', paths: ['/basic'] });
    await admin(cp, 'POST', '/routes/keyed/plugins', { name: 'key-auth' });
    await admin(cp, 'POST', '/routes/keyed/plugins', { name: 'acl', config: { allow: ['gold'] } });
    await admin(cp, 'POST', '/routes/basic/plugins', { name: 'basic-auth' });
    const c = await admin(cp, 'POST', '/consumers', { username: 'hanako' });
    await admin(cp, 'POST', `/consumers/${c.id}/acls`, { group: 'gold' });
    const temp = await form('POST', `/consumers/${c.id}/key-auth`, { key: 'short-lived', ttl: '3' });
    expect(temp.ttl).toBe(3);
    const basic = await form('POST', `/consumers/${c.id}/basic-auth`, { username: 'hanako', password: 'p@ss' });
    expect(basic.password).toMatch(/^\$scrypt\$/);

    // the route may reach the data plane a moment before its plugins: wait for the authenticated answer
    const ok = await waitFor200('/keyed', { apikey: 'short-lived' }, 10_000, (a) => a.json().headers['x-consumer-groups'] !== undefined);
    expect(ok.json().headers['x-consumer-groups']).toBe('gold');
    const auth = `Basic ${Buffer.from('hanako:p@ss').toString('base64')}`;
    const basicOk = await waitFor200('/basic', { authorization: auth }, 10_000, (a) => a.json().headers['x-credential-identifier'] !== undefined);
    expect(basicOk.json().headers['x-credential-identifier']).toBe('hanako');
    expect((await proxied('/basic', { authorization: `Basic ${Buffer.from('hanako:nope').toString('base64')}` })).status).toBe(401);

    let last = await proxied('/keyed', { apikey: 'short-lived' });
    const deadline = Date.now() + 8000;
    while (last.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      last = await proxied('/keyed', { apikey: 'short-lived' });
    }
    expect(last.status).toBe(401);
    expect(last.json()).toMatchObject({ message: 'Unauthorized' });

    // the control plane's ttl cleanup deletes the expired key (a delete the data plane receives):
    // its `key` can be given to a new credential, which works
    let again = await call(`${cp.adminUrl}/consumers/${c.id}/key-auth`, { method: 'POST', body: { key: 'short-lived' } });
    const until = Date.now() + 5000;
    while (again.status === 409 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      again = await call(`${cp.adminUrl}/consumers/${c.id}/key-auth`, { method: 'POST', body: { key: 'short-lived' } });
    }
    expect(again.status).toBe(201);
    expect(again.json().id).not.toBe(temp.id);
    expect((await call(`${cp.adminUrl}/key-auths/${temp.id}`)).status).toBe(404);
    expect((await waitFor200('/keyed', { apikey: 'short-lived' })).status).toBe(200);
  });
});

async function waitFor200(path: string, headers: Record<string, string>, timeoutMs = 10_000, done: (a: Answer) => boolean = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await proxied(path, headers);
    if ((a.status === 200 && done(a)) || Date.now() > deadline) {
      expect(a.status).toBe(200);
      return a;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
