import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { exportDeclarative, flattenDeclarativeErrors, parseDeclarative } from '../../data-plane/declarative/index.js';
import { KongError } from '../../shared/errors.js';

function errorOf(fn: () => unknown): KongError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KongError);
    return e as KongError;
  }
  throw new Error('expected an invalid declarative configuration');
}

describe('flattenDeclarativeErrors (like ?flatten_errors=1)', () => {
  it('one entry per invalid entity with its type, name, id, tags, path and every error; top-level keys in their own entry', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
_colour: blue
services:
- name: matthew
  id: 3b0c9f52-5a1e-4c0e-9c1a-2f4b6d8e0a1c
  tags: [my-tag]
  protocol: tcp
  host: 127.0.0.1
  path: /path
  routes:
  - name: joshua
    protocols: [nope]
  plugins:
  - name: i-am-not-a-real-plugin
  - name: request-termination
    config: { status_code: 7 }
`),
    );
    const flat = flattenDeclarativeErrors(err);
    expect(flat).toHaveLength(5);
    expect(flat[0]).toEqual({
      entity_type: null, entity_id: null, entity_name: null, entity_tags: null, path: '', entity: null,
      errors: [{ type: 'field', field: '_colour', message: 'unknown field' }],
    });
    expect(flat[1]).toEqual({
      entity_type: 'service',
      entity_id: '3b0c9f52-5a1e-4c0e-9c1a-2f4b6d8e0a1c',
      entity_name: 'matthew',
      entity_tags: ['my-tag'],
      path: 'services[1]',
      entity: { name: 'matthew', id: '3b0c9f52-5a1e-4c0e-9c1a-2f4b6d8e0a1c', tags: ['my-tag'], protocol: 'tcp', host: '127.0.0.1', path: '/path' },
      errors: [
        { type: 'entity', message: "failed conditional validation given value of field 'protocol'" },
        { type: 'field', field: 'path', message: 'value must be null' },
      ],
    });
    expect(flat[2]).toMatchObject({
      entity_type: 'route',
      entity_name: 'joshua',
      path: 'services[1].routes[1]',
      errors: expect.arrayContaining([
        { type: 'field', field: 'protocols[1]', message: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp' },
      ]),
    });
    expect(flat[2].entity_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(flat[3]).toMatchObject({
      entity_type: 'plugin',
      entity_name: 'i-am-not-a-real-plugin',
      path: 'services[1].plugins[1]',
      errors: expect.arrayContaining([
        { type: 'field', field: 'name', message: "plugin 'i-am-not-a-real-plugin' not enabled; add it to the 'plugins' configuration property" },
      ]),
    });
    expect(flat[4]).toMatchObject({
      entity_type: 'plugin',
      path: 'services[1].plugins[2]',
      errors: [{ type: 'field', field: 'config.status_code', message: 'value should be between 100 and 599' }],
    });
  });

  it('uniqueness and reference problems are entity-level and field-level entries', () => {
    const err = errorOf(() =>
      parseDeclarative(`
_format_version: "3.0"
consumers: [{ username: bob }, { username: bob }]
acls: [{ group: g, consumer: alice }]
`),
    );
    expect(flattenDeclarativeErrors(err)).toEqual([
      expect.objectContaining({
        entity_type: 'consumer',
        path: 'consumers[2]',
        errors: [{ type: 'entity', message: "uniqueness violation: 'consumers' entity with username set to 'bob' already declared" }],
      }),
      expect.objectContaining({
        entity_type: 'acl',
        path: 'acls[1]',
        entity_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        errors: [{ type: 'field', field: 'consumer', message: "invalid reference 'consumer: alice' (no such entry in 'consumers')" }],
      }),
    ]);
  });

  it('works on a plain code 14 KongError too (from its fields tree)', () => {
    const err = new KongError(14, 'declarative config is invalid', { _format_version: 'required field missing' });
    expect(flattenDeclarativeErrors(err)).toEqual([
      expect.objectContaining({ entity_type: null, errors: [{ type: 'field', field: '_format_version', message: 'required field missing' }] }),
    ]);
  });
});

describe('scale', () => {
  it('a 10,000-route file parses, hashes and round-trips in reasonable time', () => {
    const services = [];
    for (let s = 0; s < 100; s++) {
      const routes = [];
      for (let r = 0; r < 100; r++) {
        routes.push({ name: `r-${s}-${r}`, paths: [`/s${s}/r${r}`], methods: ['GET', 'POST'], hosts: [`h${s}.example.com`] });
      }
      services.push({ name: `svc-${s}`, url: `http://backend-${s}.internal:8080/v1`, routes });
    }
    const text = YAML.stringify({ _format_version: '3.0', services });
    const t0 = performance.now();
    const snap = parseDeclarative(text);
    const parseMs = performance.now() - t0;
    expect(snap.routes).toHaveLength(10_000);
    expect(snap.services).toHaveLength(100);
    const t1 = performance.now();
    const again = parseDeclarative(exportDeclarative(snap));
    const roundTripMs = performance.now() - t1;
    expect(again.hash).toBe(snap.hash);
    // eslint-disable-next-line no-console
    console.log(`declarative: 10,000 routes parsed in ${parseMs.toFixed(0)} ms; export + re-parse in ${roundTripMs.toFixed(0)} ms`);
    expect(parseMs).toBeLessThan(10_000);
  });
});
