// ssl listener: certificates and SNIs from the snapshot, chosen per server name (exact and wildcard),
// the default certificate otherwise; routes see the https scheme and their snis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { defaultConfig, route, service, silentLog, snapshot } from './fixtures.js';
import { createProxy, type Proxy } from '../../data-plane/proxy/index.js';

function selfSigned(dir: string, cn: string): { cert: string; key: string } {
  const key = join(dir, `${cn.replace('*', 'star')}.key`);
  const cert = join(dir, `${cn.replace('*', 'star')}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

function peerCN(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject?.CN as string;
      s.end();
      resolve(cn);
    });
    s.on('error', reject);
  });
}

let dir: string;
let up: Upstream;
let proxy: Proxy;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
  up = await startUpstream();
  const def = selfSigned(dir, 'default.test');
  const exact = selfSigned(dir, 'api.example.com');
  const wild = selfSigned(dir, '*.wild.example.com');
  const svc = service({ port: up.port });
  const c1 = { id: '10000000-0000-4000-8000-000000000001', cert: exact.cert, key: exact.key, cert_alt: null, key_alt: null, tags: null };
  const c2 = { id: '10000000-0000-4000-8000-000000000002', cert: wild.cert, key: wild.key, cert_alt: null, key_alt: null, tags: null };
  const snap = snapshot({
    services: [svc],
    certificates: [c1, c2],
    snis: [
      { id: '20000000-0000-4000-8000-000000000001', name: 'api.example.com', certificate: { id: c1.id } },
      { id: '20000000-0000-4000-8000-000000000002', name: '*.wild.example.com', certificate: { id: c2.id } },
    ],
    routes: [
      route({ name: 'by-sni', protocols: ['https'], snis: ['api.example.com'], paths: ['/'], service: { id: svc.id } }),
      route({ name: 'https-only', protocols: ['https'], paths: ['/secure'], service: { id: svc.id } }),
    ],
  });
  proxy = createProxy({ config: defaultConfig, log: silentLog, registry: {} });
  proxy.applySnapshot(snap);
  ({ port } = await proxy.listen('127.0.0.1', 0, def));
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, servername: string): Promise<{ status: number; headers: any; body: any }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, servername, headers: { host: servername, 'kong-debug': '1' }, rejectUnauthorized: false, agent: false }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, body: b ? JSON.parse(b) : null }));
      })
      .on('error', reject);
  });
}

describe('TLS listener', () => {
  it('picks the certificate by SNI: exact, wildcard, default', async () => {
    expect(await peerCN(port, 'api.example.com')).toBe('api.example.com');
    expect(await peerCN(port, 'a.wild.example.com')).toBe('*.wild.example.com');
    expect(await peerCN(port, 'unknown.test')).toBe('default.test');
  });

  it('routes by sni and forwards X-Forwarded-Proto https', async () => {
    const res = await get('/request', 'api.example.com');
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe('by-sni');
    expect(res.body.headers['x-forwarded-proto']).toBe('https');
  });

  it('an https-only route is served over TLS (no 426)', async () => {
    const res = await get('/secure/request', 'other.test');
    expect(res.status).toBe(200);
    expect(res.headers['kong-route-name']).toBe('https-only');
  });
});
