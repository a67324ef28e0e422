import { createHash } from 'node:crypto';
import { verifyPassword } from '../../shared/password.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import YAML from 'yaml';
import {
  exportDeclarative,
  loadDeclarativeFile,
  parseDeclarative,
  validateDeclarativeFile,
} from '../../data-plane/declarative/index.js';
import { uuidV5 } from '../../data-plane/declarative/ids.js';
import { KongError } from '../../shared/errors.js';
import type { Snapshot } from '../../shared/snapshot.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-declarative-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const byName = (rows: any[], name: string, key = 'name') => rows.find((r) => r[key] === name);

const NESTED = `
_format_version: "3.0"
_comment: a comment
_workspace: default
services:
- name: svc1
  url: http://upstream.local:8080/api
  tags: [team-a]
  routes:
  - name: r1
    paths: [/a]
    plugins:
    - name: request-termination
      config: { status_code: 418 }
  plugins:
  - name: cors
consumers:
- username: bob
  custom_id: b-1
  keyauth_credentials:
  - key: bob-key
  basicauth_credentials:
  - username: bob
    password: secret
  acls:
  - group: admins
  jwt_secrets:
  - key: bob-iss
    secret: s3cr3t
  plugins:
  - name: request-termination
upstreams:
- name: up1
  targets:
  - target: 10.0.0.1
  - target: 10.0.0.2:9000
    weight: 50
plugins:
- name: correlation-id
`;

const FLAT = `
_format_version: "3.0"
services:
- name: svc1
  url: http://upstream.local:8080/api
  tags: [team-a]
routes:
- name: r1
  service: svc1
  paths: [/a]
consumers:
- username: bob
  custom_id: b-1
keyauth_credentials:
- key: bob-key
  consumer: bob
basicauth_credentials:
- username: bob
  password: secret
  consumer: bob
acls:
- group: admins
  consumer: bob
jwt_secrets:
- key: bob-iss
  secret: s3cr3t
  consumer: bob
upstreams:
- name: up1
targets:
- target: 10.0.0.1
  upstream: up1
- target: 10.0.0.2:9000
  weight: 50
  upstream: up1
plugins:
- name: correlation-id
- name: request-termination
  consumer: bob
- name: cors
  service: svc1
- name: request-termination
  route: r1
  config: { status_code: 418 }
`;

function errorOf(fn: () => unknown): KongError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KongError);
    return e as KongError;
  }
  throw new Error('expected an invalid declarative configuration');
}

/** Rows compared without order (snapshots list entities in file order). */
function sorted(s: Snapshot) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = Array.isArray(v) ? [...v].sort((a, b) => (a.id < b.id ? -1 : 1)) : v;
  return out;
}

