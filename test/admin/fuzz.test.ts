// Random and malformed requests across the Admin API: whatever arrives, the answer is a 2xx or a
// 4xx with a Kong error body, never a 5xx, a crash or a hang.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBody, useAdmin } from './admin-helpers.js';

const t = useAdmin('fuzz');
const ids: Record<string, string> = {};

beforeAll(async () => {
  ids.service = (await t.call('POST', '/services', { body: { name: 'fz-svc', host: 'fz.test' } })).body.id;
  ids.route = (await t.call('POST', `/services/${ids.service}/routes`, { body: { name: 'fz-route', paths: ['/fz'] } })).body.id;
  ids.consumer = (await t.call('POST', '/consumers', { body: { username: 'fz-user' } })).body.id;
  ids.plugin = (await t.call('POST', `/services/${ids.service}/plugins`, { body: { name: 'aws-lambda', config: { function_name: 'f' } } })).body.id;
  ids.upstream = (await t.call('POST', '/upstreams', { body: { name: 'fz-up' } })).body.id;
});

const FIELDS = [
  'name', 'host', 'port', 'path', 'url', 'protocol', 'protocols', 'paths', 'methods', 'hosts', 'headers', 'tags', 'service', 'route', 'consumer',
  'username', 'custom_id', 'config', 'enabled', 'retries', 'target', 'weight', 'key', 'secret', 'algorithm', 'rsa_public_key', 'group',
  'password', 'snis', 'cert', 'regex_priority', 'strip_path', 'created_at', 'id', 'instance_name', 'ttl', 'sources', 'destinations',
];
const CONFIG_FIELDS = ['timeout', 'function_name', 'aws_key', 'aws_secret', 'claims_to_verify', 'maximum_expiration', 'origins', 'status_code', 'proxy_url', 'port', 'unknown'];

const segment = fc.oneof(
  fc.constantFrom('fz-svc', 'fz-route', 'fz-user', 'fz-up', 'x', '00000000-0000-0000-0000-000000000000', '%zz', '..', '%00', 'a%2Fb'),
  fc.uuid(),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const known = () => fc.constantFrom(ids.service, ids.route, ids.consumer, ids.plugin, ids.upstream);

const path = fc.oneof(
  fc.constantFrom('/', '/status', '/endpoints', '/plugins/enabled', '/config', '/tags', '/schemas/services', '/schemas/plugins/jwt', '/schemas/plugins/validate', '/schemas/routes/validate', '/targets'),
  fc.tuple(fc.constantFrom('services', 'routes', 'consumers', 'plugins', 'upstreams', 'certificates', 'snis', 'ca_certificates', 'jwts', 'key-auths', 'basic-auths', 'acls', 'tags', 'nope'), fc.option(fc.oneof(segment, known()), { nil: undefined }), fc.option(fc.constantFrom('routes', 'plugins', 'service', 'route', 'consumer', 'jwt', 'key-auth', 'basic-auth', 'acls', 'targets', 'targets/all', 'snis', 'client_certificate', 'validate', 'x'), { nil: undefined }), fc.option(fc.oneof(segment, known()), { nil: undefined })).map(
    ([a, b, c, d]) => ['', a, b, b !== undefined ? c : undefined, b !== undefined && c !== undefined ? d : undefined].filter((x) => x !== undefined).join('/'),
  ),
);

const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.constantFrom('size', 'offset', 'tags', 'custom_id', 'unit', 'scale', 'x'), fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constantFrom('', '0', '1000', '1001', 'a,b', 'a/b', 'a,b/c', 'WyJ4Il0=', 'bm90IGpzb24='))).map((d) => `?${new URLSearchParams(d)}`),
  fc.string({ maxLength: 30 }).map((s) => `?${s}`),
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', 'http://x.test:99/p', '/a', '~/re(', 'GET', 'jwt', 'aws-lambda', 'cors', 'true', 'false', '1e400', '-1', 'a\u0000b', '\ud800', 9007199254740993, 1e300, -0.5),
  fc.record({ id: fc.oneof(fc.uuid(), fc.string({ maxLength: 5 })) }),
  fc.record({ name: fc.string({ maxLength: 8 }) }),
  fc.dictionary(fc.constantFrom(...CONFIG_FIELDS), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
);
const entityBody = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 });

