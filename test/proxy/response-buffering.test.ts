// Response buffering is decided when the upstream headers arrive: a plugin that edits JSON bodies
// (response-transformer) gets JSON responses buffered, everything else still streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { downloadByte } from '../helpers/upstream.js';
import { gateway, pluginRow, request, route, type Gateway } from '../plugins/helpers.js';

const MB = 1024 * 1024;
let gw: Gateway;

beforeAll(async () => {
  gw = await gateway(() => {
    const edit = route({ paths: ['/edit'] });
    return {
      routes: [edit],
      plugins: [pluginRow('response-transformer', { add: { json: ['added:yes'], headers: ['X-Transformed:1'] } }, { route: edit })],
    };
  });
});
afterAll(() => gw?.close());

describe('response buffering with JSON-editing plugins', () => {
  it('a large non-JSON download streams: first bytes arrive long before the upstream finished', async () => {
    const size = 32 * MB;
    const sentBefore = gw.up.downloadSent;
    const r = await new Promise<{ sentAtFirstByte: number; bytes: number; ok: boolean; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      http
        .get(`${gw.url}/edit/download/${size}?chunked`, { agent: false }, (res) => {
          let bytes = 0;
          let ok = true;
          let sentAtFirstByte = -1;
          res.on('data', (c: Buffer) => {
            if (sentAtFirstByte < 0) {
              sentAtFirstByte = gw.up.downloadSent - sentBefore;
              // hold the client still: a buffering proxy would keep reading the whole body meanwhile
              res.pause();
              setTimeout(() => res.resume(), 200);
            }
            if (c[0] !== downloadByte(bytes)) ok = false;
            bytes += c.length;
          });
          res.on('end', () => resolve({ sentAtFirstByte, bytes, ok, headers: res.headers }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(r.bytes).toBe(size);
    expect(r.ok).toBe(true);
    expect(r.headers['x-transformed']).toBe('1'); // header edits still apply
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.sentAtFirstByte).toBeLessThan(16 * MB);
  });

  it('a download with Content-Length keeps it (not re-framed) and streams', async () => {
    const res = await request(`${gw.url}/edit/download/100000`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('100000');
    expect(res.headers['x-transformed']).toBe('1');
    expect(res.body.length).toBe(100000);
  });

  it('JSON responses are still buffered and edited, with a recomputed Content-Length', async () => {
    const res = await request(`${gw.url}/edit/request`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json().added).toBe('yes');
    expect(res.json().method).toBe('GET');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  });

  it('NDJSON (not JSON) streams line by line', async () => {
    const times: number[] = [];
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${gw.url}/edit/stream/10`, { agent: false }, (res) => {
          expect(res.headers['content-type']).toBe('application/x-ndjson');
          res.on('data', () => times.push(Date.now()));
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    expect(times.length).toBeGreaterThan(3);
    expect(times[times.length - 1] - times[0]).toBeGreaterThan(20);
  });
});