describe('parseDeclarative: normalized snapshot', () => {
  it('nested entities get every default and their implied foreign key, exactly as the Admin API returns them', () => {
    const s = parseDeclarative(NESTED);
    expect(s.version).toBe(0);
    expect(s.hash).toMatch(/^[0-9a-f]{32}$/);
    const svc = s.services[0];
    expect(svc).toEqual({
      id: svc.id, created_at: 0, updated_at: 0, name: 'svc1', retries: 5, protocol: 'http', host: 'upstream.local',
      port: 8080, path: '/api', connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, tags: ['team-a'],
      client_certificate: null, tls_verify: null, tls_verify_depth: null, ca_certificates: null, enabled: true,
    });
    expect(s.routes[0]).toMatchObject({
      name: 'r1', paths: ['/a'], protocols: ['http', 'https'], strip_path: true, preserve_host: false, regex_priority: 0,
      https_redirect_status_code: 426, path_handling: 'v0', request_buffering: true, response_buffering: true,
      methods: null, hosts: null, headers: null, snis: null, sources: null, destinations: null, tags: null,
      service: { id: svc.id },
    });
    const route = s.routes[0];
    const bob = byName(s.consumers, 'bob', 'username');
    expect(bob).toEqual({ id: bob.id, created_at: 0, updated_at: 0, username: 'bob', custom_id: 'b-1', tags: null });
    const routePlugin = s.plugins.find((p) => p.route?.id === route.id)!;
    expect(routePlugin).toMatchObject({
      name: 'request-termination', service: null, consumer: null, enabled: true, instance_name: null,
      protocols: ['grpc', 'grpcs', 'http', 'https'], config: { status_code: 418, echo: false, message: null, body: null },
    });
    expect(s.plugins.find((p) => p.name === 'cors')).toMatchObject({ service: { id: svc.id }, route: null, consumer: null });
    expect(s.plugins.find((p) => p.consumer?.id === bob.id)).toMatchObject({ name: 'request-termination', config: { status_code: 503 } });
    expect(s.plugins.find((p) => p.name === 'correlation-id')).toMatchObject({ service: null, route: null, consumer: null });
    expect(s.keyauth_credentials).toEqual([{ id: s.keyauth_credentials[0].id, created_at: 0, consumer: { id: bob.id }, key: 'bob-key', tags: null, expires_at: null }]);
    expect(s.acls[0]).toMatchObject({ group: 'admins', consumer: { id: bob.id } });
    expect(s.jwt_secrets[0]).toMatchObject({ key: 'bob-iss', secret: 's3cr3t', algorithm: 'HS256', rsa_public_key: null, consumer: { id: bob.id } });
    const up = s.upstreams[0];
    expect(up).toMatchObject({ name: 'up1', algorithm: 'round-robin', slots: 10000, hash_on: 'none', hash_on_cookie_path: '/' });
    expect(up.healthchecks.active.healthy.http_statuses).toEqual([200, 302]);
    expect(s.targets.map((t) => [t.target, t.weight, t.upstream.id])).toEqual([
      ['10.0.0.1:8000', 100, up.id],
      ['10.0.0.2:9000', 50, up.id],
    ]);
  });

  it('nested and flat forms (references by name) compile to the same snapshot', () => {
    const a = parseDeclarative(NESTED);
    const b = parseDeclarative(FLAT);
    expect(sorted(b)).toEqual(sorted(a));
    expect(b.hash).toBe(a.hash);
  });

  it('references by id, by {id} and by {name} are accepted too', () => {
    const s = parseDeclarative(`
_format_version: "3.0"
services:
- id: 6a0b3b5e-1f37-4c5c-9d3f-0d6a1b2c3d4e
  name: svc1
  host: example.com
routes:
- paths: [/x]
  service: 6a0b3b5e-1f37-4c5c-9d3f-0d6a1b2c3d4e
- paths: [/y]
  service: { id: 6a0b3b5e-1f37-4c5c-9d3f-0d6a1b2c3d4e }
- paths: [/z]
  service: { name: svc1 }
`);
    expect(s.routes.map((r) => r.service)).toEqual(Array(3).fill({ id: '6a0b3b5e-1f37-4c5c-9d3f-0d6a1b2c3d4e' }));
    expect(s.services[0].id).toBe('6a0b3b5e-1f37-4c5c-9d3f-0d6a1b2c3d4e');
  });

  it('ids and the hash are deterministic: reloading the same file (YAML or its JSON form) gives the same snapshot', () => {
    const a = parseDeclarative(NESTED);
    const b = parseDeclarative(NESTED);
    expect(b).toEqual(a);
    const json = JSON.stringify(YAML.parse(NESTED));
    expect(parseDeclarative(json)).toEqual(a);
    // named entities get Kong's uuid v5 ids, independent of their position in the file
    const moved = parseDeclarative(`
_format_version: "3.0"
services:
- name: other
  host: other.local
- name: svc1
  url: http://upstream.local:8080/api
`);
    expect(byName(moved.services, 'svc1').id).toBe(a.services[0].id);
    expect(a.services[0].id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('generated credential keys are stable across reloads, and differ between credentials', () => {
    const file = `
_format_version: "3.0"
consumers:
- username: alice
  keyauth_credentials: [{}, {}]
  jwt_secrets: [{}]
`;
    const a = parseDeclarative(file);
    const b = parseDeclarative(file);
    expect(a.keyauth_credentials.map((k) => k.key)).toEqual(b.keyauth_credentials.map((k) => k.key));
    expect(a.keyauth_credentials[0].key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.keyauth_credentials[0].key).not.toBe(a.keyauth_credentials[1].key);
    expect(a.keyauth_credentials[0].id).not.toBe(a.keyauth_credentials[1].id);
    expect(a.jwt_secrets[0].key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.jwt_secrets[0].secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.hash).toBe(b.hash);
  });

  it('timestamps default to 0 and can be fixed by the caller; ones in the file are kept', () => {
    const s = parseDeclarative(`
_format_version: "3.0"
services:
- { name: a, host: a.local }
- { name: b, host: b.local, created_at: 1700000000, updated_at: 1700000100 }
upstreams:
- name: up
  targets: [{ target: "t.local:80" }]
`, { timestamp: 1_750_000_000 });
    expect(byName(s.services, 'a')).toMatchObject({ created_at: 1_750_000_000, updated_at: 1_750_000_000 });
    expect(byName(s.services, 'b')).toMatchObject({ created_at: 1_700_000_000, updated_at: 1_700_000_100 });
    expect(s.targets[0]).toMatchObject({ created_at: 1_750_000_000, updated_at: 1_750_000_000 });
    expect(parseDeclarative('_format_version: "3.0"\nservices: [{ name: a, host: a.local }]').services[0].created_at).toBe(0);
  });

  it('an empty configuration is valid and has the empty hash; empty collections are fine', () => {
    const s = parseDeclarative('_format_version: "3.0"\n');
    expect(s.hash).toBe('00000000000000000000000000000000');
    expect(s.services).toEqual([]);
    const e = parseDeclarative('_format_version: "3.0"\nservices:\n- name: s\n  host: s.local\n  routes:\nconsumers:\n');
    expect(e.services).toHaveLength(1);
    expect(e.routes).toEqual([]);
  });
});

describe('deterministic ids', () => {
  it('uuid v5 matches the RFC 4122 test vector', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('format versions', () => {
  const file = (v: string) => `
_format_version: "${v}"
services:
- name: svc
  host: example.com
  routes:
  - name: plain
    paths: [/users, "/a/./b/../c"]
  - name: regex
    paths: ["/users/\\\\d+", "/v[0-9]+/items$", "~/already"]
routes:
- name: top
  paths: ["/x/(?<id>[a-z]+)"]
  hosts: [h.local]
`;

  it('3.0 takes paths as written: no regex detection, no normalization', () => {
    const err = errorOf(() => parseDeclarative(file('3.0')));
    expect(err.body.fields).toEqual({ services: [{ routes: [{ paths: [null, "non-normalized path, consider use '/a/c' instead"] }] }] });
    const s = parseDeclarative('_format_version: "3.0"\nroutes: [{ name: r, paths: ["/v[0-9]+/items$", "~/users/\\\\d+"] }]');
    expect(s.routes[0].paths).toEqual(['/v[0-9]+/items$', '~/users/\\d+']);
  });

  for (const v of ['1.1', '2.1']) {
    it(`${v}: regex paths get "~", prefix paths are normalized (Kong's migration)`, () => {
      const s = parseDeclarative(file(v));
      expect(byName(s.routes, 'plain').paths).toEqual(['/users', '/a/c']);
      expect(byName(s.routes, 'regex').paths).toEqual(['~/users/\\d+', '~/v[0-9]+/items$', '~/already']);
      expect(byName(s.routes, 'top').paths).toEqual(['~/x/(?<id>[a-z]+)']);
    });
  }

  it('1.1 and 2.1 regex paths are percent-decoded once (reserved escapes upper-cased, regex metacharacters escaped)', () => {
    const s = parseDeclarative(`
_format_version: "2.1"
routes:
- name: r
  paths: ["/a%2fb%7e(x)", "/plain%41"]
`);
    expect(s.routes[0].paths).toEqual(['~/a%2Fb~(x)', '/plainA']);
  });

  it('_format_version is required and must be a known version', () => {
    expect(errorOf(() => parseDeclarative('services: []')).body).toMatchObject({
      code: 14,
      name: 'invalid declarative configuration',
      fields: { _format_version: 'required field missing' },
    });
    expect(errorOf(() => parseDeclarative('_format_version: "4.0"')).body.fields).toEqual({
      _format_version: 'expected one of: 1.1, 2.1, 3.0',
    });
    expect(errorOf(() => parseDeclarative('_format_version: 3.0')).body.fields).toEqual({ _format_version: 'expected a string' });
  });
});

describe('basic-auth passwords and _transform', () => {
  const file = (transform?: boolean) => `
_format_version: "3.0"
${transform === undefined ? '' : `_transform: ${transform}`}
consumers:
- username: bob
  basicauth_credentials:
  - username: bob
    password: open-sesame
`;

  it('_transform defaults to true: passwords are stored as scrypt hashes, the same on every load', async () => {
    const s = parseDeclarative(file());
    const cid = s.consumers[0].id;
    const stored = s.basicauth_credentials[0].password;
    expect(stored).toMatch(/^\$scrypt\$/);
    expect(await verifyPassword('open-sesame', stored, cid)).toBe(true);
    expect(await verifyPassword('open-sesamE', stored, cid)).toBe(false);
    expect(parseDeclarative(file(true)).basicauth_credentials[0].password).toBe(stored);
    expect(parseDeclarative(file(true)).hash).toBe(s.hash);
    // Kong's sha1(password .. consumer id) is taken as already hashed
    const sha1 = createHash('sha1').update(`open-sesame${cid}`).digest('hex');
    expect(parseDeclarative(file().replace('open-sesame', sha1)).basicauth_credentials[0].password).toBe(sha1);
  });

  it('_transform: false takes passwords as already hashed', () => {
    expect(parseDeclarative(file(false)).basicauth_credentials[0].password).toBe('open-sesame');
  });
});

describe('invalid files: code 14 with every problem, by path, in one go', () => {
  it('reports schema errors of nested entities in Kong\'s fields tree (null for valid siblings) and a message per problem', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
services:
- name: ok
  host: ok.local
  routes:
  - paths: [/fine]
  - paths: [nope, /good, bad]
- name: broken
  protocol: ftp
  port: 99999
consumers:
- custom_id: c1
- tags: [x]
`),
    );
    expect(err.status).toBe(400);
    expect(err.body.code).toBe(14);
    expect(err.body.name).toBe('invalid declarative configuration');
    expect(err.body.fields).toEqual({
      services: [
        {
          routes: [
            null,
            {
              paths: [
                'should start with: / (fixed path) or ~/ (regex path)',
                null,
                'should start with: / (fixed path) or ~/ (regex path)',
              ],
            },
          ],
        },
        {
          host: 'required field missing',
          port: 'value should be between 0 and 65535',
          protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp',
        },
      ],
      consumers: [null, { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] }],
    });
    expect(err.body.message).toBe(
      'declarative config is invalid: ' +
        [
          'services[1].routes[2].paths[1]: should start with: / (fixed path) or ~/ (regex path)',
          'services[1].routes[2].paths[3]: should start with: / (fixed path) or ~/ (regex path)',
          'services[2].host: required field missing',
          'services[2].port: value should be between 0 and 65535',
          'services[2].protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp',
          "consumers[2]: at least one of these fields must be non-empty: 'custom_id', 'username'",
        ].join('; '),
    );
  });

  it('unknown fields, wrong collection types, non-record entries and unknown top-level keys', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
_transform: "yes"
service: []
consumers: {username: bob}
upstreams:
- 42
- name: up
  colour: blue
  targets: nope
`),
    );
    expect(err.body.fields).toEqual({
      _transform: 'expected a boolean',
      service: 'unknown field',
      consumers: 'expected an array',
      upstreams: ['expected a record', { colour: 'unknown field', targets: 'expected an array' }],
    });
    expect(err.body.message).toContain('upstreams[1]: expected a record');
    expect(err.body.message).toContain('upstreams[2].colour: unknown field');
    expect(err.body.message).toContain('upstreams[2].targets: expected an array');
  });

  it('unknown plugin, bad plugin config and a plugin on a scope it does not allow', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
consumers:
- username: bob
  plugins:
  - name: cors
plugins:
- name: no-such-plugin
- name: request-termination
  config: { status_code: 42, colour: red }
`),
    );
    expect(err.body.fields).toEqual({
      consumers: [{ plugins: [{ consumer: 'value must be null' }] }],
      plugins: [
        expect.objectContaining({ name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" }),
        { config: { status_code: 'value should be between 100 and 599', colour: 'unknown field' } },
      ],
    });
    expect(err.body.message).toContain("plugins[1].name: plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property");
    expect(err.body.message).toContain('plugins[2].config.colour: unknown field');
    expect(err.body.message).toContain('plugins[2].config.status_code: value should be between 100 and 599');
  });

  it('references that do not exist in the file', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
routes:
- name: r
  paths: [/]
  service: ghost
plugins:
- name: correlation-id
  consumer: nobody
keyauth_credentials:
- key: k
  consumer: { id: 0e2f4c8a-3b1d-4e5f-8a9b-1c2d3e4f5a6b }
`),
    );
    expect(err.body.fields).toEqual({
      routes: [{ service: "invalid reference 'service: ghost' (no such entry in 'services')" }],
      plugins: [{ consumer: "invalid reference 'consumer: nobody' (no such entry in 'consumers')" }],
      keyauth_credentials: [
        { consumer: 'invalid reference \'consumer: {"id":"0e2f4c8a-3b1d-4e5f-8a9b-1c2d3e4f5a6b"}\' (no such entry in \'consumers\')' },
      ],
    });
  });

  it('duplicate names, usernames, keys, custom_ids, ids and plugins per scope', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
services:
- name: svc
  host: a.local
  plugins:
  - name: cors
  - name: cors
- name: svc
  host: b.local
- id: 8d3c4b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a
  host: c.local
- id: 8d3c4b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a
  host: d.local
consumers:
- username: bob
  custom_id: same
- username: bob
- username: carol
  custom_id: same
keyauth_credentials:
- { key: k1, consumer: carol }
- { key: k1, consumer: carol }
`),
    );
    const f = err.body.fields as any;
    expect(f.services[1]).toBe("uniqueness violation: 'services' entity with name set to 'svc' already declared");
    expect(f.services[3]).toBe(
      "uniqueness violation: 'services' entity with primary key set to '8d3c4b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a' already declared",
    );
    expect(f.services[0].plugins[1]).toMatch(
      /^uniqueness violation: 'plugins' entity with \(name, route, service, consumer\) set to '\{consumer=null,name="cors",route=null,service=\{id="[0-9a-f-]{36}"\}\}' already declared$/,
    );
    expect(f.consumers[0]).toBeNull();
    expect(f.consumers[1]).toBe("uniqueness violation: 'consumers' entity with username set to 'bob' already declared");
    expect(f.consumers[2]).toBe("uniqueness violation: 'consumers' entity with custom_id set to 'same' already declared");
    expect(f.keyauth_credentials[1]).toBe("uniqueness violation: 'keyauth_credentials' entity with key set to 'k1' already declared");
    expect(f.services[2]).toBeNull();
    expect(err.body.message).toContain("services[2]: uniqueness violation: 'services' entity with name set to 'svc' already declared");
    expect(err.body.message).toContain("keyauth_credentials[2]: uniqueness violation: 'keyauth_credentials' entity with key set to 'k1' already declared");
  });

  it('every kind of problem in one file is reported together, in file order', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "9.9"
services:
- name: svc
  host: "bad host"
  routes:
  - name: r
    paths: [/ok]
    methods: [get]
- name: svc
  host: b.local
routes:
- name: orphan
  service: missing
  paths: [/o]
plugins:
- name: nope
consumers:
- {}
`),
    );
    expect(err.body.message).toBe('declarative config is invalid: ' + [
      '_format_version: expected one of: 1.1, 2.1, 3.0',
      'services[1].host: invalid hostname: bad host',
      'services[1].routes[1].methods[1]: invalid value: get',
      "services[2]: uniqueness violation: 'services' entity with name set to 'svc' already declared",
      "routes[1].service: invalid reference 'service: missing' (no such entry in 'services')",
      "plugins[1].name: plugin 'nope' not enabled; add it to the 'plugins' configuration property",
      "consumers[1]: at least one of these fields must be non-empty: 'custom_id', 'username'",
    ].join('; '));
  });

  it('YAML syntax errors and non-object documents', () => {
    const e1 = errorOf(() => parseDeclarative('_format_version: "3.0"\nservices: [\n', { filename: 'kong.yml' }));
    expect(e1.body.code).toBe(14);
    expect(e1.body.message).toMatch(/^failed parsing declarative configuration: kong\.yml: /);
    expect(errorOf(() => parseDeclarative('- a\n- b\n')).body.message).toBe('failed parsing declarative configuration: expected an object');
    expect(errorOf(() => parseDeclarative('')).body.message).toBe('failed parsing declarative configuration: expected an object');
  });
});

