// DAO CRUD against a real PostgreSQL: defaults echoed, keys, Kong's error bodies, cascades.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, openTestStore, type TestStore } from './store-helpers.js';

let store: TestStore;
beforeAll(async () => {
  store = await openTestStore('crud');
});
afterAll(async () => {
  await store?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('services', () => {
  it('insert fills defaults and auto fields, echoes every field', async () => {
    const s = await store.dao.insert('services', { name: 'svc-defaults', url: 'http://example.com:8080/api' });
    expect(s.id).toMatch(UUID);
    expect(Number.isInteger(s.created_at)).toBe(true);
    expect(s).toMatchObject({
      name: 'svc-defaults',
      protocol: 'http',
      host: 'example.com',
      port: 8080,
      path: '/api',
      retries: 5,
      connect_timeout: 60000,
      write_timeout: 60000,
      read_timeout: 60000,
      tags: null,
      client_certificate: null,
      tls_verify: null,
      tls_verify_depth: null,
      ca_certificates: null,
      enabled: true,
    });
    expect(s).not.toHaveProperty('url');
    expect(await store.dao.select('services', s.id)).toEqual(s);
    expect(await store.dao.select('services', 'svc-defaults')).toEqual(s);
  });

  it('select of an unknown id or name is null', async () => {
    expect(await store.dao.select('services', '00000000-0000-0000-0000-000000000001')).toBeNull();
    expect(await store.dao.select('services', 'nope')).toBeNull();
    expect(await store.dao.select('certificates', 'not-a-uuid')).toBeNull();
  });

  it('schema violations are 400 with Kong bodies', async () => {
    const f = await failure(store.dao.insert('services', { name: 'bad', url: 'invalid url' }));
    expect(f.status).toBe(400);
    expect(f.body).toMatchObject({ code: 2, name: 'schema violation' });
    expect(f.body.message).toBe('2 schema violations (host: required field missing; path: should start with: /)');
  });

  it('unique violation is 409 with the offending key', async () => {
    await store.dao.insert('services', { name: 'dup', host: 'a.test' });
    const f = await failure(store.dao.insert('services', { name: 'dup', host: 'b.test' }));
    expect(f).toEqual({
      status: 409,
      body: {
        code: 5,
        name: 'unique constraint violation',
        message: `UNIQUE violation detected on '{name="dup"}'`,
        fields: { name: 'dup' },
      },
    });
  });

  it('update merges, returns null when absent, and maps unique violations', async () => {
    const s = await store.dao.insert('services', { name: 'upd', host: 'u.test' });
    const u = await store.dao.update('services', 'upd', { port: 8443, tags: ['a', 'b'] });
    expect(u).toMatchObject({ id: s.id, name: 'upd', host: 'u.test', port: 8443, tags: ['a', 'b'], created_at: s.created_at });
    expect(await store.dao.update('services', 'missing', { port: 1 })).toBeNull();
    const f = await failure(store.dao.update('services', s.id, { name: 'dup' }));
    expect(f.status).toBe(409);
    expect(f.body.message).toBe(`UNIQUE violation detected on '{name="dup"}'`);
  });

  it('upsert by name creates with that name, then replaces (omitted fields back to defaults)', async () => {
    const a = await store.dao.upsert('services', 'put-svc', { host: 'p.test', retries: 9 });
    expect(a).toMatchObject({ name: 'put-svc', host: 'p.test', retries: 9 });
    const b = await store.dao.upsert('services', 'put-svc', { host: 'q.test' });
    expect(b).toMatchObject({ id: a.id, name: 'put-svc', host: 'q.test', retries: 5, created_at: a.created_at });
    const id = '6b0d5c2e-9a2f-4d3e-8f61-2c1d4b5a6e7f';
    const c = await store.dao.upsert('services', id, { host: 'r.test' });
    expect(c).toMatchObject({ id, name: null, host: 'r.test' });
  });

  it('delete is true once, then false', async () => {
    const s = await store.dao.insert('services', { name: 'del', host: 'd.test' });
    expect(await store.dao.delete('services', 'del')).toBe(true);
    expect(await store.dao.delete('services', s.id)).toBe(false);
    expect(await store.dao.select('services', s.id)).toBeNull();
  });
});

describe('routes and foreign keys', () => {
  it('foreign keys by id or by name; defaults echoed', async () => {
    const s = await store.dao.insert('services', { name: 'fk-svc', host: 'fk.test' });
    const r1 = await store.dao.insert('routes', { paths: ['/a'], service: { id: s.id } });
    const r2 = await store.dao.insert('routes', { name: 'r2', hosts: ['x.test'], service: { name: 'fk-svc' } });
    expect(r1.service).toEqual({ id: s.id });
    expect(r2.service).toEqual({ id: s.id });
    expect(r1).toMatchObject({
      protocols: ['http', 'https'],
      methods: null,
      hosts: null,
      paths: ['/a'],
      headers: null,
      https_redirect_status_code: 426,
      regex_priority: 0,
      strip_path: true,
      path_handling: 'v0',
      preserve_host: false,
      request_buffering: true,
      response_buffering: true,
      snis: null,
      sources: null,
      destinations: null,
      tags: null,
      name: null,
    });
  });

  it('unresolvable foreign key by name → 400 code 13', async () => {
    const f = await failure(store.dao.insert('routes', { paths: ['/x'], service: { name: 'non-existing' } }));
    expect(f).toEqual({
      status: 400,
      body: {
        code: 13,
        name: 'foreign keys unresolved',
        message: `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="non-existing"}' for an existing 'services' entity)`,
        fields: {
          service: { name: `the foreign key cannot be resolved with '{name="non-existing"}' for an existing 'services' entity` },
        },
      },
    });
  });

  it('unknown foreign id → 400 foreign key violation', async () => {
    const id = '11111111-2222-4333-8444-555555555555';
    const f = await failure(store.dao.insert('routes', { paths: ['/y'], service: { id } }));
    expect(f).toEqual({
      status: 400,
      body: {
        code: 4,
        name: 'foreign key violation',
        message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
        fields: { service: { id } },
      },
    });
  });

  it('a service with routes cannot be deleted (restrict)', async () => {
    const s = await store.dao.insert('services', { name: 'restricted', host: 'r.test' });
    const r = await store.dao.insert('routes', { paths: ['/r'], service: { id: s.id } });
    const f = await failure(store.dao.delete('services', s.id));
    expect(f).toEqual({
      status: 400,
      body: {
        code: 4,
        name: 'foreign key violation',
        message: `an existing 'routes' entity references this 'services' entity`,
        fields: { '@referenced_by': 'routes' },
      },
    });
    expect(await store.dao.delete('routes', r.id)).toBe(true);
    expect(await store.dao.delete('services', s.id)).toBe(true);
  });

  it('nested filters: select/update/delete only within the parent', async () => {
    const s1 = await store.dao.insert('services', { name: 'parent-1', host: 'p1.test' });
    const s2 = await store.dao.insert('services', { name: 'parent-2', host: 'p2.test' });
    const r = await store.dao.insert('routes', { name: 'child-r', paths: ['/c'], service: { id: s1.id } });
    expect(await store.dao.select('routes', 'child-r', { service: s2.id })).toBeNull();
    expect((await store.dao.select('routes', 'child-r', { service: s1.id }))?.id).toBe(r.id);
    expect(await store.dao.update('routes', r.id, { paths: ['/d'] }, { service: s2.id })).toBeNull();
    expect(await store.dao.delete('routes', r.id, { service: s2.id })).toBe(false);
    expect(await store.dao.select('routes', r.id)).not.toBeNull();
    const page = await store.dao.page('routes', { filter: { service: s1.id } });
    expect(page.data.map((x) => x.id)).toEqual([r.id]);
    expect(await store.dao.delete('routes', r.id, { service: s1.id })).toBe(true);
  });

  it('upsert under a parent injects the foreign key', async () => {
    const s = await store.dao.insert('services', { name: 'put-parent', host: 'pp.test' });
    const r = await store.dao.upsert('routes', 'put-child', { paths: ['/pc'] }, { service: s.id });
    expect(r).toMatchObject({ name: 'put-child', service: { id: s.id } });
    const other = await store.dao.insert('services', { name: 'put-other', host: 'po.test' });
    const f = await failure(store.dao.upsert('routes', 'put-child', { paths: ['/pc'] }, { service: other.id }));
    expect(f.status).toBe(404);
  });
});

describe('consumers, credentials and plugins', () => {
  it('consumers: at least one of username/custom_id; unique username', async () => {
    const f = await failure(store.dao.insert('consumers', {}));
    expect(f.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
      fields: { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] },
    });
    const c = await store.dao.insert('consumers', { username: 'bob', custom_id: 'b-1' });
    expect(c).toMatchObject({ username: 'bob', custom_id: 'b-1', tags: null });
    expect((await store.dao.select('consumers', 'bob'))?.id).toBe(c.id);
    const page = await store.dao.page('consumers', { filter: { custom_id: 'b-1' } });
    expect(page.data.map((x) => x.id)).toEqual([c.id]);
    const d = await failure(store.dao.insert('consumers', { username: 'bob' }));
    expect(d.body.message).toBe(`UNIQUE violation detected on '{username="bob"}'`);
  });

  it('credentials: generated keys, endpoint keys, consumer by username, hashed basic-auth password', async () => {
    const c = await store.dao.insert('consumers', { username: 'cred-owner' });
    const jwt = await store.dao.insert('jwt_secrets', { consumer: { username: 'cred-owner' } });
    expect(jwt).toMatchObject({ consumer: { id: c.id }, algorithm: 'HS256', rsa_public_key: null, tags: null });
    expect(jwt.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(jwt.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await store.dao.select('jwt_secrets', jwt.key))?.id).toBe(jwt.id);
    const ka = await store.dao.insert('keyauth_credentials', { consumer: { id: c.id }, key: 'secret-key' });
    expect(ka).toMatchObject({ key: 'secret-key', consumer: { id: c.id } });
    expect((await store.dao.select('keyauth_credentials', 'secret-key', { consumer: c.id }))?.id).toBe(ka.id);
    // a ttl is echoed and stored as the expiry the data planes enforce
    const temp = await store.dao.insert('keyauth_credentials', { consumer: { id: c.id }, key: 'temp-key', ttl: 3600 });
    expect(temp.ttl).toBe(3600);
    const stored = await store.dao.select('keyauth_credentials', 'temp-key');
    expect(stored?.expires_at).toBeGreaterThan(Date.now() / 1000 + 3590);
    expect((await store.dao.exportSnapshot()).keyauth_credentials.find((k) => k.id === temp.id)?.expires_at).toBe(stored?.expires_at);
    const ba = await store.dao.insert('basicauth_credentials', { consumer: { id: c.id }, username: 'alice', password: 'pw' });
    expect(ba.password).toMatch(/^\$scrypt\$/);
    const acl = await store.dao.insert('acls', { consumer: { id: c.id }, group: 'admins' });
    expect(acl).toMatchObject({ group: 'admins', consumer: { id: c.id } });
    const dup = await failure(store.dao.insert('keyauth_credentials', { consumer: { id: c.id }, key: 'secret-key' }));
    expect(dup.status).toBe(409);
    // upsert by a new key creates it
    const put = await store.dao.upsert('keyauth_credentials', 'new-key', {}, { consumer: c.id });
    expect(put).toMatchObject({ key: 'new-key', consumer: { id: c.id } });
  });

  it('deleting a consumer cascades to its credentials', async () => {
    const c = await store.dao.insert('consumers', { username: 'to-delete' });
    const k = await store.dao.insert('keyauth_credentials', { consumer: { id: c.id } });
    const a = await store.dao.insert('acls', { consumer: { id: c.id }, group: 'g' });
    expect(await store.dao.delete('consumers', 'to-delete')).toBe(true);
    expect(await store.dao.select('keyauth_credentials', k.id)).toBeNull();
    expect(await store.dao.select('acls', a.id)).toBeNull();
  });

  it('plugins: config defaults, scope uniqueness 409, cascade with their service', async () => {
    const s = await store.dao.insert('services', { name: 'plugged', host: 'pl.test' });
    const p = await store.dao.insert('plugins', { name: 'cors', service: { name: 'plugged' } });
    expect(p).toMatchObject({ name: 'cors', enabled: true, route: null, consumer: null, service: { id: s.id }, instance_name: null });
    expect(p.protocols).toEqual(['grpc', 'grpcs', 'http', 'https']);
    expect(typeof p.config).toBe('object');
    const f = await failure(store.dao.insert('plugins', { name: 'cors', service: { id: s.id } }));
    expect(f).toEqual({
      status: 409,
      body: {
        code: 5,
        name: 'unique constraint violation',
        message: `UNIQUE violation detected on '{consumer=null,name="cors",route=null,service={id="${s.id}"}}'`,
        fields: { consumer: null, name: 'cors', route: null, service: { id: s.id } },
      },
    });
    // the same plugin globally is a different scope
    const g = await store.dao.insert('plugins', { name: 'cors', instance_name: 'global-cors' });
    expect((await store.dao.select('plugins', 'global-cors'))?.id).toBe(g.id);
    expect(await store.dao.delete('services', s.id)).toBe(true);
    expect(await store.dao.select('plugins', p.id)).toBeNull();
    expect(await store.dao.delete('plugins', g.id)).toBe(true);
  });
});

describe('upstreams and targets', () => {
  it('targets default weight and port; ms timestamps; cascade with the upstream', async () => {
    const u = await store.dao.insert('upstreams', { name: 'up.internal' });
    expect(u).toMatchObject({ algorithm: 'round-robin', slots: 10000, hash_on: 'none', use_srv_name: false });
    expect(u.healthchecks.active.healthy.http_statuses).toEqual([200, 302]);
    const t = await store.dao.insert('targets', { upstream: { name: 'up.internal' }, target: '10.0.0.1' });
    expect(t).toMatchObject({ target: '10.0.0.1:8000', weight: 100, upstream: { id: u.id } });
    expect(typeof t.created_at).toBe('number');
    expect(await store.dao.delete('upstreams', u.id)).toBe(true);
    expect(await store.dao.select('targets', t.id)).toBeNull();
  });
});
