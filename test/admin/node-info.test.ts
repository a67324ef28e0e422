// Root, status, endpoints, schemas and validation, plugins/enabled, /config, certificates by SNI,
// extra routes with a pre-handler, and database failures answered as Kong does (500, no crash).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../shared/config.js';
import { KONG_COMPAT_VERSION, SILVERBACK_VERSION } from '../../shared/version.js';
import { startAdminApi, type AdminApi } from '../../control-plane/admin/server.js';
import { openTestStore, quietLog, type TestStore } from '../store/store-helpers.js';
import { call, forEachContentType, gensym, useAdmin } from './admin-helpers.js';

const t = useAdmin('info', {
  extraRoutes: [{ method: 'GET', pattern: '/clustering/ping', handler: (req) => ({ status: 200, body: { pong: req.query.get('x') } }) }],
  preHandler: (req) => (req.headers['x-deny'] ? { status: 401, body: { message: 'Unauthorized' } } : undefined),
});

function selfSigned(cn: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sb-admin-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('GET /', () => {
  it("answers Kong's node information shape", async () => {
    const r = await t.call('GET', '/');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      tagline: 'Welcome to Silverback',
      // Kong's version (decK/go-kong parse it to pick formats); ours beside it
      version: KONG_COMPAT_VERSION,
      silverback_version: SILVERBACK_VERSION,
      edition: 'community',
      hostname: expect.any(String),
      node_id: '11111111-2222-4333-8444-555555555555',
      timers: { running: expect.any(Number), pending: expect.any(Number) },
      plugins: { available_on_server: expect.any(Object), enabled_in_cluster: expect.any(Array) },
      pids: { master: process.pid, workers: [process.pid] },
    });
    expect(r.body.configuration.admin_listen).toBe(t.config.admin_listen);
    expect(r.headers.server).toBe(`silverback/${r.body.silverback_version}`);
  });

  it('redacts secrets in the configuration', async () => {
    const store2 = t.store;
    const api = await startAdminApi({ config: { ...defaultConfig(), pg_password: 'hunter2', admin_tokens: ['tok'] }, dao: store2.dao, log: quietLog, role: 'traditional', listen: { host: '127.0.0.1', port: 0 } });
    try {
      const r = await call(api.url, 'GET', '/');
      expect(r.body.configuration.pg_password).toBe('******');
      expect(r.body.configuration.admin_tokens).toEqual(['******']);
      expect(r.text).not.toContain('hunter2');
    } finally {
      await api.close();
    }
  });
});

