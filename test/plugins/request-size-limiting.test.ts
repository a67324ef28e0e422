// request-size-limiting: Content-Length checks, 417 for Expect: 100-continue, 411 when required,
// and chunked bodies counted while they stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { gateway, pluginRow, rejection, request, route, type Gateway, type Res } from './helpers.js';

describe('request-size-limiting schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('request-size-limiting').config).toEqual({ allowed_payload_size: 128, size_unit: 'megabytes', require_content_length: false });
  });
  it('rejects unknown units', () => {
    expect(rejection('request-size-limiting', { size_unit: 'gigabytes' }).fields).toEqual({
      config: { size_unit: 'expected one of: megabytes, kilobytes, bytes' },
    });
  });
});

/** Send a chunked body (no Content-Length) in pieces. */
function chunked(url: string, pieces: Buffer[], headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode as number, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i >= pieces.length) return void req.end();
      req.write(pieces[i++]);
      setTimeout(next, 2);
    };
    next();
  });
}

describe('request-size-limiting behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => {
      const bytes = route({ paths: ['/bytes'] });
      const kb = route({ paths: ['/kb'] });
      const required = route({ paths: ['/required'] });
      return {
        routes: [bytes, kb, required],
        plugins: [
          pluginRow('request-size-limiting', { allowed_payload_size: 10, size_unit: 'bytes' }, { route: bytes }),
          pluginRow('request-size-limiting', { allowed_payload_size: 1, size_unit: 'kilobytes' }, { route: kb }),
          pluginRow('request-size-limiting', { require_content_length: true }, { route: required }),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('passes bodies up to the limit', async () => {
    const res = await request(`${gw.url}/bytes/request`, { method: 'POST', body: '0123456789' });
    expect(res.status).toBe(200);
    expect(res.json().body).toBe('0123456789');
  });

  it('refuses a larger Content-Length with 413 before reaching the upstream', async () => {
    const before = gw.up.requests;
    const res = await request(`${gw.url}/bytes/request`, { method: 'POST', body: '0123456789A' });
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ message: 'Request size limit exceeded', request_id: res.headers['x-kong-request-id'] });
    expect(gw.up.requests).toBe(before);
  });

  it('kilobytes are 1024 bytes', async () => {
    expect((await request(`${gw.url}/kb/request`, { method: 'POST', body: Buffer.alloc(1024, 97) })).status).toBe(200);
    expect((await request(`${gw.url}/kb/request`, { method: 'POST', body: Buffer.alloc(1025, 97) })).status).toBe(413);
  });

  it('answers 417 when the client expects 100-continue', async () => {
    const res = await request(`${gw.url}/bytes/request`, {
      method: 'POST',
      headers: { expect: '100-continue', 'content-length': '20' },
      body: Buffer.alloc(20, 97),
    });
    expect(res.status).toBe(417);
    expect(res.json().message).toBe('Request size limit exceeded');
  });

  it('require_content_length: 411 without a valid Content-Length', async () => {
    const res = await chunked(`${gw.url}/required/request`, [Buffer.from('abc')]);
    expect(res.status).toBe(411);
    expect(res.json().message).toBe('A valid Content-Length header is required');
    expect((await request(`${gw.url}/required/request`, { method: 'POST', body: 'abc' })).status).toBe(200);
  });

  it('chunked bodies under the limit stream through', async () => {
    const res = await chunked(`${gw.url}/kb/request`, [Buffer.alloc(500, 98), Buffer.alloc(500, 99)]);
    expect(res.status).toBe(200);
    expect(res.json().bodyLength).toBe(1000);
  });

  it('chunked bodies over the limit are refused with 413 while streaming', async () => {
    const res = await chunked(`${gw.url}/kb/request`, [Buffer.alloc(800, 98), Buffer.alloc(800, 99)]);
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ message: 'Request size limit exceeded', request_id: res.headers['x-kong-request-id'] });
  });
});
