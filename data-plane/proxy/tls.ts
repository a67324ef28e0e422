// TLS for ssl listeners: certificates and SNIs from the snapshot, picked per server name
// (exact, then `*.suffix`, then `prefix.*`), else the listener's default certificate.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Row, Snapshot } from '../../shared/snapshot.js';

export interface DefaultCert {
  cert: string | Buffer;
  key: string | Buffer;
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
