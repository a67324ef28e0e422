// TLS towards the control plane. shared: present the cluster certificate and accept only a
// control plane presenting the same one. pki: present our certificate, verify the control plane
// against cluster_ca_cert (and cluster_server_name when set). Plaintext only when cluster_plaintext is on.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../../shared/config.js';

type ClusterTlsConfig = Pick<
  Config,
  'cluster_mtls' | 'cluster_cert' | 'cluster_cert_key' | 'cluster_ca_cert' | 'cluster_server_name' | 'cluster_plaintext'
>;

function readPem(file: string | null, setting: string): Buffer {
  if (!file) throw new Error(`${setting} is required to connect to the control plane (or set cluster_plaintext = on for development only)`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${setting} ${file}: ${(err as Error).message}`);
  }
}

export function clientSecurity(config: ClusterTlsConfig): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (config.cluster_plaintext) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const cert = readPem(config.cluster_cert, 'cluster_cert');
  const key = readPem(config.cluster_cert_key, 'cluster_cert_key');
  const options: grpc.ChannelOptions = config.cluster_server_name ? { 'grpc.ssl_target_name_override': config.cluster_server_name } : {};
  if (config.cluster_mtls === 'shared') {
    const x509 = new X509Certificate(cert);
    const ours = x509.fingerprint256;
    // the control plane presents this same certificate: its CN is the name to send (not an IP)
    const cn = /^CN=(.+)$/m.exec(x509.subject)?.[1];
    if (!config.cluster_server_name && cn) options['grpc.ssl_target_name_override'] = cn;
    return {
      credentials: grpc.credentials.createSsl(cert, key, cert, {
        checkServerIdentity: (_host, peer) =>
          peer.fingerprint256 === ours ? undefined : new Error('the control plane does not present the cluster certificate'),
      }),
      options,
    };
  }
  const ca = readPem(config.cluster_ca_cert, 'cluster_ca_cert');
  return { credentials: grpc.credentials.createSsl(ca, key, cert), options };
}
