import { afterEach, describe, expect, it } from 'vitest';
import { Balancers } from '../../data-plane/balancer/index.js';
import type { Row } from '../../shared/snapshot.js';
import { ctx, recordingLog, snapshot, target, upstream } from './fixtures.js';

let open: Balancers[] = [];
afterEach(() => {
  for (const b of open) b.close();
  open = [];
});
function build(u: Row, targets: Row[]) {
  const b = new Balancers(snapshot([u], targets), recordingLog());
  open.push(b);
  return b.get(u.name)!;
}

const IPS = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'];

describe('consistent hashing', () => {
  it('maps the same key to the same target, and spreads keys by weight', () => {
    const u = upstream({ name: 'ch.test', algorithm: 'consistent-hashing', hash_on: 'ip' });
    const bal = build(u, [target(u, IPS[0]!, 100), target(u, IPS[1]!, 100), target(u, IPS[2]!, 200)]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const ip = `192.168.${i >> 8}.${i & 255}`;
      const p = bal.pick(ctx({ clientIp: ip }))!;
      for (let k = 0; k < 3; k++) expect(bal.pick(ctx({ clientIp: ip }))!.id).toBe(p.id);
      counts.set(p.host, (counts.get(p.host) ?? 0) + 1);
    }
    // Expected shares 25% / 25% / 50%.
    expect(counts.get('10.0.0.1')! / 4000).toBeGreaterThan(0.2);
    expect(counts.get('10.0.0.1')! / 4000).toBeLessThan(0.3);
    expect(counts.get('10.0.0.2')! / 4000).toBeGreaterThan(0.2);
    expect(counts.get('10.0.0.2')! / 4000).toBeLessThan(0.3);
    expect(counts.get('10.0.0.3')! / 4000).toBeGreaterThan(0.45);
    expect(counts.get('10.0.0.3')! / 4000).toBeLessThan(0.55);
  });

  it('removing a target remaps only the keys it owned', () => {
    const u = upstream({ name: 'remap.test', algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-user' });
    const rows = IPS.map((t) => target(u, t));
    const before = build(u, rows);
    const after = build(u, rows.filter((r) => r.target !== IPS[1]));
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const c = ctx({ headers: { 'x-user': `user-${i}` } });
      const a = before.pick(c)!;
      const b = after.pick(c)!;
      if (a.host === '10.0.0.2') {
        moved++;
        expect(b.host).not.toBe('10.0.0.2');
      } else {
        expect(b.host).toBe(a.host);
      }
    }
    expect(moved).toBeGreaterThan(500); // ≈ a quarter of the keys
  });

  it('a re-created target (new id, same address) keeps its keys', () => {
    const u = upstream({ name: 'recreate.test', algorithm: 'consistent-hashing', hash_on: 'ip' });
    const rows = IPS.map((t) => target(u, t));
    const a = build(u, rows);
    const b = build(u, [...rows.slice(1), target(u, IPS[0]!)]);
    for (let i = 0; i < 500; i++) expect(b.pick(ctx({ clientIp: `172.16.0.${i % 250}` }))!.host).toBe(a.pick(ctx({ clientIp: `172.16.0.${i % 250}` }))!.host);
  });

  it('sends keys of an unhealthy target elsewhere while other keys stay put', () => {
    const u = upstream({
      name: 'chh.test',
      algorithm: 'consistent-hashing',
      hash_on: 'ip',
      healthchecks: { passive: { unhealthy: { http_failures: 1 } } },
    });
    const bal = build(u, IPS.map((t) => target(u, t)));
    const before = new Map<string, string>();
    for (let i = 0; i < 400; i++) before.set(`10.9.${i >> 8}.${i & 255}`, bal.pick(ctx({ clientIp: `10.9.${i >> 8}.${i & 255}` }))!.id);
    const victim = bal.pick(ctx({ clientIp: '10.9.0.0' }))!;
    bal.report(victim.id, { status: 500 });
    for (const [ip, id] of before) {
      const now = bal.pick(ctx({ clientIp: ip }))!.id;
      if (id === victim.id) expect(now).not.toBe(victim.id);
      else expect(now).toBe(id);
    }
  });

  it('hash_on header, with hash_fallback when the header is missing, then round-robin', () => {
    const u = upstream({
      name: 'hdr.test',
      algorithm: 'consistent-hashing',
      hash_on: 'header',
      hash_on_header: 'X-Tenant',
      hash_fallback: 'ip',
    });
    const bal = build(u, IPS.map((t) => target(u, t)));
    const byHeader = bal.pick(ctx({ headers: { 'x-tenant': 'acme' }, clientIp: '1.1.1.1' }))!;
    for (let i = 0; i < 20; i++) expect(bal.pick(ctx({ headers: { 'x-tenant': 'acme' }, clientIp: `2.2.2.${i}` }))!.id).toBe(byHeader.id);
    // Header missing → the client IP decides.
    const byIp = bal.pick(ctx({ clientIp: '3.3.3.3' }))!;
    for (let i = 0; i < 10; i++) expect(bal.pick(ctx({ clientIp: '3.3.3.3' }))!.id).toBe(byIp.id);
    // Different tenants go to different places (over many, more than one target).
    const hosts = new Set<string>();
    for (let i = 0; i < 50; i++) hosts.add(bal.pick(ctx({ headers: { 'x-tenant': `t${i}` } }))!.host);
    expect(hosts.size).toBe(4);

    // No hash value at all (hash_fallback none): round-robin.
    const rr = upstream({ name: 'hdr2.test', algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-tenant' });
    const bal2 = build(rr, IPS.map((t) => target(rr, t)));
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(bal2.pick(ctx())!.host);
    expect(seen.size).toBe(4);
  });

  it('hash_on cookie: uses the cookie, or generates one and asks to set it', () => {
    const u = upstream({
      name: 'cookie.test',
      algorithm: 'consistent-hashing',
      hash_on: 'cookie',
      hash_on_cookie: 'sb-affinity',
      hash_on_cookie_path: '/app',
    });
    const bal = build(u, IPS.map((t) => target(u, t)));
    const first = bal.pick(ctx())!;
    expect(first.setCookie).toMatch(/^sb-affinity=[0-9a-f-]{36}; Path=\/app$/);
    const value = first.setCookie!.split(';')[0]!.split('=')[1]!;
    for (let i = 0; i < 10; i++) {
      const p = bal.pick(ctx({ headers: { cookie: `other=1; sb-affinity=${value}; x=y` } }))!;
      expect(p.id).toBe(first.id);
      expect(p.setCookie).toBeUndefined();
    }
    // The peer objects handed out stay clean (no cookie leaking into later picks).
    expect(bal.pick(ctx({ headers: { cookie: `sb-affinity=${value}` } }))!.setCookie).toBeUndefined();
  });

  it('hash_on query_arg and uri_capture, with their fallbacks', () => {
    const q = upstream({
      name: 'q.test',
      algorithm: 'consistent-hashing',
      hash_on: 'query_arg',
      hash_on_query_arg: 'shard',
      hash_fallback: 'query_arg',
      hash_fallback_query_arg: 'region',
    });
    const bq = build(q, IPS.map((t) => target(q, t)));
    const s = bq.pick(ctx({ query: 'a=1&shard=7' }))!;
    for (let i = 0; i < 10; i++) expect(bq.pick(ctx({ query: `shard=7&i=${i}` }))!.id).toBe(s.id);
    expect(bq.pick(ctx({ query: 'sh%61rd=7' }))!.id).toBe(s.id); // percent-encoded name
    const r = bq.pick(ctx({ query: 'region=eu' }))!;
    for (let i = 0; i < 10; i++) expect(bq.pick(ctx({ query: `region=eu&i=${i}` }))!.id).toBe(r.id);
    const shards = new Set<string>();
    for (let i = 0; i < 50; i++) shards.add(bq.pick(ctx({ query: `shard=${i}` }))!.host);
    expect(shards.size).toBe(4);

    const c = upstream({
      name: 'cap.test',
      algorithm: 'consistent-hashing',
      hash_on: 'uri_capture',
      hash_on_uri_capture: 'account',
      hash_fallback: 'path',
    });
    const bc = build(c, IPS.map((t) => target(c, t)));
    const acc = bc.pick(ctx({ uriCaptures: { account: '42' }, path: '/a/42/x' }))!;
    for (let i = 0; i < 10; i++) expect(bc.pick(ctx({ uriCaptures: { account: '42' }, path: `/a/42/${i}` }))!.id).toBe(acc.id);
    const byPath = bc.pick(ctx({ path: '/static/logo.png' }))!;
    for (let i = 0; i < 10; i++) expect(bc.pick(ctx({ path: '/static/logo.png' }))!.id).toBe(byPath.id);
  });

  it('hash_on consumer (consumer id, else credential id)', () => {
    const u = upstream({ name: 'cons.test', algorithm: 'consistent-hashing', hash_on: 'consumer', hash_fallback: 'ip' });
    const bal = build(u, IPS.map((t) => target(u, t)));
    const p = bal.pick(ctx({ consumer: { id: 'c-1' }, clientIp: '9.9.9.1' }))!;
    for (let i = 0; i < 10; i++) expect(bal.pick(ctx({ consumer: { id: 'c-1' }, clientIp: `9.9.9.${i}` }))!.id).toBe(p.id);
    const byCred = bal.pick(ctx({ credential: { id: 'c-1' }, clientIp: '8.8.8.8' }))!;
    expect(byCred.id).toBe(p.id);
    const spread = new Set<string>();
    for (let i = 0; i < 50; i++) spread.add(bal.pick(ctx({ consumer: { id: `c-${i}` } }))!.host);
    expect(spread.size).toBe(4);
  });

  it('works with a tiny ring (slots = 10)', () => {
    const u = upstream({ name: 'tiny.test', algorithm: 'consistent-hashing', hash_on: 'ip', slots: 10 });
    const bal = build(u, IPS.map((t) => target(u, t)));
    for (let i = 0; i < 50; i++) {
      const a = bal.pick(ctx({ clientIp: `5.5.5.${i}` }))!;
      expect(bal.pick(ctx({ clientIp: `5.5.5.${i}` }))!.id).toBe(a.id);
    }
  });
});