describe('/status, /endpoints, /plugins/enabled, /config', () => {
  it('/status', async () => {
    const r = await t.call('GET', '/status');
    expect(r.status).toBe(200);
    expect(r.body.database).toEqual({ reachable: true });
    expect(r.body.server).toEqual({
      connections_accepted: expect.any(Number),
      connections_active: expect.any(Number),
      connections_handled: expect.any(Number),
      connections_reading: expect.any(Number),
      connections_writing: expect.any(Number),
      connections_waiting: expect.any(Number),
      total_requests: expect.any(Number),
    });
    expect(r.body.server.connections_writing).toBeGreaterThanOrEqual(1);
    expect(r.body.memory.workers_lua_vms[0].http_allocated_gc).toMatch(/^\d+\.\d{2} MiB$/);
    expect((await t.call('GET', '/status?unit=k&scale=0')).body.memory.workers_lua_vms[0].http_allocated_gc).toMatch(/^\d+ KiB$/);
  });

  it('/endpoints lists every path with {params}, sorted by segment', async () => {
    const r = await t.call('GET', '/endpoints');
    expect(r.status).toBe(200);
    for (const p of ['/', '/services', '/services/{services}', '/services/{services}/routes/{routes}', '/routes/{routes}/service', '/consumers/{consumers}/jwt', '/jwts/{jwt_secrets}/consumer', '/upstreams/{upstreams}/targets', '/certificates/{certificates}/snis', '/clustering/ping', '/schemas/{name}'])
      expect(r.body.data).toContain(p);
    expect(r.body.data).not.toContain('/targets');
    expect(r.body.data).not.toContain('/snis/{snis}/certificate');
    const sorted = [...r.body.data].sort((a: string, b: string) => (a.replace(/\//g, '\0') < b.replace(/\//g, '\0') ? -1 : 1));
    expect(r.body.data).toEqual(sorted);
  });

  it('/plugins/enabled', async () => {
    const r = await t.call('GET', '/plugins/enabled');
    expect(r.status).toBe(200);
    expect(r.body.enabled_plugins).toEqual(expect.arrayContaining(['jwt', 'aws-lambda', 'cors']));
    expect((await t.call('POST', '/plugins/enabled', { body: {} })).status).toBe(405);
  });

  it('/config on a database-backed node → 400', async () => {
    const msg = { message: 'this endpoint is only available when Kong is configured to not use a database' };
    expect(await t.call('POST', '/config', { raw: '_format_version: "3.0"', contentType: 'application/yaml' })).toMatchObject({ status: 400, body: msg });
    expect(await t.call('GET', '/config')).toMatchObject({ status: 400, body: msg });
  });
});

describe('/schemas', () => {
  it("/schemas/{entity} in Kong's shape", async () => {
    const r = await t.call('GET', '/schemas/services');
    expect(r.status).toBe(200);
    const fields = Object.assign({}, ...r.body.fields);
    expect(Object.keys(fields)).toContain('host');
    expect(fields.port).toMatchObject({ type: 'integer', required: true, default: 80, between: [0, 65535] });
    expect(fields.protocol).toMatchObject({ type: 'string', default: 'http', one_of: expect.arrayContaining(['http', 'https']) });
    expect((await t.call('GET', '/schemas/jwt_secrets')).status).toBe(200);
    expect((await t.call('GET', '/schemas/consumers')).body.entity_checks).toEqual([{ at_least_one_of: ['custom_id', 'username'] }]);
    expect(await t.call('GET', '/schemas/nope')).toMatchObject({ status: 404, body: { message: "No entity named 'nope'" } });
  });

  it('/schemas/plugins/{name}', async () => {
    const r = await t.call('GET', '/schemas/plugins/jwt');
    expect(r.status).toBe(200);
    const fields = Object.assign({}, ...r.body.fields);
    expect(fields.consumer).toEqual({ type: 'foreign', reference: 'consumers', eq: null });
    const config = Object.assign({}, ...fields.config.fields);
    expect(config.uri_param_names).toEqual({ type: 'set', default: ['jwt'], elements: { type: 'string' } });
    expect(config.maximum_expiration).toMatchObject({ type: 'number', default: 0, between: [0, 31536000] });
    expect(await t.call('GET', '/schemas/plugins/nope')).toMatchObject({ status: 404, body: { message: "No plugin named 'nope'" } });
    const lambda = Object.assign({}, ...Object.assign({}, ...(await t.call('GET', '/schemas/plugins/aws-lambda')).body.fields).config.fields);
    expect(lambda.invocation_type).toMatchObject({ default: 'RequestResponse', one_of: ['RequestResponse', 'Event', 'DryRun'] });
  });

  forEachContentType('POST /schemas/{entity}/validate', async (ct) => {
    const ok = await t.call('POST', '/schemas/services/validate', { body: { host: 'valid.test' }, contentType: ct });
    expect(ok).toMatchObject({ status: 200, body: { message: 'schema validation successful' } });
    const bad = await t.call('POST', '/schemas/services/validate', { body: { url: 'invalid url' }, contentType: ct });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('2 schema violations (host: required field missing; path: should start with: /)');
    // nothing was stored
    expect((await t.call('GET', '/services?tags=never')).body.data).toEqual([]);
  });

  forEachContentType('POST /schemas/plugins/validate', async (ct) => {
    const ok = await t.call('POST', '/schemas/plugins/validate', { body: { name: 'aws-lambda', config: { function_name: 'f', aws_region: 'us-east-1' } }, contentType: ct });
    expect(ok).toMatchObject({ status: 200, body: { message: 'schema validation successful' } });
    const bad = await t.call('POST', '/schemas/plugins/validate', { body: { name: 'jwt', config: { maximum_expiration: -1 } }, contentType: ct });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.config).toEqual({ maximum_expiration: 'value should be between 0 and 31536000' });
  });
});

describe('certificates and snis', () => {
  const pair = selfSigned('cert.test');

  forEachContentType('POST with snis, read by id and by SNI name, /certificates/{c}/snis', async (ct) => {
    const sni = `${gensym('h')}.example.test`;
    const r = await t.call('POST', '/certificates', { body: { cert: pair.cert, key: pair.key, snis: [sni] }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body.snis).toEqual([sni]);
    expect((await t.call('GET', `/certificates/${sni}`)).body).toEqual(r.body);
    const list = await t.call('GET', `/certificates/${r.body.id}/snis`);
    expect(list.body.data.map((s: any) => s.name)).toEqual([sni]);
    expect(list.body.data[0].certificate).toEqual({ id: r.body.id });
    expect(await t.call('GET', '/certificates/unknown.example.test')).toMatchObject({ status: 404, body: { message: 'SNI not found' } });
    expect((await t.call('GET', `/snis/${sni}/certificate`)).status).toBe(404);
  });

  it('invalid certificate', async () => {
    const r = await t.call('POST', '/certificates', { body: { cert: 'nope', key: pair.key } });
    expect(r.status).toBe(400);
    expect(r.body.fields.cert).toMatch(/^invalid certificate/);
  });

  it('PUT /certificates/{sni name} creates the certificate with that SNI', async () => {
    const sni = `${gensym('p')}.example.test`;
    const r = await t.call('PUT', `/certificates/${sni}`, { body: { cert: pair.cert, key: pair.key } });
    expect(r.status).toBe(200);
    expect(r.body.snis).toEqual([sni]);
  });
});

describe('extra routes and the pre-handler', () => {
  it('extra routes are served; the pre-handler can answer first', async () => {
    expect((await t.call('GET', '/clustering/ping?x=1')).body).toEqual({ pong: '1' });
    expect(await t.call('GET', '/services', { headers: { 'x-deny': '1' } })).toMatchObject({ status: 401, body: { message: 'Unauthorized' } });
    t.api.addRoute({ method: 'GET', pattern: '/late', handler: () => ({ status: 200, body: { late: true } }) });
    expect((await t.call('GET', '/late')).body).toEqual({ late: true });
  });

  it('a handler that throws a plain error → 500 An unexpected error occurred, server keeps running', async () => {
    t.api.addRoute({ method: 'GET', pattern: '/boom', handler: () => { throw new Error('boom'); } });
    expect(await t.call('GET', '/boom')).toMatchObject({ status: 500, body: { message: 'An unexpected error occurred' } });
    expect((await t.call('GET', '/services')).status).toBe(200);
  });
});

describe('database down', () => {
  let store: TestStore;
  let api: AdminApi;
  beforeAll(async () => {
    store = await openTestStore('admin_down');
    api = await startAdminApi({ config: defaultConfig(), dao: store.dao, log: quietLog, role: 'control_plane', listen: { host: '127.0.0.1', port: 0 } });
    await store.db.pool.end();
  });
  afterAll(async () => {
    await api?.close();
    await store?.dao.close();
    await store?.testDb.drop();
  });

  it('entity endpoints answer 500 with Kong body; /status reports the database unreachable', async () => {
    for (const [m, p] of [['GET', '/services'], ['POST', '/services'], ['GET', '/services/x'], ['DELETE', '/consumers/x']] as const) {
      const r = await call(api.url, m, p, m === 'POST' ? { body: { host: 'x.test' } } : {});
      expect(r.status).toBe(500);
      expect(r.body).toEqual({ message: 'An unexpected error occurred' });
    }
    const s = await call(api.url, 'GET', '/status');
    expect(s.status).toBe(200);
    expect(s.body.database).toEqual({ reachable: false });
  });
});
