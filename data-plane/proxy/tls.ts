// TLS for ssl listeners: certificates and SNIs from the snapshot, picked per server name
// (exact, then `*.suffix`, then `prefix.*`), else the listener's default certificate.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Row, Snapshot } from '../../shared/snapshot.js';

export interface DefaultCert {
  /** Several certificates (RSA + ECDSA) with their keys in the same order: node picks per client. */
  cert: string | Buffer | (string | Buffer)[];
  key: string | Buffer | (string | Buffer)[];
}

// ---- the generated default certificate (Kong's prefix_handler gen_default_ssl_cert) ---------------

/** Kong's subject for its generated default certificate. */
const DEFAULT_SUBJECT = '/C=US/ST=California/L=San Francisco/O=Kong/OU=IT Department/CN=localhost';
const DEFAULT_DAYS = 20 * 365;
/** <prefix>/ssl/<name>.crt|.key, as Kong names them. */
const DEFAULT_PAIRS = [
  { name: 'kong-default', newkey: ['-newkey', 'rsa:2048'] },
  { name: 'kong-default-ecdsa', newkey: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] },
];
// not a CA, for TLS server and client use only
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
[ext]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
`;

export class DefaultCertError extends Error {}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new DefaultCertError('an ssl proxy listener without ssl_cert/ssl_cert_key needs the openssl command to generate its default certificate: install openssl, or set ssl_cert and ssl_cert_key');
  if (r.status !== 0) throw new DefaultCertError(`generating the default certificate failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-2).join(' ')}`);
}

/**
 * The default certificates of ssl proxy listeners that have no ssl_cert: a self-signed RSA and an ECDSA
 * pair kept under <prefix>/ssl (key files 0600), generated once when missing and reused afterwards.
 */
export function ensureDefaultCertificates(prefix: string): { cert: Buffer[]; key: Buffer[]; files: string[]; generated: boolean } {
  const dir = join(prefix, 'ssl');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certs: Buffer[] = [];
  const keys: Buffer[] = [];
  const files: string[] = [];
  let generated = false;
  for (const pair of DEFAULT_PAIRS) {
    const crt = join(dir, `${pair.name}.crt`);
    const key = join(dir, `${pair.name}.key`);
    if (!existsSync(crt) || !existsSync(key)) {
      // write beside the targets and rename, so a crash never leaves a half pair behind
      const tag = randomBytes(6).toString('hex');
      const tmpCrt = `${crt}.${tag}.tmp`;
      const tmpKey = `${key}.${tag}.tmp`;
      const cnf = join(dir, `.openssl-${tag}.cnf`);
      try {
        writeFileSync(cnf, OPENSSL_CONFIG, { mode: 0o600 });
        writeFileSync(tmpKey, '', { mode: 0o600 });
        openssl(['req', '-x509', ...pair.newkey, '-nodes', '-sha256', '-days', String(DEFAULT_DAYS), '-subj', DEFAULT_SUBJECT, '-config', cnf, '-keyout', tmpKey, '-out', tmpCrt]);
        chmodSync(tmpKey, 0o600);
        renameSync(tmpKey, key);
        renameSync(tmpCrt, crt);
        generated = true;
      } finally {
        for (const f of [cnf, tmpKey, tmpCrt]) rmSync(f, { force: true });
      }
    }
    certs.push(readFileSync(crt));
    keys.push(readFileSync(key));
    files.push(crt);
  }
  return { cert: certs, key: keys, files, generated };
}

export interface SniTable {
  lookup(servername: string): SecureContext | undefined;
  readonly size: number;
}

function contextFor(cert: Row): SecureContext {
  // an RSA + an ECDSA pair can be served side by side: node picks by the client's cipher list
  if (cert.cert_alt && cert.key_alt) return createSecureContext({ cert: [cert.cert, cert.cert_alt], key: [cert.key, cert.key_alt] });
  return createSecureContext({ cert: cert.cert, key: cert.key });
}

export function buildSniTable(snapshot: Snapshot, onError: (msg: string) => void): SniTable {
  const exact = new Map<string, SecureContext>();
  const suffix = new Map<string, SecureContext>(); // ".example.com"
  const prefix = new Map<string, SecureContext>(); // "example."
  const byCert = new Map<string, SecureContext>();
  const certs = new Map<string, Row>();
  for (const c of snapshot.certificates ?? []) certs.set(c.id, c);

  const ctxOf = (certId: string): SecureContext | undefined => {
    let ctx = byCert.get(certId);
    if (ctx) return ctx;
    const row = certs.get(certId);
    if (!row) return undefined;
    try {
      ctx = contextFor(row);
    } catch (err) {
      onError(`certificate ${certId}: ${(err as Error).message}`);
      return undefined;
    }
    byCert.set(certId, ctx);
    return ctx;
  };

  const add = (name: string, certId: string) => {
    const ctx = ctxOf(certId);
    if (!ctx) return;
    const n = name.toLowerCase();
    if (n.startsWith('*.')) suffix.set(n.slice(1), ctx);
    else if (n.endsWith('.*')) prefix.set(n.slice(0, -1), ctx);
    else exact.set(n, ctx);
  };
  for (const s of snapshot.snis ?? []) if (s.certificate?.id) add(s.name, s.certificate.id);
  // certificates may also carry their snis inline (declarative files)
  for (const c of snapshot.certificates ?? []) for (const n of c.snis ?? []) if (typeof n === 'string') add(n, c.id);

  return {
    size: exact.size + suffix.size + prefix.size,
    lookup(servername: string) {
      const n = servername.toLowerCase();
      const hit = exact.get(n);
      if (hit) return hit;
      const dot = n.indexOf('.');
      if (dot < 0) return undefined;
      return suffix.get(n.slice(dot)) ?? prefix.get(n.slice(0, n.lastIndexOf('.') + 1));
    },
  };
}
