// An ssl proxy listener without ssl_cert/ssl_cert_key serves a generated self-signed default
// certificate, as Kong does (<prefix>/ssl/kong-default{,-ecdsa}.{crt,key}, key files 0600): created
// once, reused on restart. In-process and with a real DB-less node restarted on the same prefix.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { createProxy } from '../../data-plane/proxy/index.js';
import { freePort, startSilverback } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';
import { defaultConfig, route, service, silentLog, snapshot } from './fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-defcert-'));
  dirs.push(d);
  return d;
}

/** The certificate the listener presents (no SNI, as a client by IP would connect), and the negotiated key type. */
function presented(port: number, opts: tls.ConnectionOptions = {}): Promise<{ cert: tls.DetailedPeerCertificate; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const cert = s.getPeerCertificate(true);
      const cipher = s.getCipher().name;
      s.end();
      resolve({ cert, cipher });
    });
    s.on('error', reject);
  });
}

const mode = (f: string) => statSync(f).mode & 0o777;

describe('generated default certificate', () => {
  it('an ssl listener without ssl_cert serves Kong-style self-signed RSA and ECDSA certificates from <prefix>/ssl', async () => {
    const prefix = tempDir();
    const up = await startUpstream();
    const svc = service({ port: up.port });
    const proxy = createProxy({ config: { ...defaultConfig, prefix }, log: silentLog, registry: {} });
    proxy.applySnapshot(snapshot({ services: [svc], routes: [route({ paths: ['/'], service: { id: svc.id } })] }));
    try {
      const { port } = await proxy.listen('127.0.0.1', 0, true);
      const ssl = join(prefix, 'ssl');
      for (const f of ['kong-default.key', 'kong-default-ecdsa.key']) expect(mode(join(ssl, f))).toBe(0o600);
      const rsaFile = new X509Certificate(readFileSync(join(ssl, 'kong-default.crt')));
      const ecFile = new X509Certificate(readFileSync(join(ssl, 'kong-default-ecdsa.crt')));
      expect(rsaFile.subject).toContain('CN=localhost');
      expect(rsaFile.subject).toContain('O=Kong');
      expect(rsaFile.ca).toBe(false);
      expect(rsaFile.publicKey.asymmetricKeyType).toBe('rsa');
      expect(ecFile.publicKey.asymmetricKeyType).toBe('ec');
      // good for years, like Kong's 20
      expect(new Date(rsaFile.validTo).getTime() - Date.now()).toBeGreaterThan(10 * 365 * 86400_000);

      // the client gets one of the two, depending on what it can do
      const rsa = await presented(port, { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256', maxVersion: 'TLSv1.3' });
      expect(rsa.cert.fingerprint256).toBe(rsaFile.fingerprint256);
      const ec = await presented(port, { sigalgs: 'ecdsa_secp256r1_sha256' });
      expect(ec.cert.fingerprint256).toBe(ecFile.fingerprint256);
    } finally {
      await proxy.close();
      await up.close();
    }
  });

  it('a configured ssl_cert wins: nothing is generated', async () => {
    const prefix = tempDir();
    const own = join(tempDir(), 'own');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${own}.key`, '-out', `${own}.crt`, '-days', '2', '-subj', '/CN=own.test'], { stdio: 'ignore' });
    const proxy = createProxy({ config: { ...defaultConfig, prefix, ssl_cert: `${own}.crt`, ssl_cert_key: `${own}.key` }, log: silentLog, registry: {} });
    try {
      const { port } = await proxy.listen('127.0.0.1', 0, true);
      expect((await presented(port)).cert.subject.CN).toBe('own.test');
      expect(() => statSync(join(prefix, 'ssl'))).toThrow();
    } finally {
      await proxy.close();
    }
  });

  it('a real node generates it once and serves the same certificate after a restart', async () => {
    const prefix = tempDir();
    const up = await startUpstream();
    const decl = join(prefix, 'kong.yml');
    writeFileSync(decl, `_format_version: "3.0"\nservices:\n- name: echo\n  url: ${up.url}\n  routes:\n  - name: main\n    paths: ["/"]\n`);
    const [plain, secure] = [await freePort(), await freePort()];
    const env = {
      SILVERBACK_DATABASE: 'off',
      SILVERBACK_DECLARATIVE_CONFIG: decl,
      SILVERBACK_PROXY_LISTEN: `127.0.0.1:${plain}, 127.0.0.1:${secure} ssl`,
    };
    try {
      const first = await startSilverback({ prefix, env, waitFor: ['proxy', 'status'] });
      const a = await presented(secure);
      expect(a.cert.subject.CN).toBe('localhost');
      const crt = join(prefix, 'ssl', 'kong-default.crt');
      const before = statSync(crt).mtimeMs;
      expect(mode(join(prefix, 'ssl', 'kong-default.key'))).toBe(0o600);
      expect(first.logs()).toContain('generated the default TLS certificate');
      await first.stop();

      const second = await startSilverback({ prefix, env, waitFor: ['proxy', 'status'] });
      const b = await presented(secure);
      expect(b.cert.fingerprint256).toBe(a.cert.fingerprint256);
      expect(statSync(crt).mtimeMs).toBe(before);
      expect(second.logs()).not.toContain('generated the default TLS certificate');
      // requests go through the TLS listener
      const status = await new Promise<number>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: secure, rejectUnauthorized: false }, () => {
          s.write('GET /request HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        });
        let buf = '';
        s.on('data', (d) => (buf += d));
        s.on('end', () => resolve(Number(buf.split(' ')[1])));
        s.on('error', reject);
      });
      expect(status).toBe(200);
      await second.stop();
    } finally {
      await up.close();
    }
  });
});
