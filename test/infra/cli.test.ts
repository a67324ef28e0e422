import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/processes.js';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SILVERBACK_')) clean[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('silverback CLI', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const r = await cli(['version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('rejects invalid and unknown settings with one line on stderr and exit 1', async () => {
    const bad = await cli(['start'], { SILVERBACK_PG_PORT: 'abc' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'Error: invalid configuration: invalid value for setting "pg_port" (from environment variable SILVERBACK_PG_PORT): expected a number, got "abc"\n',
    );
    expect(bad.stdout).toBe('');
    const unknown = await cli(['start'], { SILVERBACK_ADMIN_LISTN: '127.0.0.1:1' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('unknown setting "admin_listn"');
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'role = boss\n');
    const fromFile = await cli(['start', '--conf', conf]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toContain(`invalid value for setting "role" (from ${conf})`);
  });

  it('check validates a configuration file and prints it with secrets redacted', async () => {
    const conf = join(dir, 'ok.conf');
    writeFileSync(conf, 'pg_password = s3cret\nrole = control_plane\n');
    const r = await cli(['check', '--conf', conf]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"role": "control_plane"');
    expect(r.stdout).toContain('"pg_password": "******"');
    expect(r.stdout).not.toContain('s3cret');
    expect(r.stdout).toContain('configuration is valid');
  });

  it('config validate checks a declarative file: counts when valid, every problem and exit 1 when not', async () => {
    const ok = join(dir, 'kong.yml');
    writeFileSync(ok, '_format_version: "3.0"\nservices:\n  - name: echo\n    url: http://127.0.0.1:9\n    routes:\n      - name: r1\n        paths: [/echo]\n');
    const good = await cli(['config', 'validate', ok]);
    expect(good).toMatchObject({ code: 0, stdout: `${ok} is valid (1 services, 1 routes)\n` });

    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, '_format_version: "3.0"\nservices:\n  - name: echo\n    url: nope://x\n    routes:\n      - name: r1\n        paths: [echo]\n');
    const r = await cli(['config', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('services[1] protocol: expected one of:');
    expect(r.stderr).toContain('services[1].routes[1] paths[1]: should start with: /');
    expect(r.stderr.trim().split('\n').pop()).toBe(`Error: ${bad} is not a valid declarative configuration`);
  });

  it('cert gen writes a 0600 certificate and key that work for mutual TLS', async () => {
    const r = await cli(['cert', 'gen']);
    expect(r.code).toBe(0);
    const certFile = join(dir, 'cluster.crt');
    const keyFile = join(dir, 'cluster.key');
    expect(statSync(certFile).mode & 0o777).toBe(0o600);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const cert = readFileSync(certFile);
    const key = readFileSync(keyFile);
    expect(cert.toString()).toContain('BEGIN CERTIFICATE');

    const again = await cli(['cert', 'gen']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists \(use --force to overwrite\)/);

    const server = createTlsServer({ cert, key, ca: [cert], requestCert: true, rejectUnauthorized: true }, (s) => s.end('hi'));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const port = (server.address() as { port: number }).port;
      const text = await new Promise<string>((res, rej) => {
        const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, cert, key, ca: [cert], servername: 'silverback_cluster' }, () => {
          let data = '';
          socket.on('data', (d) => (data += d));
          socket.on('end', () => res(data));
        });
        socket.on('error', rej);
      });
      expect(text).toBe('hi');
    } finally {
      server.close();
    }
  });

  it('health fails with exit 1 when nothing answers and passes when the listeners answer', async () => {
    const down = await cli(['health', '--role', 'data_plane'], { SILVERBACK_STATUS_LISTEN: '127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^FAIL status http:\/\/127\.0\.0\.1:1\/status/);
    expect(down.stderr).toBe('Error: silverback is not healthy\n');

    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(req.url!);
      res.end('{}');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const port = (server.address() as { port: number }).port;
      const up = await cli(['health', '--ready'], { SILVERBACK_STATUS_LISTEN: `127.0.0.1:${port}`, SILVERBACK_ADMIN_LISTEN: `127.0.0.1:${port}` });
      expect(up.code).toBe(0);
      expect(up.stdout).toContain('silverback is healthy');
      expect(seen.sort()).toEqual(['/status', '/status/ready']);
    } finally {
      server.close();
    }
  });
});
