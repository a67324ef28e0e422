// Reads docker-compose.yml, the Dockerfile and deploy/haproxy.cfg the way Compose and HAProxy
// would, for the tests in test/deploy (there is no Docker engine to ask).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig, type Config } from '../../shared/config.js';
import { ROOT } from '../helpers/processes.js';

export type Service = Record<string, any>;

export const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks?: Record<string, any>;
  volumes?: Record<string, unknown>;
};
export const services = compose.services;
export const haproxyCfg = readFileSync(join(ROOT, 'deploy', 'haproxy.cfg'), 'utf8');

/** What a user puts in .env beside docker-compose.yml (README). */
export const DOT_ENV: Record<string, string> = { SILVERBACK_ADMIN_TOKENS: `rw:${'s'.repeat(32)}` };

/** Compose interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (required). */
export function interpolate(value: string, vars: Record<string, string> = DOT_ENV): string {
  return value.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string) => {
    const set = vars[name];
    if (op?.endsWith('?') && !set) throw new Error(`required variable ${name} is missing a value: ${arg}`);
    return set || (op?.endsWith('-') ? arg : '');
  });
}

export function environmentOf(service: Service, vars: Record<string, string> = DOT_ENV): Record<string, string> {
  const env = service.environment ?? {};
  const entries: Array<[string, string]> = Array.isArray(env)
    ? env.map((line: string) => {
        const eq = line.indexOf('=');
        return [line.slice(0, eq), line.slice(eq + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, vars)]));
}

/** ENV of the Dockerfile's final stage: what every Silverback container starts with. */
export function dockerfileEnv(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const stages = text.split(/^FROM\s/m);
  const env: Record<string, string> = {};
  for (const line of stages[stages.length - 1]!.split('\n')) {
    const m = /^\s*ENV\s+(.*)$/.exec(line);
    if (!m) continue;
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

export const isSilverback = (s: Service) => s.image === 'silverback:local';

/** The configuration the container's `silverback start` would load (no config file in the image). */
export function configOf(name: string): Config {
  return loadConfig({ env: { ...dockerfileEnv(), ...environmentOf(services[name]!) }, cwd: '/app' });
}

export function durationSeconds(value: string): number {
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms|us)/g)) {
    total += Number(n) * { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[unit as 'h' | 'm' | 's' | 'ms' | 'us'];
  }
  return total;
}

/** haproxy.cfg → sections (e.g. "backend data_planes") → their directive lines, comments removed. */
export function haproxySections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      current = [];
      sections.set(line.trim().replace(/\s+/g, ' '), current);
    } else current?.push(line.trim().replace(/\s+/g, ' '));
  }
  return sections;
}

