// `silverback cert gen`: a self-signed certificate and key for cluster mTLS in "shared" mode
// (the control plane and every data plane use the same pair). Node cannot create X.509
// certificates by itself, so this uses the openssl command.
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
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

/** Writes cert and key (mode 0600); throws with a clear message when openssl is missing or fails. */
export function generateClusterCert(o: CertGenOptions): { cert: string; key: string } {
  const cert = resolve(o.cert);
  const key = resolve(o.key);
  if (!o.force) {
    for (const f of [cert, key]) if (existsSync(f)) throw new Error(`${f} already exists (use --force to overwrite)`);
  }
  if (!Number.isInteger(o.days) || o.days < 1) throw new Error(`invalid --days "${o.days}"`);
  if (!/^[\w.*-]+$/.test(o.commonName)) throw new Error(`invalid common name "${o.commonName}"`);
  const san = [`DNS:${o.commonName}`, 'DNS:localhost', 'IP:127.0.0.1', ...(o.altNames ?? [])].join(',');
  const work = mkdtempSync(join(tmpdir(), 'sb-cert-'));
  try {
    const args = [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'),
      '-days', String(o.days), '-subj', `/CN=${o.commonName}`,
      '-addext', `subjectAltName=${san}`,
    ];
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('the openssl command is required for `cert gen` (apt-get install openssl), or provide your own cluster_cert/cluster_cert_key');
    }
    if (result.status !== 0) throw new Error(`openssl failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ')}`);
    for (const [from, to] of [['cert.pem', cert], ['key.pem', key]] as const) {
      writeFileSync(to, readFileSync(join(work, from)), { mode: 0o600 });
      chmodSync(to, 0o600);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { cert, key };
}

export function registerCertCommand(program: Command, deps: CliDeps): void {
  const cert = program.command('cert').description('cluster certificates');
  cert
    .command('gen')
    .description('generate a self-signed cluster certificate and key (cluster_mtls = shared)')
    .option('--cert <file>', 'certificate output', 'cluster.crt')
    .option('--key <file>', 'private key output', 'cluster.key')
    .option('--cn <name>', 'common name', 'silverback_cluster')
    .option('--days <n>', 'validity in days', '1095')
    .option('--san <entry...>', 'extra subjectAltName entries (DNS:name or IP:addr)')
    .option('-f, --force', 'overwrite existing files')
    .action((opts: { cert: string; key: string; cn: string; days: string; san?: string[]; force?: boolean }) => {
      try {
        const out = generateClusterCert({
          cert: opts.cert,
          key: opts.key,
          commonName: opts.cn,
          days: Number(opts.days),
          altNames: opts.san,
          force: opts.force,
        });
        process.stdout.write(`wrote ${out.cert} and ${out.key} (mode 0600)\n`);
      } catch (err) {
        deps.fail((err as Error).message);
      }
    });
}
