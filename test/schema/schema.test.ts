import { describe, expect, it } from 'vitest';
import { entityByName } from '../../shared/schema/entities/index.js';
import { prepareInsert, prepareUpdate, present } from '../../shared/schema/entity.js';
import { decodeForm, parseFormKey } from '../../shared/schema/form.js';
import { KongError } from '../../shared/errors.js';

const services = entityByName.get('services')!;
const routes = entityByName.get('routes')!;
const consumers = entityByName.get('consumers')!;

function violation(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KongError);
    return (e as KongError).body;
  }
  throw new Error('expected a schema violation');
}

describe('entity schemas', () => {
  it('service from the url shorthand gets Kong defaults', () => {
    const input = decodeForm(services, [['name', 'lambda1'], ['url', 'http://localhost:8000']]);
    const row = present(services, prepareInsert(services, input, 1_700_000_000_123));
    expect(row).toMatchObject({
      name: 'lambda1', host: 'localhost', port: 8000, protocol: 'http', path: null, retries: 5,
      connect_timeout: 60000, read_timeout: 60000, write_timeout: 60000, tags: null, enabled: true,
      created_at: 1_700_000_000, updated_at: 1_700_000_000, client_certificate: null, tls_verify: null,
    });
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    expect('url' in row).toBe(false);
  });

  it('url with https scheme defaults to port 443; no scheme with 443 means https', () => {
    expect(prepareInsert(services, { url: 'https://example.com/x' })).toMatchObject({ protocol: 'https', port: 443, path: '/x' });
    expect(prepareInsert(services, { url: 'example.com:443' })).toMatchObject({ protocol: 'https', port: 443 });
  });

  it('invalid url reports host and path like Kong', () => {
    const body = violation(() => prepareInsert(services, { url: 'invalid url' }));
    expect(body.message).toBe('2 schema violations (host: required field missing; path: should start with: /)');
  });

  it('route from form with paths[1]', () => {
    const input = decodeForm(routes, [['paths[1]', '/lambda1'], ['service.id', '7a2f6a4e-9a0c-4a39-9d8e-0e5c4d3f2b1a']]);
    const row = present(routes, prepareInsert(routes, input));
    expect(row).toMatchObject({
      paths: ['/lambda1'], protocols: ['http', 'https'], strip_path: true, preserve_host: false, regex_priority: 0,
      https_redirect_status_code: 426, path_handling: 'v0', methods: null, hosts: null, headers: null, snis: null,
      sources: null, destinations: null, name: null, tags: null, service: { id: '7a2f6a4e-9a0c-4a39-9d8e-0e5c4d3f2b1a' },
    });
  });

  it('route without matching fields fails the entity check', () => {
    const body = violation(() => prepareInsert(routes, {}));
    expect(body.fields).toEqual({ '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] });
  });

  it('consumer needs username or custom_id', () => {
    const body = violation(() => prepareInsert(consumers, {}));
    expect(body).toEqual({
      code: 2, name: 'schema violation',
      message: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
      fields: { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] },
    });
  });

  it('unknown fields and bad enums', () => {
    const body = violation(() => prepareInsert(services, { host: 'x.com', foo: 1, protocol: 'ftp' }));
    expect(body.fields).toEqual({ foo: 'unknown field', protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp' });
  });

  it('PATCH merges and bumps updated_at', () => {
    const row = prepareInsert(services, { host: 'a.com' }, 1_000_000);
    const upd = prepareUpdate(services, row, { port: 81 }, 5_000_000);
    expect(upd).toMatchObject({ host: 'a.com', port: 81, created_at: 1000, updated_at: 5000, id: row.id });
  });

  it('form keys', () => {
    expect(parseFormKey('paths[1]')).toEqual(['paths', 1]);
    expect(parseFormKey('headers[x-version]')).toEqual(['headers', 'x-version']);
    expect(parseFormKey('config.redis.host')).toEqual(['config', 'redis', 'host']);
    expect(decodeForm(routes, [['headers.x-version', 'v1'], ['paths[]', '/a'], ['paths[]', '/b'], ['strip_path', 'false'], ['regex_priority', '5']]))
      .toEqual({ headers: { 'x-version': ['v1'] }, paths: ['/a', '/b'], strip_path: false, regex_priority: 5 });
    expect(decodeForm(routes, [['methods', 'GET'], ['methods', 'POST'], ['name', '']])).toEqual({ methods: ['GET', 'POST'], name: null });
  });
});

describe('form decoding safety', () => {
  it('ignores keys that would reach a prototype', () => {
    const out = decodeForm(entityByName.get('services')!, [['__proto__.polluted', '1'], ['a.constructor.prototype.x', '1'], ['host', 'x.com']]);
    expect(out).toEqual({ host: 'x.com' });
    expect(({} as any).polluted).toBeUndefined();
  });
});
