// file-log on a real DB-less data plane: the serialized record (Kong's fields, sizes equal to the
// bytes on the wire, redacted credentials, consumer and credential), gateway answers, reopen after
// rotation, and an unwritable path never failing a request.
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { rejection, pluginRow } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-file-log-'));
const mainLog = join(dir, 'main.log');
const reopenLog = join(dir, 'reopen.log');
const keptLog = join(dir, 'kept.log');
const badLog = join(dir, 'missing-dir', 'x.log');
let up: Upstream;
let node: SilverbackProcess;

function lines(file: string): any[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

async function linesAtLeast(file: string, n: number): Promise<any[]> {
  return waitFor(() => {
    const l = lines(file);
    return l.length >= n ? l : null;
  }, 15_000);
}

/** One raw HTTP/1.1 exchange: exactly these bytes go out; resolves with every byte that came back. */
function rawExchange(port: number, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(text)); // Connection: close: the server ends it
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

beforeAll(async () => {
  up = await startUpstream();
  const file = join(dir, 'kong.yml');
  const conf = {
    _format_version: '3.0',
    services: [
      {
        name: 'echo',
        url: up.url,
        routes: [
          { name: 'main', paths: ['/log'], plugins: [{ name: 'file-log', config: { path: mainLog } }] },
          {
            name: 'auth',
            paths: ['/auth'],
            plugins: [
              { name: 'jwt', config: {} },
              { name: 'file-log', config: { path: mainLog } },
            ],
          },
          {
            name: 'stop',
            paths: ['/stop'],
            plugins: [
              { name: 'request-termination', config: { status_code: 418, message: 'teapot' } },
              { name: 'file-log', config: { path: mainLog } },
            ],
          },
          { name: 'reopen', paths: ['/reopen'], plugins: [{ name: 'file-log', config: { path: reopenLog, reopen: true } }] },
          { name: 'kept', paths: ['/kept'], plugins: [{ name: 'file-log', config: { path: keptLog } }] },
          { name: 'bad', paths: ['/bad'], plugins: [{ name: 'file-log', config: { path: badLog } }] },
        ],
      },
    ],
    consumers: [{ username: 'alice', custom_id: 'a-1', jwt_secrets: [{ key: 'alice-iss', secret: 'alice-secret', algorithm: 'HS256' }] }],
  };
  writeFileSync(file, JSON.stringify(conf));
  node = await startSilverback({ env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file }, waitFor: ['proxy', 'status'] });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await up?.close();
});

describe('file-log schema', () => {
  it('fills Kong defaults and requires a valid path', () => {
    expect(pluginRow('file-log', { path: '/tmp/x.log' }).config).toEqual({ path: '/tmp/x.log', reopen: false, custom_fields_by_lua: null });
    expect(rejection('file-log', {}).fields).toEqual({ config: { path: 'required field missing' } });
    expect(rejection('file-log', { path: '/tmp/a*b' }).fields).toEqual({ config: { path: 'not a valid filename' } });
  });
  it('refuses custom_fields_by_lua code (no Lua runtime) but accepts an empty map', () => {
    expect(rejection('file-log', { path: '/tmp/x.log', custom_fields_by_lua: { a: 'return 1' } }).fields.config.custom_fields_by_lua).toMatch(/not supported/);
    expect(pluginRow('file-log', { path: '/tmp/x.log', custom_fields_by_lua: {} }).config.custom_fields_by_lua).toEqual({});
  });
});