describe('export round trip', () => {
  it('exports 3.0 YAML nested by parent, and parsing the export gives the same snapshot and hash', () => {
    const s = parseDeclarative(NESTED);
    const text = exportDeclarative(s);
    const doc = YAML.parse(text);
    expect(doc._format_version).toBe('3.0');
    expect(doc.services[0].routes[0].name).toBe('r1');
    expect(doc.services[0].routes[0].plugins[0].name).toBe('request-termination');
    expect(doc.services[0].routes[0].service).toBeUndefined();
    expect(doc.services[0].plugins[0].name).toBe('cors');
    expect(doc.consumers[0].keyauth_credentials[0].key).toBe('bob-key');
    expect(doc.upstreams[0].targets).toHaveLength(2);
    expect(doc.plugins.map((p: any) => p.name)).toEqual(['correlation-id']);
    const back = parseDeclarative(text);
    expect(back).toEqual(s);
    expect(back.hash).toBe(s.hash);
  });

  it('entities in several scopes, serviceless routes and hashed passwords survive the round trip', () => {
    // a key's ttl becomes expires_at when read: both reads happen at one frozen moment
    vi.useFakeTimers({ toFake: ['Date'], now: 1_790_000_000_000 });
    onTestFinished(() => vi.useRealTimers());
    const s = parseDeclarative(`
_format_version: "3.0"
services: [{ name: svc, host: svc.local }]
routes:
- { name: lonely, hosts: [l.local] }
- { name: r, service: svc, paths: [/r] }
consumers:
- username: bob
  basicauth_credentials: [{ username: bob, password: pw }]
  keyauth_credentials: [{ key: temp, ttl: 3600 }]
- username: "yes"
  custom_id: "0777"
  tags: ["on", "null", "1.1"]
plugins:
- { name: request-termination, route: r, consumer: bob }
- { name: request-termination, route: lonely }
`);
    const back = parseDeclarative(exportDeclarative(s));
    expect(sorted(back)).toEqual(sorted(s));
    expect(back.hash).toBe(s.hash);
    expect(back.consumers[1]).toMatchObject({ username: 'yes', custom_id: '0777', tags: ['on', 'null', '1.1'] });
  });

  it('reads YAML the way Kong does (1.1): yes/no/on/off booleans and << merge keys', () => {
    const s = parseDeclarative(`
_format_version: "3.0"
_ignore:
- &defaults { host: shared.local, retries: 3 }
services:
- <<: *defaults
  name: a
  routes:
  - { name: r, paths: [/r], strip_path: no, preserve_host: on }
`);
    expect(s.services[0]).toMatchObject({ name: 'a', host: 'shared.local', retries: 3 });
    expect(s.routes[0]).toMatchObject({ strip_path: false, preserve_host: true });
    const dated = parseDeclarative('_format_version: "3.0"\nconsumers: [{ username: bob, tags: [2024-01-01] }]');
    expect(dated.consumers[0].tags).toEqual(['2024-01-01']);
  });
});

