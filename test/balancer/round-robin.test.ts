import { afterEach, describe, expect, it } from 'vitest';
import { Balancers } from '../../data-plane/balancer/index.js';
import { ctx, recordingLog, snapshot, tally, target, upstream } from './fixtures.js';

let open: Balancers[] = [];
afterEach(() => {
  for (const b of open) b.close();
  open = [];
});
function balancers(...a: ConstructorParameters<typeof Balancers>): Balancers {
  const b = new Balancers(...a);
  open.push(b);
  return b;
}

describe('weighted round-robin', () => {
  it('distributes picks in proportion to weight (100/50 → 2:1), smoothly', () => {
    const u = upstream({ name: 'rr.test' });
    const b = balancers(snapshot([u], [target(u, '10.0.0.1:80', 100), target(u, '10.0.0.2:80', 50)]), recordingLog());
    const bal = b.get('rr.test')!;
    const c = ctx();
    const counts = tally(() => bal.pick(c), 3000);
    expect(counts.get('10.0.0.1:80')).toBe(2000);
    expect(counts.get('10.0.0.2:80')).toBe(1000);
    // Smooth: never two picks of the light target in a row.
    let prev = '';
    for (let i = 0; i < 30; i++) {
      const p = bal.pick(c)!;
      if (p.host === '10.0.0.2') expect(prev).not.toBe('10.0.0.2');
      prev = p.host;
    }
  });

  it('spreads three equal targets evenly', () => {
    const u = upstream({ name: 'even.test' });
    const b = balancers(snapshot([u], ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((t) => target(u, t))), recordingLog());
    const counts = tally(() => b.get('even.test')!.pick(ctx()), 300);
    expect([...counts.values()]).toEqual([100, 100, 100]);
  });

  it('leaves weight-0 targets out of rotation and answers null when only those remain', () => {
    const u = upstream({ name: 'w0.test' });
    const u2 = upstream({ name: 'allzero.test' });
    const b = balancers(
      snapshot([u, u2], [target(u, '10.0.0.1:80', 100), target(u, '10.0.0.2:80', 0), target(u2, '10.0.0.9:80', 0)]),
      recordingLog(),
    );
    const counts = tally(() => b.get('w0.test')!.pick(ctx()), 50);
    expect([...counts.entries()]).toEqual([['10.0.0.1:80', 50]]);
    expect(b.get('allzero.test')!.pick(ctx())).toBeNull();
    expect(b.health('w0.test')!.map((r) => r.target)).toEqual(['10.0.0.1:80']);
  });

  it('uses the newest row of a target (Kong target history)', () => {
    const u = upstream({ name: 'hist.test' });
    const rows = [
      target(u, '10.0.0.1:80', 100, 1000),
      target(u, '10.0.0.1:80', 0, 3000), // newest: removed
      target(u, '10.0.0.2:80', 0, 1000),
      target(u, '10.0.0.2:80', 20, 2000), // newest: back with weight 20
      target(u, '10.0.0.3:80', 80, 5000),
    ];
    const b = balancers(snapshot([u], rows), recordingLog());
    const counts = tally(() => b.get('hist.test')!.pick(ctx()), 100);
    expect(counts.get('10.0.0.1:80')).toBeUndefined();
    expect(counts.get('10.0.0.2:80')).toBe(20);
    expect(counts.get('10.0.0.3:80')).toBe(80);
    const row = b.health('hist.test')!.find((r) => r.target === '10.0.0.2:80')!;
    expect(row).toMatchObject({ id: rows[3]!.id, weight: 20, address: '10.0.0.2:80', health: 'HEALTHCHECKS_OFF' });
  });

  it('skips targets already tried by a retry, and reuses one when none is left', () => {
    const u = upstream({ name: 'retry.test' });
    const b = balancers(snapshot([u], [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80')]), recordingLog());
    const bal = b.get('retry.test')!;
    const first = bal.pick(ctx())!;
    const tried = new Set([first.id]);
    for (let i = 0; i < 5; i++) expect(bal.pick(ctx(), tried)!.id).not.toBe(first.id);
    const second = bal.pick(ctx(), tried)!;
    tried.add(second.id);
    expect(bal.pick(ctx(), tried)).not.toBeNull();

    const single = upstream({ name: 'single.test' });
    const b2 = balancers(snapshot([single], [target(single, '10.0.0.5:80')]), recordingLog());
    const p = b2.get('single.test')!.pick(ctx())!;
    expect(b2.get('single.test')!.pick(ctx(), new Set([p.id]))!.id).toBe(p.id);
  });

  it('returns the peer address, port and Host header (target host, or upstream.host_header)', () => {
    const u = upstream({ name: 'peer.test' });
    const v6 = upstream({ name: 'v6.test' });
    const hh = upstream({ name: 'hh.test', host_header: 'api.example.com' });
    const t = target(u, '10.1.2.3:8080');
    const b = balancers(snapshot([u, v6, hh], [t, target(v6, '[::1]:81'), target(hh, '10.0.0.7')]), recordingLog());
    expect(b.get('peer.test')!.pick(ctx())).toEqual({ id: `${t.id}|10.1.2.3`, host: '10.1.2.3', port: 8080, hostHeader: '10.1.2.3' });
    expect(b.get('v6.test')!.pick(ctx())).toMatchObject({ host: '::1', port: 81 });
    expect(b.health('v6.test')![0]!.address).toBe('[::1]:81');
    expect(b.get('hh.test')!.pick(ctx())).toMatchObject({ host: '10.0.0.7', port: 8000, hostHeader: 'api.example.com' });
    expect(b.get('hh.test')!.hostHeader).toBe('api.example.com');
    expect(b.get('peer.test')!.hostHeader).toBeNull();
    expect(b.get('nope.test')).toBeUndefined();
  });

  it('an upstream without targets has no peer', () => {
    const u = upstream({ name: 'empty.test' });
    const b = balancers(snapshot([u], []), recordingLog());
    expect(b.get('empty.test')!.pick(ctx())).toBeNull();
    expect(b.health('empty.test')).toEqual([]);
  });
});