describe('file-log records', () => {
  it("writes Kong's serialized record, sizes equal to the bytes on the wire", async () => {
    const port = node.ports.proxy;
    const body = 'hello=world';
    const reqText =
      `POST /log/request?a=1&a=2&flag&sp=x%20y HTTP/1.1\r\nHost: Example.COM:${port}\r\nAuthorization: Basic c2VjcmV0\r\n` +
      `Proxy-Authorization: Bearer zzz\r\nX-Test: one\r\nX-Test: two\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const before = Date.now();
    const got = await rawExchange(port, reqText);
    expect(got.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    const [rec] = await linesAtLeast(mainLog, 1);
    const after = Date.now();

    expect(rec.request.method).toBe('POST');
    expect(rec.request.uri).toBe('/log/request?a=1&a=2&flag&sp=x%20y');
    expect(rec.request.url).toBe(`http://example.com:${port}/log/request?a=1&a=2&flag&sp=x%20y`);
    expect(rec.request.querystring).toEqual({ a: ['1', '2'], flag: true, sp: 'x y' });
    expect(rec.request.headers.authorization).toBe('REDACTED');
    expect(rec.request.headers['proxy-authorization']).toBe('REDACTED');
    expect(rec.request.headers['x-test']).toEqual(['one', 'two']);
    expect(rec.request.headers.host).toBe(`Example.COM:${port}`);
    expect(rec.request.size).toBe(Buffer.byteLength(reqText));
    expect(typeof rec.request.id).toBe('string');
    expect(rec.request.tls).toBeUndefined();

    expect(rec.response.status).toBe(200);
    expect(rec.response.size).toBe(got.length);
    expect(rec.response.headers['x-upstream']).toBe('echo');
    expect(rec.response.headers['content-type']).toBe('application/json');
    expect(rec.response.headers['x-kong-request-id']).toBe(rec.request.id);
    expect(Number(rec.response.headers['content-length'])).toBeGreaterThan(0);

    expect(rec.upstream_uri).toBe('/request?a=1&a=2&flag&sp=x%20y');
    expect(rec.upstream_status).toBe('200');
    expect(rec.tries).toHaveLength(1);
    expect(rec.tries[0]).toMatchObject({ ip: '127.0.0.1', port: up.port });
    expect(rec.route).toMatchObject({ name: 'main', paths: ['/log'] });
    expect(rec.service).toMatchObject({ name: 'echo', host: '127.0.0.1', port: up.port });
    expect(rec.consumer).toBeUndefined();
    expect(rec.authenticated_entity).toBeUndefined();
    expect(rec.client_ip).toBe('127.0.0.1');
    expect(rec.source).toBe('service');
    expect(rec.started_at).toBeGreaterThanOrEqual(before);
    expect(rec.started_at).toBeLessThanOrEqual(after);
    for (const k of ['kong', 'proxy', 'request', 'receive']) expect(rec.latencies[k]).toBeGreaterThanOrEqual(0);
    expect(rec.latencies.request).toBeGreaterThanOrEqual(rec.latencies.proxy);
  });

  it('logs the consumer and the credential of an authenticated request', async () => {
    const token = await new SignJWT({ iss: 'alice-iss' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('alice-secret'));
    const n = lines(mainLog).length;
    const res = await fetch(`${node.proxyUrl}/auth/request`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const rec = (await linesAtLeast(mainLog, n + 1))[n];
    expect(rec.consumer).toMatchObject({ username: 'alice', custom_id: 'a-1' });
    expect(rec.authenticated_entity.id).toEqual(expect.any(String));
    expect(rec.authenticated_entity.consumer_id).toBe(rec.consumer.id);
    expect(rec.request.headers.authorization).toBe('REDACTED');
    expect(JSON.stringify(rec)).not.toContain(token);
  });

  it('logs answers the gateway gave itself (plugin exit, auth failure)', async () => {
    const n = lines(mainLog).length;
    expect((await fetch(`${node.proxyUrl}/stop/x`)).status).toBe(418);
    expect((await fetch(`${node.proxyUrl}/auth/request`)).status).toBe(401);
    const recs = (await linesAtLeast(mainLog, n + 2)).slice(n);
    const stop = recs.find((r) => r.route.name === 'stop');
    const auth = recs.find((r) => r.route.name === 'auth');
    expect(stop.response.status).toBe(418);
    expect(stop.source).toBe('exit');
    expect(stop.tries).toEqual([]);
    expect(stop.latencies.proxy).toBe(-1);
    expect(stop.upstream_status).toBeUndefined();
    expect(auth.response.status).toBe(401);
    expect(auth.source).toBe('exit');
  });

  it('reopen: after the file is moved away (rotation) the next line goes to a new file; without reopen it follows the open file', async () => {
    expect((await fetch(`${node.proxyUrl}/reopen/request`)).status).toBe(200);
    expect((await fetch(`${node.proxyUrl}/kept/request`)).status).toBe(200);
    await linesAtLeast(reopenLog, 1);
    await linesAtLeast(keptLog, 1);
    renameSync(reopenLog, reopenLog + '.1');
    renameSync(keptLog, keptLog + '.1');
    expect((await fetch(`${node.proxyUrl}/reopen/request?second`)).status).toBe(200);
    expect((await fetch(`${node.proxyUrl}/kept/request?second`)).status).toBe(200);
    const fresh = await linesAtLeast(reopenLog, 1);
    expect(fresh[0].request.uri).toBe('/reopen/request?second');
    const moved = await linesAtLeast(keptLog + '.1', 2);
    expect(moved[1].request.uri).toBe('/kept/request?second');
    expect(existsSync(keptLog)).toBe(false);
  });

  it('an unwritable path never fails or slows a request, and the node keeps running', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${node.proxyUrl}/bad/request`)).status).toBe(200);
    await waitFor(() => node.logs().includes('file-log: cannot write to the log file'), 10_000);
    expect((await fetch(`${node.proxyUrl}/log/request`)).status).toBe(200);
    expect(node.exited()).toBe(false);
  });
});
