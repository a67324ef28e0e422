// `silverback cert gen`: certificates for cluster mTLS, made with the openssl command (Node cannot
// create X.509 certificates by itself). Default: one self-signed pair for cluster_mtls = shared
// (the control plane and every data plane use the same pair). --pki: a CA (created unless given)
// and a certificate signed by it, for cluster_mtls = pki (run once per node with its own --cn).
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CliDeps } from './context.js';

export interface CertGenOptions {
  cert: string;
  key: string;
  commonName: string;
  days: number;
  /** Extra subjectAltName entries, e.g. ["DNS:cp.internal", "IP:10.0.0.5"]. */
  altNames?: string[];
  force?: boolean;
}

export interface SignedCertOptions extends CertGenOptions {
  caCert: string;
  caKey: string;
}

function checkOptions(o: Pick<CertGenOptions, 'days' | 'commonName'>): void {
  if (!Number.isInteger(o.days) || o.days < 1) throw new Error(`invalid --days "${o.days}"`);
  if (!/^[\w.*-]+$/.test(o.commonName)) throw new Error(`invalid common name "${o.commonName}"`);
}

function checkTargets(files: string[], force?: boolean): void {
  if (force) return;
  for (const f of files) if (existsSync(f)) throw new Error(`${f} already exists (use --force to overwrite)`);
}

function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('the openssl command is required for `cert gen` (apt-get install openssl), or provide your own cluster_cert/cluster_cert_key');
  }
  if (result.status !== 0) throw new Error(`openssl failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ')}`);
}

/** Runs `make(workDir)` and copies its cert.pem/key.pem to the targets with mode 0600. */
function produce(cert: string, key: string, make: (work: string) => void): { cert: string; key: string } {
  const work = mkdtempSync(join(tmpdir(), 'sb-cert-'));
  try {
    make(work);
    for (const [from, to] of [['cert.pem', cert], ['key.pem', key]] as const) {
      writeFileSync(to, readFileSync(join(work, from)), { mode: 0o600 });
      chmodSync(to, 0o600);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { cert, key };
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function sanOf(o: CertGenOptions): string {
  return [`DNS:${o.commonName}`, 'DNS:localhost', 'IP:127.0.0.1', ...(o.altNames ?? [])].join(',');
}

/** A self-signed certificate and key (mode 0600) with the given X.509 extensions. */
function selfSigned(o: Omit<CertGenOptions, 'altNames'>, extensions: string[]): { cert: string; key: string } {
  const cert = resolve(o.cert);
  const key = resolve(o.key);
  checkTargets([cert, key], o.force);
  checkOptions(o);
  return produce(cert, key, (work) =>
    openssl([
      'req', '-x509', ...NEW_KEY,
      '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'),
      '-days', String(o.days), '-subj', `/CN=${o.commonName}`,
      ...extensions.flatMap((e) => ['-addext', e]),
    ]),
  );
}

/** A self-signed certificate and key (mode 0600) for cluster_mtls = shared. */
export function generateClusterCert(o: CertGenOptions): { cert: string; key: string } {
  return selfSigned(o, [`subjectAltName=${sanOf(o)}`]);
}

/** A CA certificate and key (mode 0600) for cluster_mtls = pki (cluster_ca_cert). */
export function generateCa(o: Omit<CertGenOptions, 'altNames'>): { cert: string; key: string } {
  return selfSigned(o, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** A certificate signed by the CA, usable as TLS server and client (cluster_cert in pki mode). */
export function generateSignedCert(o: SignedCertOptions): { cert: string; key: string } {
  const cert = resolve(o.cert);
  const key = resolve(o.key);
  checkTargets([cert, key], o.force);
  checkOptions(o);
  for (const f of [o.caCert, o.caKey]) if (!existsSync(f)) throw new Error(`${resolve(f)} does not exist`);
  return produce(cert, key, (work) => {
    const ext = join(work, 'ext.cnf');
    writeFileSync(
      ext,
      [
        `subjectAltName=${sanOf(o)}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        '',
      ].join('\n'),
    );
    openssl(['req', '-new', ...NEW_KEY, '-keyout', join(work, 'key.pem'), '-out', join(work, 'csr.pem'), '-subj', `/CN=${o.commonName}`]);
    openssl([
      'x509', '-req', '-in', join(work, 'csr.pem'),
      '-CA', resolve(o.caCert), '-CAkey', resolve(o.caKey), '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', String(o.days), '-extfile', ext, '-out', join(work, 'cert.pem'),
    ]);
  });
}

interface CertGenFlags {
  cert: string;
  key: string;
  cn: string;
  days: string;
  san?: string[];
  force?: boolean;
  pki?: boolean;
  caCert: string;
  caKey: string;
  caCn: string;
}

export function registerCertCommand(program: Command, deps: CliDeps): void {
  const cert = program.command('cert').description('cluster certificates');
  cert
    .command('gen')
    .description('generate cluster certificates: a self-signed pair (cluster_mtls = shared), or with --pki a CA and a certificate it signs')
    .option('--cert <file>', 'certificate output', 'cluster.crt')
    .option('--key <file>', 'private key output', 'cluster.key')
    .option('--cn <name>', 'common name', 'silverback_cluster')
    .option('--days <n>', 'validity in days', '1095')
    .option('--san <entry...>', 'extra subjectAltName entries (DNS:name or IP:addr)')
    .option('--pki', 'sign with a CA (created when --ca-cert/--ca-key do not exist yet)')
    .option('--ca-cert <file>', 'CA certificate (--pki)', 'cluster-ca.crt')
    .option('--ca-key <file>', 'CA private key (--pki)', 'cluster-ca.key')
    .option('--ca-cn <name>', 'CA common name when creating it (--pki)', 'silverback_cluster_ca')
    .option('-f, --force', 'overwrite existing files')
    .action((opts: CertGenFlags) => {
      try {
        const days = Number(opts.days);
        const written: string[] = [];
        if (opts.pki) {
          const caExists = existsSync(opts.caCert) && existsSync(opts.caKey);
          if (!caExists) {
            const ca = generateCa({ cert: opts.caCert, key: opts.caKey, commonName: opts.caCn, days, force: opts.force });
            written.push(ca.cert, ca.key);
          }
          const out = generateSignedCert({
            cert: opts.cert,
            key: opts.key,
            commonName: opts.cn,
            days,
            altNames: opts.san,
            force: opts.force,
            caCert: opts.caCert,
            caKey: opts.caKey,
          });
          written.push(out.cert, out.key);
        } else {
          const out = generateClusterCert({ cert: opts.cert, key: opts.key, commonName: opts.cn, days, altNames: opts.san, force: opts.force });
          written.push(out.cert, out.key);
        }
        process.stdout.write(`wrote ${written.join(', ')} (mode 0600)\n`);
      } catch (err) {
        deps.fail((err as Error).message);
      }
    });
}