describe('certificates and SNIs', () => {
  function selfSigned(cn: string): { cert: string; key: string } {
    const key = join(dir, `${cn}.key`);
    const cert = join(dir, `${cn}.crt`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  }

  it('nested snis (records or plain names) become snis rows pointing at their certificate', () => {
    const c = selfSigned('example.test');
    const doc = {
      _format_version: '3.0',
      certificates: [{ cert: c.cert, key: c.key, snis: [{ name: 'example.test' }, '*.example.test'] }],
    };
    const s = parseDeclarative(JSON.stringify(doc));
    expect(s.certificates).toHaveLength(1);
    expect(s.certificates[0]).toEqual({ id: s.certificates[0].id, created_at: 0, updated_at: 0, cert: c.cert, key: c.key, cert_alt: null, key_alt: null, tags: null });
    expect(s.snis.map((x) => [x.name, x.certificate.id])).toEqual([
      ['example.test', s.certificates[0].id],
      ['*.example.test', s.certificates[0].id],
    ]);
    expect(parseDeclarative(exportDeclarative(s))).toEqual(s);
    // any entity with a foreign key to certificates nests under it, e.g. a service's client certificate
    const withService = parseDeclarative(JSON.stringify({
      _format_version: '3.0',
      certificates: [{ id: '5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f', cert: c.cert, key: c.key, services: [{ name: 'mtls', url: 'https://backend.local' }] }],
    }));
    expect(withService.services[0]).toMatchObject({ name: 'mtls', protocol: 'https', port: 443, client_certificate: { id: '5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f' } });
    const dup = errorOf(() => parseDeclarative(JSON.stringify({ ...doc, snis: [{ name: 'example.test', certificate: s.certificates[0].id }] })));
    expect((dup.body.fields as any).snis[0]).toBe("uniqueness violation: 'snis' entity with name set to 'example.test' already declared");
  });
});

describe('files on disk', () => {
  it('loadDeclarativeFile reads YAML and JSON; validateDeclarativeFile returns counts or the error', async () => {
    const y = join(dir, 'kong.yml');
    const j = join(dir, 'kong.json');
    writeFileSync(y, NESTED);
    writeFileSync(j, JSON.stringify(YAML.parse(NESTED)));
    const a = await loadDeclarativeFile(y);
    expect(await loadDeclarativeFile(j)).toEqual(a);
    const v = await validateDeclarativeFile(y);
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.counts).toMatchObject({ services: 1, routes: 1, consumers: 1, plugins: 4, targets: 2, keyauth_credentials: 1, acls: 1 });
    }
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, '_format_version: "3.0"\nservices: [{ host: "" }]\n');
    const r = await validateDeclarativeFile(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.body.fields).toEqual({ services: [{ host: 'length must be at least 1' }] });
    const missing = await validateDeclarativeFile(join(dir, 'nope.yml'));
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.body.message).toBe(`failed reading declarative configuration file '${join(dir, 'nope.yml')}': ENOENT`);
  });
});