const formKey = fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom('', '[]', '[1]', '[0]', '.x', '.timeout', '[a]', '[', ']', '..', '[1].x', '.__proto__')).map(([a, b]) => a + b);
const formBody = fc.array(fc.tuple(formKey, fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'true', '5', '/x', 'jwt'))), { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

type Req = { method: string; path: string; contentType?: string; raw?: string | Buffer };
const request: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  path: fc.tuple(path, query).map(([p, q]) => p + q),
  encoding: fc.constantFrom('json', 'form', 'multipart', 'raw-json', 'raw-form', 'garbage', 'none'),
  body: entityBody,
  form: formBody,
  junk: fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))),
  contentType: fc.constantFrom('text/plain', 'application/json', 'multipart/form-data', 'multipart/form-data; boundary=zz', 'application/x-www-form-urlencoded', 'application/octet-stream', ''),
}).map((r) => {
  switch (r.encoding) {
    case 'json':
    case 'form':
    case 'multipart': {
      const ct = r.encoding === 'json' ? 'application/json' : r.encoding === 'form' ? 'application/x-www-form-urlencoded' : 'multipart/form-data';
      const enc = encodeBody(ct, r.body);
      return { method: r.method, path: r.path, contentType: enc.contentType, raw: enc.body };
    }
    case 'raw-form':
      return { method: r.method, path: r.path, contentType: 'application/x-www-form-urlencoded', raw: r.form };
    case 'raw-json':
      return { method: r.method, path: r.path, contentType: 'application/json', raw: typeof r.junk === 'string' ? r.junk : JSON.stringify(r.body).slice(0, -1) };
    case 'garbage':
      return { method: r.method, path: r.path, contentType: r.contentType || undefined, raw: r.junk };
    default:
      return { method: r.method, path: r.path };
  }
});

// Mostly-valid writes with random details, so inserts, upserts and updates are exercised too.
const name = fc.stringMatching(/^[a-z0-9._~-]{1,16}$/);
const plausibleBody: fc.Arbitrary<[string, string, Record<string, unknown>]> = fc.oneof(
  fc.record({ name, host: fc.constantFrom('a.test', 'b.test', '10.0.0.1', 'bad host'), port: fc.integer({ min: -5, max: 70000 }), tags: fc.array(name, { maxLength: 3 }) }).map((b) => ['POST', '/services', b]),
  fc.record({ username: name, custom_id: fc.option(name, { nil: undefined }) }).map((b) => ['POST', '/consumers', b]),
  fc.tuple(name, fc.record({ custom_id: name })).map(([n, b]) => ['PUT', `/consumers/${n}`, b]),
  fc.record({ paths: fc.array(name.map((x) => `/${x}`), { minLength: 1, maxLength: 3 }), methods: fc.option(fc.constantFrom(['GET'], ['get'], ['POST', 'PUT']), { nil: undefined }) }).map((b) => ['POST', '/services/fz-svc/routes', b]),
  fc.record({ name: fc.constantFrom('jwt', 'cors', 'aws-lambda', 'request-termination', 'correlation-id'), config: fc.dictionary(fc.constantFrom(...CONFIG_FIELDS), fc.oneof(fc.integer(), fc.boolean(), name, fc.array(name, { maxLength: 2 })), { maxKeys: 3 }) }).map((b) => ['POST', '/routes/fz-route/plugins', b]),
  fc.dictionary(fc.constantFrom('timeout', 'function_name', 'forward_request_body', 'port'), fc.oneof(fc.integer(), fc.boolean(), name), { maxKeys: 3 }).map((config) => ['PATCH', `/plugins/${ids.plugin}`, { config }]),
  fc.record({ target: fc.constantFrom('10.0.0.2', 'x.test:81', '[::1]:90', 'bad target'), weight: fc.integer({ min: -1, max: 70000 }) }).map((b) => ['POST', '/upstreams/fz-up/targets', b]),
);
const plausible: fc.Arbitrary<Req> = fc.tuple(plausibleBody, fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'multipart/form-data') as fc.Arbitrary<'application/json'>).map(([[method, p, body], ct]) => {
  const enc = encodeBody(ct, body);
  return { method, path: p, contentType: enc.contentType, raw: enc.body };
});

function isKongErrorBody(body: any): boolean {
  if (typeof body !== 'object' || body === null || typeof body.message !== 'string') return false;
  if ('code' in body) return typeof body.code === 'number' && typeof body.name === 'string';
  return true;
}

describe('fuzz', () => {
  it('never answers 5xx, always a Kong error body on 4xx', async () => {
    const started = Date.now();
    let runs = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(request, plausible), async (req) => {
        runs++;
        const r = await t.call(req.method, req.path, { raw: req.raw, contentType: req.contentType });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status >= 500) throw new Error(`${req.method} ${req.path} → ${r.status} ${r.text}`);
        if (r.status >= 400) {
          if (!isKongErrorBody(r.body)) throw new Error(`${req.method} ${req.path} → ${r.status} with body ${r.text}`);
        } else if (r.status !== 204) {
          expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
        }
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 30_000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 100000) },
    );
    expect(runs).toBeGreaterThan(500);
    if (process.env.FUZZ_VERBOSE) console.log(JSON.stringify([...statuses].sort()));
    // the generator reaches successes and every kind of refusal
    for (const status of [200, 201, 204, 400, 404, 405, 415]) expect(statuses.get(status) ?? 0, `status ${status}: ${JSON.stringify([...statuses])}`).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(45_000);
    // still healthy afterwards
    expect((await t.call('GET', '/status')).body.database.reachable).toBe(true);
  }, 60_000);
});
