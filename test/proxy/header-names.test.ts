// The header names the gateway sends are made known to undici once (it then skips lower-casing and
// checking them per request), without weakening what undici refuses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { PROXY_HEADER_NAMES } from '../../data-plane/proxy/headers.js';
import { MAX_KNOWN_HEADER_NAMES, knownHeaderNames, undiciKnows } from '../../data-plane/proxy/header-names.js';
import '../../data-plane/plugins/registry.js';

let server: http.Server;
let pool: Pool;
let seen: http.IncomingHttpHeaders = {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen = req.headers;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await pool.close();
  await new Promise((r) => server.close(r));
});

describe('header names known to undici', () => {
  it("covers Kong's proxy headers and the auth plugins' consumer headers once the modules load", () => {
    for (const name of PROXY_HEADER_NAMES) expect(undiciKnows(name)).toBe(name);
    for (const name of ['x-consumer-id', 'x-consumer-username', 'x-credential-identifier', 'x-anonymous-consumer', 'x-consumer-groups']) {
      expect(undiciKnows(name)).toBe(name);
    }
  });

  it('maps a configured name to its lower-case form, and a request still carries it', async () => {
    expect(knownHeaderNames(['X-Trace-Token'])).toBe(1);
    expect(undiciKnows('X-Trace-Token')).toBe('x-trace-token');
    expect(knownHeaderNames(['X-Trace-Token'])).toBe(0); // once
    const r = await pool.request({ path: '/', method: 'GET', headers: ['X-Trace-Token', 'abc', 'x-forwarded-for', '10.0.0.1'] });
    await r.body.text();
    expect(seen['x-trace-token']).toBe('abc');
    expect(seen['x-forwarded-for']).toBe('10.0.0.1');
  });

  it('leaves out names that are not tokens, which undici goes on refusing', async () => {
    expect(knownHeaderNames(['bad name', 'x-a\r\nx-b', ''])).toBe(0);
    expect(undiciKnows('bad name')).toBeUndefined();
    await expect(pool.request({ path: '/', method: 'GET', headers: ['bad name', 'v'] })).rejects.toThrow(/invalid header key/);
  });

  it('still checks the values of known names', async () => {
    await expect(pool.request({ path: '/', method: 'GET', headers: ['x-forwarded-for', 'a\nb'] })).rejects.toThrow(/invalid x-forwarded-for header/);
  });

  it(`adds at most ${MAX_KNOWN_HEADER_NAMES} names, however many configs come and go`, () => {
    const names = Array.from({ length: MAX_KNOWN_HEADER_NAMES + 50 }, (_, i) => `x-churn-${i}`);
    const added = knownHeaderNames(names);
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(MAX_KNOWN_HEADER_NAMES);
    expect(undiciKnows(names[names.length - 1])).toBeUndefined();
    expect(knownHeaderNames(['x-one-more'])).toBe(0);
  });
});
