// Admin API behaviours found by running Kong's own specs: OPTIONS and CORS (kong/api/api_helpers.lua),
// gRPC routes (routes_subschemas.lua), foreign keys without their key, the order of several violations,
// the version Kong tooling parses from GET /, and pagination in primary-key order.
import { describe, expect, it } from 'vitest';
import { KONG_COMPAT_VERSION } from '../../shared/version.js';
import { forEachContentType, gensym, useAdmin } from './admin-helpers.js';

const t = useAdmin('kongcompat');

async function service(name = gensym('svc')) {
  const r = await t.call('POST', '/services', { body: { name, host: 'example.test' } });
  expect(r.status).toBe(201);
  return r.body;
}

describe('OPTIONS and CORS', () => {
  it('OPTIONS on a collection → 204 with Allow and the preflight headers', async () => {
    const r = await t.call('OPTIONS', '/services');
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(r.headers.allow).toBe('GET, HEAD, OPTIONS, POST');
    expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS, POST');
    expect(r.headers['access-control-allow-headers']).toBe('Content-Type');
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('OPTIONS on an entity (existing or not) lists the entity methods', async () => {
    const s = await service();
    for (const path of [`/services/${s.id}`, '/services/does-not-exist', `/services/${s.name}/routes`]) {
      const r = await t.call('OPTIONS', path);
      expect(r.status).toBe(204);
      expect(r.headers.allow).toBe(path.endsWith('/routes') ? 'GET, HEAD, OPTIONS, POST' : 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
    }
  });

  it('a CORS preflight gets the origin and the requested headers back', async () => {
    const r = await t.call('OPTIONS', '/consumers', {
      headers: { origin: 'https://gui.example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'Content-Type, X-Custom' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://gui.example.test');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-allow-headers']).toBe('Content-Type, X-Custom');
    expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS, POST');
  });

  it('every response carries Access-Control-Allow-Origin, unknown paths still 404', async () => {
    const r = await t.call('GET', '/services', { headers: { origin: 'https://gui.example.test' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://gui.example.test');
    expect((await t.call('OPTIONS', '/no-such-endpoint')).status).toBe(404);
  });
});

describe('gRPC routes', () => {
  forEachContentType('protocols grpc: strip_path defaults to false, no methods', async (ct) => {
    const r = await t.call('POST', '/routes', { body: { protocols: ['grpc'], paths: ['/hello.HelloService/'] }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ protocols: ['grpc'], strip_path: false, methods: null, paths: ['/hello.HelloService/'] });
  });

  it('grpc, grpcs: the same defaults', async () => {
    const r = await t.call('POST', '/routes', { body: { protocols: ['grpc', 'grpcs'], hosts: ['grpc.test'] } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ strip_path: false, methods: null });
  });

  it("strip_path true is refused with Kong's message", async () => {
    const r = await t.call('POST', '/routes', { body: { protocols: ['grpc'], paths: ['/x'], strip_path: true } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: "schema violation (strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs')",
      fields: { strip_path: "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'" },
    });
  });

  it("methods are refused with Kong's message (even invalid ones)", async () => {
    for (const methods of [['GET'], ['get'], []]) {
      const r = await t.call('POST', '/routes', { body: { protocols: ['grpcs'], hosts: ['g.test'], methods } });
      expect(r.status).toBe(400);
      expect(r.body.fields).toEqual({ methods: "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'" });
    }
  });

  it('a grpc route needs hosts, headers or paths; grpcs also accepts snis', async () => {
    const grpc = await t.call('POST', '/routes', { body: { protocols: ['grpc'] } });
    expect(grpc.status).toBe(400);
    expect(grpc.body.message).toBe("schema violation (must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc')");
    expect(grpc.body.fields).toEqual({ '@entity': ["must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"] });
    const grpcs = await t.call('POST', '/routes', { body: { protocols: ['grpcs'] } });
    expect(grpcs.status).toBe(400);
    expect(grpcs.body.fields).toEqual({ '@entity': ["must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'"] });
    const withSni = await t.call('POST', '/routes', { body: { protocols: ['grpcs'], snis: ['g.test'] } });
    expect(withSni.status).toBe(201);
  });

  it('PATCH an http route to grpc keeps its strip_path=true: refused', async () => {
    const created = await t.call('POST', '/routes', { body: { paths: ['/p'] } });
    expect(created.body.strip_path).toBe(true);
    const r = await t.call('PATCH', `/routes/${created.body.id}`, { body: { protocols: ['grpc'] } });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ strip_path: "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'" });
  });
});

describe('schema violations as Kong words and orders them', () => {
  it('a foreign reference without its key → missing primary key', async () => {
    const r = await t.call('POST', '/routes', { body: { paths: ['/fk'], service: {} } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: 'schema violation (service.id: missing primary key)',
      fields: { service: { id: 'missing primary key' } },
    });
  });

  it('snis on an http route: the entity errors first (in check order), then the fields', async () => {
    // Kong's 02-db_core_entities_spec "fails if all routing criteria for http would be null"
    const r = await t.call('POST', '/routes', { body: { protocols: ['http'], snis: ['example.org'] } });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe(
      "3 schema violations ('snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'; " +
        "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'; snis: length must be 0)",
    );
    expect(r.body.fields).toEqual({
      '@entity': [
        "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
        "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'",
      ],
      snis: 'length must be 0',
    });
  });

  it('the at-least-one check runs even when a field is invalid', async () => {
    const r = await t.call('POST', '/routes', { body: { protocols: ['http'], regex_priority: 'x' } });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe("2 schema violations (must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'; regex_priority: expected an integer)");
  });

  it("http routes refuse sources/destinations and the host header with Kong's messages", async () => {
    const r = await t.call('POST', '/routes', { body: { paths: ['/s'], sources: [{ ip: '10.0.0.1' }], headers: { Host: ['x'] } } });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({
      sources: "cannot set 'sources' when 'protocols' is 'http' or 'https'",
      headers: { Host: "cannot contain 'host' header, which must be specified in the 'hosts' attribute" },
    });
  });

  it('stream routes refuse http fields and need sources, destinations or snis', async () => {
    const r = await t.call('POST', '/routes', { body: { protocols: ['tcp'], paths: ['/x'] } });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({
      '@entity': ["must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"],
      paths: "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'",
    });
    const tp = await t.call('POST', '/routes', { body: { protocols: ['tls_passthrough'] } });
    expect(tp.body.fields).toEqual({ '@entity': ["must set snis when 'protocols' is 'tls_passthrough'"] });
  });
});

describe('GET / version', () => {
  /** go-kong's ParseSemanticVersion (what decK runs on `version`), its pattern and the semver it builds. */
  function goKongVersion(v: string): [number, number, number] | null {
    const m = /((?:\d+\.\d+\.\d+)|(?:\d+\.\d+))(?:[.-](\d+))?(?:-?(.+)$|$)/.exec(v);
    if (!m) return null;
    const core = m[1].split('.').map(Number);
    if (core.length === 2) core.push(m[2] ? Number(m[2]) : 0);
    return core as [number, number, number];
  }

  it("reports the Kong version decK parses (3.x), Silverback's own beside it", async () => {
    const r = await t.call('GET', '/');
    expect(r.status).toBe(200);
    expect(r.body.version).toBe(KONG_COMPAT_VERSION);
    expect(r.body.version).toMatch(/^3\.\d+\.\d+$/);
    const parsed = goKongVersion(r.body.version);
    expect(parsed?.[0]).toBe(3);
    expect(parsed?.[1]).toBeGreaterThanOrEqual(4);
    expect(typeof r.body.silverback_version).toBe('string');
    expect(r.body.silverback_version).not.toBe(r.body.version);
  });
});

describe('pagination order', () => {
  it('pages are ordered by id (Kong on PostgreSQL), offsets are unpadded base64 of [id]', async () => {
    const tag = gensym('order');
    for (let i = 0; i < 7; i++) expect((await t.call('POST', '/upstreams', { body: { name: `${tag}-${i}.test`, tags: [tag] } })).status).toBe(201);
    const ids: string[] = [];
    let path: string | null = `/upstreams?size=3&tags=${tag}`;
    while (path) {
      const r = await t.call('GET', path);
      expect(r.status).toBe(200);
      ids.push(...r.body.data.map((u: any) => u.id));
      if (r.body.offset) {
        expect(r.body.offset).not.toMatch(/=/);
        expect(JSON.parse(Buffer.from(r.body.offset, 'base64').toString())).toEqual([ids[ids.length - 1]]);
      }
      path = r.body.next;
    }
    expect(ids).toHaveLength(7);
    expect(ids).toEqual([...ids].sort());
  });
});
