// Generic entity endpoints (kong/api/endpoints.lua) over a real PostgreSQL, each write case in
// JSON, form-urlencoded and multipart: create/read/upsert/update/delete, endpoint keys, nested
// collections, to-one foreign endpoints, Kong's error bodies.
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { forEachContentType, gensym, UUID_RE, useAdmin } from './admin-helpers.js';

const t = useAdmin('entities');

async function service(name = gensym('svc')) {
  const r = await t.call('POST', '/services', { body: { name, host: 'example.test' } });
  expect(r.status).toBe(201);
  return r.body;
}

describe('services', () => {
  forEachContentType('POST creates from the url shorthand and echoes every field', async (ct) => {
    const name = gensym('svc');
    const r = await t.call('POST', '/services', { body: { name, url: 'https://api.example.test/v1', tags: ['a', 'b'] }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name, protocol: 'https', host: 'api.example.test', port: 443, path: '/v1', tags: ['a', 'b'], retries: 5, enabled: true });
    expect(r.body.id).toMatch(UUID_RE);
    expect(r.body).not.toHaveProperty('url');
  });

  forEachContentType('POST with an invalid url → 2 schema violations', async (ct) => {
    const r = await t.call('POST', '/services', { body: { url: 'invalid url' }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: '2 schema violations (host: required field missing; path: should start with: /)',
      fields: { host: 'required field missing', path: 'should start with: /' },
    });
  });

  forEachContentType('POST with an unknown field and a bad enum', async (ct) => {
    const r = await t.call('POST', '/services', { body: { host: 'x.test', foo: 'bar', protocol: 'ftp' }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ foo: 'unknown field', protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp' });
    expect(r.body.message).toBe('2 schema violations (foo: unknown field; protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)');
  });

  forEachContentType('POST a duplicate name → 409', async (ct) => {
    const s = await service();
    const r = await t.call('POST', '/services', { body: { name: s.name, host: 'other.test' }, contentType: ct });
    expect(r.status).toBe(409);
    expect(r.body).toEqual({ code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{name="${s.name}"}'`, fields: { name: s.name } });
  });

  it('GET by id and by name, 404 otherwise', async () => {
    const s = await service();
    expect((await t.call('GET', `/services/${s.id}`)).body).toEqual(s);
    expect((await t.call('GET', `/services/${s.name}`)).body).toEqual(s);
    const missing = await t.call('GET', `/services/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'Not found' });
    expect((await t.call('GET', '/services/no-such-service')).status).toBe(404);
  });

  forEachContentType('PUT creates by name, then replaces (omitted fields → defaults), 200 both times', async (ct) => {
    const name = gensym('put');
    const a = await t.call('PUT', `/services/${name}`, { body: { host: 'a.test', retries: 3 }, contentType: ct });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ name, host: 'a.test', retries: 3 });
    const b = await t.call('PUT', `/services/${name}`, { body: { host: 'b.test' }, contentType: ct });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ id: a.body.id, name, host: 'b.test', retries: 5, created_at: a.body.created_at });
  });

  forEachContentType('PUT by a new uuid creates with that id', async (ct) => {
    const id = randomUUID();
    const r = await t.call('PUT', `/services/${id}`, { body: { host: 'c.test' }, contentType: ct });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(id);
  });

  forEachContentType('PATCH updates, 404 when absent', async (ct) => {
    const s = await service();
    const r = await t.call('PATCH', `/services/${s.name}`, { body: { port: 8080, path: '/p' }, contentType: ct });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: s.id, port: 8080, path: '/p', host: 'example.test' });
    const missing = await t.call('PATCH', `/services/${randomUUID()}`, { body: { port: 1 }, contentType: ct });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'Not found' });
  });

  forEachContentType('PATCH with an empty string unsets a field (form) / null (json)', async (ct) => {
    const s = await t.call('POST', '/services', { body: { host: 'x.test', path: '/a' } });
    const r = await t.call('PATCH', `/services/${s.body.id}`, { body: { path: null }, contentType: ct });
    expect(r.status).toBe(200);
    expect(r.body.path).toBeNull();
  });

  it('DELETE → 204, also when absent', async () => {
    const s = await service();
    const r = await t.call('DELETE', `/services/${s.id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect((await t.call('GET', `/services/${s.id}`)).status).toBe(404);
    expect((await t.call('DELETE', `/services/${s.id}`)).status).toBe(204);
    expect((await t.call('DELETE', '/services/never-existed')).status).toBe(204);
  });

  it('DELETE of a service still used by a route → 400 foreign key violation', async () => {
    const s = await service();
    await t.call('POST', `/services/${s.id}/routes`, { body: { paths: ['/x'] } });
    const r = await t.call('DELETE', `/services/${s.id}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 4, name: 'foreign key violation', message: "an existing 'routes' entity references this 'services' entity" });
  });

  it('two concurrent POSTs of the same name → one 201 and one 409', async () => {
    const name = gensym('race');
    const results = await Promise.all([1, 2].map(() => t.call('POST', '/services', { body: { name, host: 'r.test' } })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)!.body.fields).toEqual({ name });
  });

  it('PUT with a non-uuid key on an entity without an endpoint key → 400 invalid primary key', async () => {
    const r = await t.call('PUT', '/acls/not-a-uuid', { body: { group: 'g' } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 1, name: 'invalid primary key', message: `invalid primary key: '{id="not-a-uuid"}'`, fields: { id: 'expected a valid UUID' } });
  });

  it('unknown paths → 404, wrong methods → 405', async () => {
    expect(await t.call('GET', '/nope')).toMatchObject({ status: 404, body: { message: 'Not found' } });
    expect(await t.call('DELETE', '/services')).toMatchObject({ status: 405, body: { message: 'Method not allowed' } });
    expect(await t.call('POST', `/services/${randomUUID()}`, { body: {} })).toMatchObject({ status: 405, body: { message: 'Method not allowed' } });
  });
});

describe('consumers', () => {
  forEachContentType('POST with an empty body → entity-level schema violation', async (ct) => {
    const r = await t.call('POST', '/consumers', { body: {}, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
      fields: { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] },
    });
  });

  it('POST with no body at all → the same schema violation', async () => {
    const r = await t.call('POST', '/consumers');
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] });
  });

  forEachContentType('duplicate username → 409', async (ct) => {
    const username = gensym('bob');
    expect((await t.call('POST', '/consumers', { body: { username }, contentType: ct })).status).toBe(201);
    const r = await t.call('POST', '/consumers', { body: { username }, contentType: ct });
    expect(r.status).toBe(409);
    expect(r.body.message).toBe(`UNIQUE violation detected on '{username="${username}"}'`);
  });

  it('GET /consumers?custom_id=', async () => {
    const custom_id = gensym('cid');
    const c = (await t.call('POST', '/consumers', { body: { custom_id } })).body;
    expect((await t.call('GET', `/consumers?custom_id=${custom_id}`)).body).toEqual({ data: [c], next: null });
    expect((await t.call('GET', '/consumers?custom_id=nobody')).body).toEqual({ data: [], next: null });
    const bad = await t.call('GET', '/consumers?custom_id=');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ message: 'custom_id must be an unempty string' });
  });

  it('GET by username', async () => {
    const username = gensym('u');
    const c = (await t.call('POST', '/consumers', { body: { username } })).body;
    expect((await t.call('GET', `/consumers/${username}`)).body).toEqual(c);
  });
});

describe('routes: nested under services, foreign keys by id or name', () => {
  forEachContentType('POST /services/{s}/routes injects the service', async (ct) => {
    const s = await service();
    const r = await t.call('POST', `/services/${s.name}/routes`, { body: { paths: ['/a', '/b'], methods: ['GET'] }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ paths: ['/a', '/b'], methods: ['GET'], service: { id: s.id } });
  });

  forEachContentType('POST /services/{missing}/routes → 404', async (ct) => {
    const r = await t.call('POST', `/services/${randomUUID()}/routes`, { body: { paths: ['/a'] }, contentType: ct });
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ message: 'Not found' });
  });

  forEachContentType('POST /routes with the service named by name', async (ct) => {
    const s = await service();
    const r = await t.call('POST', '/routes', { body: { paths: ['/n'], service: { name: s.name } }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body.service).toEqual({ id: s.id });
  });

  forEachContentType('POST /routes with a service id that does not exist → 400 foreign key violation', async (ct) => {
    const id = randomUUID();
    const r = await t.call('POST', '/routes', { body: { paths: ['/n'], service: { id } }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 4, name: 'foreign key violation', message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.` });
  });

  it('POST /routes with an unknown service name → 400 foreign keys unresolved', async () => {
    const r = await t.call('POST', '/routes', { body: { paths: ['/n'], service: { name: 'no-such-svc' } } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(13);
    expect(r.body.name).toBe('foreign keys unresolved');
  });

  forEachContentType('routes needs one of methods/hosts/headers/paths', async (ct) => {
    const s = await service();
    const r = await t.call('POST', `/services/${s.id}/routes`, { body: { protocols: ['http'] }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields['@entity']).toEqual(["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"]);
  });

  it('nested GET/PATCH/PUT/DELETE: 404 when the route belongs to another service', async () => {
    const s1 = await service();
    const s2 = await service();
    const r = (await t.call('POST', `/services/${s1.id}/routes`, { body: { name: gensym('rt'), paths: ['/r'] } })).body;
    expect((await t.call('GET', `/services/${s1.id}/routes/${r.id}`)).body).toEqual(r);
    expect((await t.call('GET', `/services/${s1.name}/routes/${r.name}`)).body).toEqual(r);
    expect((await t.call('GET', `/services/${s2.id}/routes/${r.id}`)).status).toBe(404);
    expect((await t.call('PATCH', `/services/${s2.id}/routes/${r.id}`, { body: { paths: ['/z'] } })).status).toBe(404);
    expect((await t.call('PUT', `/services/${s2.id}/routes/${r.id}`, { body: { paths: ['/z'] } })).status).toBe(404);
    expect((await t.call('DELETE', `/services/${s2.id}/routes/${r.id}`)).status).toBe(404);
    expect((await t.call('GET', `/services/${randomUUID()}/routes/${r.id}`)).status).toBe(404);
    const patched = await t.call('PATCH', `/services/${s1.id}/routes/${r.id}`, { body: { paths: ['/z'] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ paths: ['/z'], service: { id: s1.id } });
    expect((await t.call('DELETE', `/services/${s1.id}/routes/${r.id}`)).status).toBe(204);
    expect((await t.call('DELETE', `/services/${s1.id}/routes/${r.id}`)).status).toBe(404);
  });

  it('nested PUT creates under the parent', async () => {
    const s = await service();
    const name = gensym('rput');
    const r = await t.call('PUT', `/services/${s.id}/routes/${name}`, { body: { paths: ['/put'] } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name, service: { id: s.id }, paths: ['/put'] });
  });

  it('GET /services/{s}/routes lists only its routes; next omits size/tags', async () => {
    const s = await service();
    const other = await service();
    await t.call('POST', `/services/${other.id}/routes`, { body: { paths: ['/other'] } });
    for (let i = 0; i < 3; i++) await t.call('POST', `/services/${s.id}/routes`, { body: { paths: [`/p${i}`], tags: ['nested'] } });
    const page1 = await t.call('GET', `/services/${s.name}/routes?size=2&tags=nested`);
    expect(page1.status).toBe(200);
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.data.every((r: any) => r.service.id === s.id)).toBe(true);
    expect(page1.body.next).toBe(`/services/${s.name}/routes?offset=${encodeURIComponent(page1.body.offset)}`);
    const page2 = await t.call('GET', `${page1.body.next}&size=2`);
    expect(page2.body.data).toHaveLength(1);
    expect(page2.body.next).toBeNull();
    expect(page2.body).not.toHaveProperty('offset');
  });

  it('/routes/{r}/service: GET, PATCH, PUT; DELETE → 405; serviceless → 404', async () => {
    const s = await service();
    const r = (await t.call('POST', `/services/${s.id}/routes`, { body: { paths: ['/fk'] } })).body;
    expect((await t.call('GET', `/routes/${r.id}/service`)).body).toEqual(s);
    const patched = await t.call('PATCH', `/routes/${r.id}/service`, { body: { retries: 9 } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: s.id, retries: 9 });
    const del = await t.call('DELETE', `/routes/${r.id}/service`);
    expect(del.status).toBe(405);
    expect(del.body).toEqual({ message: 'Method not allowed' });

    const lone = (await t.call('POST', '/routes', { body: { paths: ['/lone'] } })).body;
    expect((await t.call('GET', `/routes/${lone.id}/service`)).status).toBe(404);
    expect((await t.call('DELETE', `/routes/${lone.id}/service`)).status).toBe(404);
    const put = await t.call('PUT', `/routes/${lone.id}/service`, { body: { host: 'new.test' } });
    expect(put.status).toBe(200);
    expect(put.body.host).toBe('new.test');
    expect((await t.call('GET', `/routes/${lone.id}`)).body.service).toEqual({ id: put.body.id });
    expect((await t.call('GET', `/routes/${randomUUID()}/service`)).status).toBe(404);
  });
});

describe('plugins', () => {
  forEachContentType('POST /services/{s}/plugins, then a duplicate on the same scope → 409 with Kong fields', async (ct) => {
    const s = await service();
    expect((await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'jwt' }, contentType: ct })).status).toBe(201);
    const r = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'jwt' }, contentType: ct });
    expect(r.status).toBe(409);
    expect(r.body).toEqual({
      code: 5,
      name: 'unique constraint violation',
      message: `UNIQUE violation detected on '{consumer=null,name="jwt",route=null,service={id="${s.id}"}}'`,
      fields: { consumer: null, name: 'jwt', route: null, service: { id: s.id } },
    });
  });

  forEachContentType('unknown plugin name', async (ct) => {
    const r = await t.call('POST', '/plugins', { body: { name: 'no-such-plugin' }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields.name).toBe("plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property");
  });

  forEachContentType('jwt cannot be scoped to a consumer', async (ct) => {
    const c = (await t.call('POST', '/consumers', { body: { username: gensym('c') } })).body;
    const r = await t.call('POST', `/consumers/${c.id}/plugins`, { body: { name: 'jwt' }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 2, message: 'schema violation (consumer: value must be null)', fields: { consumer: 'value must be null' } });
  });

  forEachContentType('jwt maximum_expiration > 0 requires exp in claims_to_verify', async (ct) => {
    const s = await service();
    const r = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'jwt', config: { maximum_expiration: 60, claims_to_verify: ['nbf'] } }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields.config).toEqual({ claims_to_verify: 'expected to contain: exp' });
    const okay = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'jwt', config: { maximum_expiration: 60, claims_to_verify: ['exp'] } }, contentType: ct });
    expect(okay.status).toBe(201);
    expect(okay.body.config).toMatchObject({ maximum_expiration: 60, claims_to_verify: ['exp'] });
  });

  forEachContentType('aws-lambda: aws_key and aws_secret are mutually required; proxy_url must be http', async (ct) => {
    const s = await service();
    const r = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'aws-lambda', config: { function_name: 'f', aws_key: 'AKIA' } }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields['@entity']).toEqual(["all or none of these fields must be set: 'config.aws_key', 'config.aws_secret'"]);
    const p = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'aws-lambda', config: { function_name: 'f', proxy_url: 'https://squid:3128' } }, contentType: ct });
    expect(p.status).toBe(400);
    expect(p.body.fields['@entity']).toEqual(['proxy_url scheme must be http']);
    const bad = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'aws-lambda', config: { unhandled_status: 99, invocation_type: 'Nope' } }, contentType: ct });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.config).toEqual({ unhandled_status: 'value should be between 100 and 999', invocation_type: 'expected one of: RequestResponse, Event, DryRun' });
  });

  forEachContentType('PATCH /services/{s}/plugins/{p} decodes config.* with the stored plugin', async (ct) => {
    const s = await service();
    const p = (await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'aws-lambda', config: { function_name: 'f' } } })).body;
    const r = await t.call('PATCH', `/services/${s.id}/plugins/${p.id}`, { body: { config: { timeout: 1500, forward_request_body: true } }, contentType: ct });
    expect(r.status).toBe(200);
    expect(r.body.config).toMatchObject({ timeout: 1500, forward_request_body: true, function_name: 'f', port: 443 });
  });

  it('/plugins/{p}/service, /plugins/{p}/route (null → 404), instance_name as key', async () => {
    const s = await service();
    const instance = gensym('inst');
    const p = (await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'cors', instance_name: instance } })).body;
    expect((await t.call('GET', `/plugins/${p.id}/service`)).body).toEqual(s);
    expect((await t.call('GET', `/plugins/${p.id}/route`)).status).toBe(404);
    expect((await t.call('GET', `/plugins/${instance}`)).body).toEqual(p);
    expect((await t.call('GET', `/services/${s.id}/plugins`)).body.data).toEqual([p]);
  });
});

