// TLS for the cluster listener. shared: every node presents the same certificate, and a peer is
// accepted only if it presents exactly that certificate. pki: peers present certificates signed
// by cluster_ca_cert, optionally restricted to cluster_allowed_common_names. Plaintext only when
// cluster_plaintext is on.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../../shared/config.js';

type ClusterTlsConfig = Pick<
  Config,
  'cluster_mtls' | 'cluster_cert' | 'cluster_cert_key' | 'cluster_ca_cert' | 'cluster_allowed_common_names' | 'cluster_plaintext'
>;

export interface ServerSecurity {
  credentials: grpc.ServerCredentials;
  /** null when the peer of this call may sync, else the reason to refuse it. */
  authorize(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): string | null;
  mode: 'plaintext' | 'shared' | 'pki';
}

function readPem(file: string | null, setting: string): Buffer {
  if (!file) throw new Error(`${setting} is required for the cluster listener (or set cluster_plaintext = on for development only)`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${setting} ${file}: ${(err as Error).message}`);
  }
}

export function serverSecurity(config: ClusterTlsConfig): ServerSecurity {
  if (config.cluster_plaintext) {
    return { credentials: grpc.ServerCredentials.createInsecure(), authorize: () => null, mode: 'plaintext' };
  }
  const cert = readPem(config.cluster_cert, 'cluster_cert');
  const key = readPem(config.cluster_cert_key, 'cluster_cert_key');
  if (config.cluster_mtls === 'shared') {
    const ours = new X509Certificate(cert).fingerprint256;
    return {
      credentials: grpc.ServerCredentials.createSsl(cert, [{ cert_chain: cert, private_key: key }], true),
      authorize(call) {
        const peer = call.getAuthContext().sslPeerCertificate;
        if (!peer?.fingerprint256) return 'no client certificate';
        return peer.fingerprint256 === ours ? null : 'client certificate is not the cluster certificate';
      },
      mode: 'shared',
    };
  }
  const ca = readPem(config.cluster_ca_cert, 'cluster_ca_cert');
  const allowed = new Set(config.cluster_allowed_common_names);
  return {
    credentials: grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true),
    authorize(call) {
      const peer = call.getAuthContext().sslPeerCertificate;
      if (!peer?.subject) return 'no client certificate';
      if (!allowed.size) return null;
      const cn = peer.subject.CN;
      return typeof cn === 'string' && allowed.has(cn) ? null : `client certificate common name "${cn}" is not allowed`;
    },
    mode: 'pki',
  };
}
