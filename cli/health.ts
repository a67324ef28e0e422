// `silverback health`: asks this node's own listeners whether it is up (for container health checks).
import type { Command } from 'commander';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseListen, type Config } from '../shared/config.js';
import type { CliDeps } from './context.js';

interface Probe {
  name: string;
  url: string;
  headers?: Record<string, string>;
}

/** The Admin API asks for a token once admin_tokens is set; any configured one may read /status. */
function adminAuth(config: Config): Record<string, string> | undefined {
  const first = config.admin_tokens[0];
  if (!first) return undefined;
  return { authorization: `Bearer ${first.replace(/^(ro|rw|read-only|read-write):/, '')}` };
}

export function healthProbes(config: Config, ready: boolean): Probe[] {
  const probes: Probe[] = [];
  const first = (value: string) => {
    const listeners = parseListen(value);
    const l = listeners.find((x) => !x.ssl) ?? listeners[0];
    if (!l) return null;
    const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
    return `${l.ssl ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${l.port}`;
  };
  if (config.role !== 'data_plane') {
    const base = first(config.admin_listen);
    if (base) probes.push({ name: 'admin', url: `${base}/status`, headers: adminAuth(config) });
  }
  if (config.role !== 'control_plane') {
    const base = first(config.status_listen);
    if (base) probes.push({ name: 'status', url: `${base}${ready ? '/status/ready' : '/status'}` });
  }
  return probes;
}

function probe(url: string, timeoutMs: number, headers?: Record<string, string>): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(u, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false, agent: false, headers }, (res) => {
      res.resume();
      const ok = (res.statusCode ?? 500) < 300;
      resolve({ ok, detail: `HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, detail: err.message }));
    req.end();
  });
}

export function registerHealthCommand(program: Command, deps: CliDeps): void {
  program
    .command('health')
    .description("check that this node's listeners answer (exit 0 healthy, 1 not)")
    .option('-c, --conf <file>', 'configuration file (also SILVERBACK_CONF)')
    .option('--role <role>', 'role to check (default: from the configuration)')
    .option('--ready', 'for data planes, require /status/ready (a configuration is loaded)')
    .option('--timeout <ms>', 'per-probe timeout', '3000')
    .action(async (opts: { conf?: string; role?: string; ready?: boolean; timeout: string }) => {
      const config = deps.loadConfig({ conf: opts.conf, overrides: { role: opts.role } });
      const probes = healthProbes(config, Boolean(opts.ready));
      if (probes.length === 0) deps.fail('nothing to check: every listener of this role is off');
      let healthy = true;
      for (const p of probes) {
        const result = await probe(p.url, Number(opts.timeout) || 3000, p.headers);
        healthy &&= result.ok;
        process.stdout.write(`${result.ok ? 'ok  ' : 'FAIL'} ${p.name} ${p.url} (${result.detail})\n`);
      }
      if (!healthy) deps.fail('silverback is not healthy');
      process.stdout.write('silverback is healthy\n');
    });
}
