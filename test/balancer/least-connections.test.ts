import { afterEach, describe, expect, it } from 'vitest';
import { Balancers } from '../../data-plane/balancer/index.js';
import { ctx, recordingLog, snapshot, target, upstream } from './fixtures.js';

let open: Balancers[] = [];
afterEach(() => {
  for (const b of open) b.close();
  open = [];
});

describe('least-connections', () => {
  it('picks the target with the fewest in-flight requests per weight, and counts release()', () => {
    const u = upstream({ name: 'lc.test', algorithm: 'least-connections' });
    const b = new Balancers(snapshot([u], [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80')]), recordingLog());
    open.push(b);
    const bal = b.get('lc.test')!;
    const a = bal.pick(ctx())!;
    const c = bal.pick(ctx())!;
    expect(c.id).not.toBe(a.id); // a has one in flight
    // Both busy with one; finish c's request → next pick goes to c.
    bal.release!(c.id);
    expect(bal.pick(ctx())!.id).toBe(c.id);
    // Now one each; finishing a's request makes a the least loaded.
    bal.release!(a.id);
    expect(bal.pick(ctx())!.id).toBe(a.id);
    // Releasing more than was picked never goes negative.
    for (let i = 0; i < 5; i++) bal.release!(c.id);
    expect(bal.pick(ctx())!.id).toBe(c.id);
  });

  it('a slow target (requests never released) gets no more than its share while others drain', () => {
    const u = upstream({ name: 'slow.test', algorithm: 'least-connections' });
    const b = new Balancers(snapshot([u], [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80'), target(u, '10.0.0.3:80')]), recordingLog());
    open.push(b);
    const bal = b.get('slow.test')!;
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const p = bal.pick(ctx())!;
      counts.set(p.host, (counts.get(p.host) ?? 0) + 1);
      if (p.host !== '10.0.0.1') bal.release!(p.id); // 10.0.0.1 never finishes
    }
    expect(counts.get('10.0.0.1')).toBe(1);
    expect(counts.get('10.0.0.2')! + counts.get('10.0.0.3')!).toBe(299);
    expect(Math.abs(counts.get('10.0.0.2')! - counts.get('10.0.0.3')!)).toBeLessThanOrEqual(1);
  });

  it('weights scale the load: weight 200 carries twice the in-flight requests of weight 100', () => {
    const u = upstream({ name: 'lcw.test', algorithm: 'least-connections' });
    const b = new Balancers(snapshot([u], [target(u, '10.0.0.1:80', 200), target(u, '10.0.0.2:80', 100)]), recordingLog());
    open.push(b);
    const bal = b.get('lcw.test')!;
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const p = bal.pick(ctx())!; // none released: in-flight grows
      counts.set(p.host, (counts.get(p.host) ?? 0) + 1);
    }
    expect(counts.get('10.0.0.1')).toBe(200);
    expect(counts.get('10.0.0.2')).toBe(100);
  });

  it("'latency' is served by least-connections (noted in the log)", () => {
    const log = recordingLog();
    const u = upstream({ name: 'lat.test', algorithm: 'latency' });
    const b = new Balancers(snapshot([u], [target(u, '10.0.0.1:80'), target(u, '10.0.0.2:80')]), log);
    open.push(b);
    const bal = b.get('lat.test')!;
    const a = bal.pick(ctx())!;
    expect(bal.pick(ctx())!.id).not.toBe(a.id);
    expect(log.entries.some((e) => e.level === 'info' && /latency.*least-connections/.test(e.msg))).toBe(true);
  });
});
