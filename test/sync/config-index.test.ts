// The incremental config (cached row JSON, delta ops, disabled-service filtering) agrees with
// the from-scratch definitions: snapshotHash() and the filtered export.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptySnapshot, snapshotHash, type Row } from '../../shared/snapshot.js';
import { ConfigIndex } from '../../shared/sync/config-index.js';
import { buildView, viewOps } from '../../control-plane/sync/view.js';

const ids = ['a', 'b', 'c', 'd'];
const uuid = (kind: string, i: string) => `${kind}-${i}`;

type Step =
  | { kind: 'service'; id: string; enabled: boolean; port: number }
  | { kind: 'route'; id: string; service: string | null }
  | { kind: 'plugin'; id: string; service: string | null; route: string | null; enabled: boolean }
  | { kind: 'delete'; entity: 'services' | 'routes' | 'plugins'; id: string };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('service' as const), id: fc.constantFrom(...ids), enabled: fc.boolean(), port: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('route' as const), id: fc.constantFrom(...ids), service: fc.option(fc.constantFrom(...ids)) }),
  fc.record({
    kind: fc.constant('plugin' as const),
    id: fc.constantFrom(...ids),
    service: fc.option(fc.constantFrom(...ids)),
    route: fc.option(fc.constantFrom(...ids)),
    enabled: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('delete' as const), entity: fc.constantFrom('services' as const, 'routes' as const, 'plugins' as const), id: fc.constantFrom(...ids) }),
);

function toChange(s: Step): { entity: 'services' | 'routes' | 'plugins'; id: string; row: Row | null } {
  switch (s.kind) {
    case 'service':
      return { entity: 'services', id: uuid('s', s.id), row: { id: uuid('s', s.id), enabled: s.enabled, port: s.port, name: null, tags: [] } };
    case 'route':
      return { entity: 'routes', id: uuid('r', s.id), row: { id: uuid('r', s.id), service: s.service ? { id: uuid('s', s.service) } : null, paths: ['/x'] } };
    case 'plugin':
      return {
        entity: 'plugins',
        id: uuid('p', s.id),
        row: {
          id: uuid('p', s.id),
          name: 'cors',
          enabled: s.enabled,
          service: s.service ? { id: uuid('s', s.service) } : null,
          route: s.route ? { id: uuid('r', s.route) } : null,
          config: { origins: ['*'], nested: { b: 1, a: [null, 'x'] } },
        },
      };
    case 'delete':
      return { entity: s.entity, id: uuid(s.entity[0]!, s.id), row: null };
  }
}

describe('ConfigIndex and the data-plane view', () => {
  it('hash() equals snapshotHash() of the same rows, including the empty config', () => {
    const index = new ConfigIndex();
    expect(index.hash()).toBe(snapshotHash(emptySnapshot()));
    index.set('services', { id: 'z', name: 'z', b: { y: 1, x: [1, 2] } });
    index.set('services', { id: 'a', name: 'a' });
    index.set('consumers', { id: 'm', username: 'u' });
    expect(index.hash()).toBe(snapshotHash(index.toSnapshot()));
    index.delete('services', 'z');
    index.set('consumers', { id: 'm', username: 'changed' });
    expect(index.hash()).toBe(snapshotHash(index.toSnapshot()));
    expect(JSON.parse(index.toCanonicalJson())).toEqual(index.toSnapshot());
  });

  it('incremental view ops keep the view equal to the filtered config after any sequence of changes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { maxLength: 12 }), (batches) => {
        const raw = new ConfigIndex();
        const view = buildView(raw);
        const received = ConfigIndex.fromSnapshot(view.toSnapshot());
        for (const batch of batches) {
          const changes = batch.map(toChange);
          for (const c of changes) {
            if (c.row) raw.set(c.entity, c.row);
            else raw.delete(c.entity, c.id);
          }
          const ops = viewOps(raw, view, changes);
          view.apply(ops);
          received.apply(JSON.parse(JSON.stringify(ops)));
          const expected = buildView(raw);
          expect(view.hash()).toBe(expected.hash());
          expect(received.hash()).toBe(expected.hash());
          for (const r of view.list('routes')) expect(raw.get('services', r.service?.id ?? '')?.enabled).not.toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('config hash', () => {
  it('is updated per changed row and equals the from-scratch hash, with or without kept canonical JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { maxLength: 12 }), fc.boolean(), (batches, keepCanonical) => {
        const index = new ConfigIndex({ keepCanonical });
        index.hash();
        for (const batch of batches) {
          for (const c of batch.map(toChange)) {
            if (c.row) index.apply([{ entity: c.entity, op: 'upsert', row: c.row }]);
            else index.apply([{ entity: c.entity, op: 'delete', id: c.id }]);
          }
          const s = index.toSnapshot();
          expect(s.hash).toBe(snapshotHash(s));
          expect(ConfigIndex.fromSnapshot(s).hash()).toBe(s.hash);
        }
      }),
    );
  });

  it('does not depend on row order or key order, and tells apart any changed, moved, missing or extra row', () => {
    const a = { id: 'a', name: 'a', nested: { y: [1, { q: null }], x: 'x' } };
    const b = { id: 'b', name: 'b' };
    const base = { ...emptySnapshot(), services: [a, b], routes: [{ id: 'r', service: { id: 'a' } }] };
    const h = snapshotHash(base);
    expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(h).not.toBe(snapshotHash(emptySnapshot()));
    expect(snapshotHash({ ...base, services: [b, { nested: { x: 'x', y: [1, { q: null }] }, name: 'a', id: 'a' }] })).toBe(h);
    const variants = [
      { ...base, services: [a, { ...b, name: 'B' }] },
      { ...base, services: [a] },
      { ...base, services: [a, b, { id: 'c' }] },
      { ...base, services: [a, b, b] },
      { ...base, services: [a], consumers: [b] },
      { ...base, routes: [{ id: 'r', service: { id: 'b' } }] },
    ];
    for (const v of variants) expect(snapshotHash(v)).not.toBe(h);
  });
});