describe('upstreams and targets', () => {
  forEachContentType('targets only under their upstream', async (ct) => {
    const u = (await t.call('POST', '/upstreams', { body: { name: gensym('up') } })).body;
    const r = await t.call('POST', `/upstreams/${u.name}/targets`, { body: { target: '10.0.0.1', weight: 50 }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ target: '10.0.0.1:8000', weight: 50, upstream: { id: u.id } });
    expect(typeof r.body.created_at).toBe('number');
    expect((await t.call('GET', `/upstreams/${u.id}/targets`)).body.data).toEqual([r.body]);
    expect((await t.call('GET', `/upstreams/${u.id}/targets/all`)).body.data).toEqual([r.body]);
    expect((await t.call('GET', `/upstreams/${u.id}/targets/${r.body.id}`)).body).toEqual(r.body);
    expect((await t.call('GET', `/upstreams/${u.id}/targets/10.0.0.1:8000`)).body).toEqual(r.body);
    const other = (await t.call('POST', '/upstreams', { body: { name: gensym('up') } })).body;
    expect((await t.call('GET', `/upstreams/${other.id}/targets/${r.body.id}`)).status).toBe(404);
  });

  it('top-level /targets is disabled', async () => {
    expect((await t.call('GET', '/targets')).status).toBe(404);
    expect((await t.call('POST', '/targets', { body: { target: 'x:1' } })).status).toBe(404);
    expect((await t.call('GET', `/targets/${randomUUID()}`)).status).toBe(404);
    expect((await t.call('GET', `/targets/${randomUUID()}/upstream`)).status).toBe(404);
  });

  forEachContentType('invalid target', async (ct) => {
    const u = (await t.call('POST', '/upstreams', { body: { name: gensym('up') } })).body;
    const r = await t.call('POST', `/upstreams/${u.id}/targets`, { body: { target: 'not valid!' }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields.target).toBe("Invalid target ('not valid!'); not a valid hostname or ip address");
  });
});

describe('credentials', () => {
  async function consumer() {
    return (await t.call('POST', '/consumers', { body: { username: gensym('cred') } })).body;
  }

  forEachContentType('jwt: generated key and secret; flat /jwts; /jwts/{k}/consumer; mismatch → 404', async (ct) => {
    const c = await consumer();
    const r = await t.call('POST', `/consumers/${c.username}/jwt`, { body: { algorithm: 'HS256' }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(r.body.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(r.body.consumer).toEqual({ id: c.id });
    expect((await t.call('GET', `/jwts/${r.body.key}`)).body).toEqual(r.body);
    expect((await t.call('GET', `/jwts/${r.body.key}/consumer`)).body).toEqual(c);
    expect((await t.call('DELETE', `/jwts/${r.body.key}/consumer`)).status).toBe(405);
    const other = await consumer();
    expect((await t.call('GET', `/consumers/${other.id}/jwt/${r.body.id}`)).status).toBe(404);
    expect((await t.call('GET', `/consumers/${c.id}/jwt`)).body.data).toEqual([r.body]);
  });

  forEachContentType('jwt RS256 without a public key', async (ct) => {
    const c = await consumer();
    const r = await t.call('POST', `/consumers/${c.id}/jwt`, { body: { algorithm: 'RS256' }, contentType: ct });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ rsa_public_key: 'required field missing' });
  });

  forEachContentType('key-auth with a given key; duplicate key → 409', async (ct) => {
    const c = await consumer();
    const key = gensym('k');
    const r = await t.call('POST', `/consumers/${c.id}/key-auth`, { body: { key }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ key, consumer: { id: c.id } });
    expect((await t.call('GET', `/key-auths/${key}`)).body.id).toBe(r.body.id);
    const dup = await t.call('POST', `/consumers/${c.id}/key-auth`, { body: { key }, contentType: ct });
    expect(dup.status).toBe(409);
    expect(dup.body.fields).toEqual({ key });
  });

  it("key-auth with a ttl: Kong's `ttl` (seconds left) in every answer, hidden once expired", async () => {
    const c = await consumer();
    const lasting = await t.call('POST', `/consumers/${c.id}/key-auth`, { body: { key: gensym('k'), ttl: 3600 } });
    expect(lasting.status).toBe(201);
    expect(lasting.body.ttl).toBe(3600);
    expect(lasting.body).not.toHaveProperty('expires_at');
    const read = (await t.call('GET', `/key-auths/${lasting.body.id}`)).body;
    expect(read.ttl).toBeGreaterThan(3590);
    expect(read.ttl).toBeLessThanOrEqual(3600);
    expect(read).not.toHaveProperty('expires_at');
    const plain = await t.call('POST', `/consumers/${c.id}/key-auth`, { body: {} });
    expect(plain.body).not.toHaveProperty('ttl');
    expect(plain.body).not.toHaveProperty('expires_at');

    const tag = gensym('ttltag');
    const short = await t.call('POST', `/consumers/${c.id}/key-auth`, { body: { key: gensym('k'), ttl: 1, tags: [tag] } });
    const tagged = async () => (await t.call('GET', `/tags/${tag}`)).body.data.map((e: { entity_id: string }) => e.entity_id);
    expect(await tagged()).toEqual([short.body.id]);
    expect(short.status).toBe(201);
    const listed = async () => (await t.call('GET', `/consumers/${c.id}/key-auth`)).body.data.map((k: { id: string }) => k.id).sort();
    expect(await listed()).toEqual([lasting.body.id, plain.body.id, short.body.id].sort());
    await new Promise((r) => setTimeout(r, 2100));
    expect((await t.call('GET', `/key-auths/${short.body.id}`)).status).toBe(404);
    expect((await t.call('GET', `/consumers/${c.id}/key-auth/${short.body.key}`)).status).toBe(404);
    expect((await t.call('PATCH', `/key-auths/${short.body.id}`, { body: { tags: ['x'] } })).status).toBe(404);
    expect(await listed()).toEqual([lasting.body.id, plain.body.id].sort());
    expect(await tagged()).toEqual([]);
    // a write without ttl keeps the expiry; ttl 0 removes it
    const patched = await t.call('PATCH', `/key-auths/${lasting.body.id}`, { body: { tags: ['x'] } });
    expect(patched.body.ttl).toBeGreaterThan(3590);
    const forever = await t.call('PATCH', `/key-auths/${lasting.body.id}`, { body: { ttl: 0 } });
    expect(forever.status).toBe(200);
    expect((await t.call('GET', `/key-auths/${lasting.body.id}`)).body).not.toHaveProperty('ttl');
    // the stored expiry is ours, not a Kong field: not accepted, not in the schema
    const sent = await t.call('POST', `/consumers/${c.id}/key-auth`, { body: { expires_at: 1 } });
    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({ code: 2, name: 'schema violation', fields: { expires_at: 'unknown field' } });
    expect((await t.call('PATCH', `/key-auths/${plain.body.id}`, { body: { expires_at: 1 } })).status).toBe(400);
    const fields = (await t.call('GET', '/schemas/key-auths')).body.fields.map((f: object) => Object.keys(f)[0]);
    expect(fields).toContain('key');
    expect(fields).not.toContain('expires_at');
  });

  forEachContentType('basic-auth stores a hashed password', async (ct) => {
    const c = await consumer();
    const username = gensym('ba');
    const r = await t.call('POST', `/consumers/${c.id}/basic-auth`, { body: { username, password: 'kong' }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body.password).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(JSON.stringify((await t.call('GET', `/basic-auths/${username}`)).body)).not.toContain('kong"');
    expect((await t.call('GET', `/basic-auths/${username}/consumer`)).body).toEqual(c);
    // a Kong hash (sha1(password .. consumer_id)) imported as it is, and updates keep the stored hash
    const sha1 = createHash('sha1').update(`kong${c.id}`).digest('hex');
    const imported = await t.call('POST', `/consumers/${c.id}/basic-auth`, { body: { username: `${username}-kong`, password: sha1 }, contentType: ct });
    expect(imported.body.password).toBe(sha1);
    const patched = await t.call('PATCH', `/basic-auths/${r.body.id}`, { body: { tags: ['x'] }, contentType: ct });
    expect(patched.body.password).toBe(r.body.password);
  });

  forEachContentType('acls by id or by group under the consumer', async (ct) => {
    const c = await consumer();
    const r = await t.call('POST', `/consumers/${c.id}/acls`, { body: { group: 'admins' }, contentType: ct });
    expect(r.status).toBe(201);
    expect((await t.call('GET', `/consumers/${c.id}/acls/admins`)).body).toEqual(r.body);
    expect((await t.call('GET', `/acls/${r.body.id}`)).body).toEqual(r.body);
    expect((await t.call('GET', `/acls/${r.body.id}/consumer`)).body).toEqual(c);
    const put = await t.call('PUT', `/consumers/${c.id}/acls/devs`, { body: {}, contentType: ct });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ group: 'devs', consumer: { id: c.id } });
    expect((await t.call('DELETE', `/consumers/${c.id}/acls/admins`)).status).toBe(204);
    expect((await t.call('GET', `/consumers/${c.id}/acls/admins`)).status).toBe(404);
  });

  it('deleting the consumer deletes its credentials', async () => {
    const c = await consumer();
    const k = (await t.call('POST', `/consumers/${c.id}/key-auth`, { body: {} })).body;
    expect((await t.call('DELETE', `/consumers/${c.id}`)).status).toBe(204);
    expect((await t.call('GET', `/key-auths/${k.id}`)).status).toBe(404);
  });
});
