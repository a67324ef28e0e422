// docker-compose.yml, the Dockerfile and deploy/haproxy.cfg checked without a Docker engine: the
// Compose schema (dclint), the topology, and that every Silverback container would start with a
// valid, consistent configuration (the real loadConfig, fed the environment each container gets).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV_PREFIX, isSetting, parseAddress, parseListen } from '../../shared/config.js';
import { assertAdminExposure } from '../../control-plane/admin/tokens.js';
import { ROOT } from '../helpers/processes.js';
import {
  compose,
  configOf,
  DOT_ENV,
  dockerfileEnv,
  durationSeconds,
  environmentOf,
  haproxyCfg,
  haproxySections,
  interpolate,
  isSilverback,
  services,
} from './compose-file.js';

const lbName = Object.keys(services).find((n) => /^haproxy:/.test(services[n]!.image ?? ''))!;

describe('docker-compose.yml topology', () => {
  it('has PostgreSQL, Redis, the certificate job, one control plane, the data planes and an HAProxy load balancer', () => {
    expect(Object.keys(services).sort()).toEqual(['certs', 'control-plane', 'data-plane', 'lb', 'postgres', 'redis']);
    expect(services.postgres!.image).toMatch(/^postgres:\d+/);
    expect(services.redis!.image).toMatch(/^redis:\d+/);
    expect(lbName).toBe('lb');
    expect(services.lb!.image).toMatch(/^haproxy:2\.\d+-alpine$/);
    expect(services['control-plane']!.deploy?.replicas ?? 1).toBe(1);
  });

  it('runs the data planes as one scalable service: replicas >= 2, no container name, no published port', () => {
    const dp = services['data-plane']!;
    expect(dp.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(dp).not.toHaveProperty('container_name');
    expect(dp).not.toHaveProperty('ports');
    for (const s of Object.values(services)) expect(s).not.toHaveProperty('container_name');
    // Drain-friendly: Compose waits longer than the node's own graceful stop (30 s) before SIGKILL.
    expect(durationSeconds(dp.stop_grace_period)).toBeGreaterThan(30);
    expect(dp.healthcheck.test).toEqual(['CMD', 'node', 'bin/silverback.js', 'health', '--ready']);
  });

  it('publishes the Admin API on loopback only and the proxy through the load balancer only', () => {
    expect(services['control-plane']!.ports).toEqual(['127.0.0.1:8001:8001']);
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p: string) => `${name} ${p}`));
    expect(published.sort()).toEqual(['control-plane 127.0.0.1:8001:8001', 'lb 0.0.0.0:8000:8000', 'lb 127.0.0.1:8404:8404']);
  });

  it('mounts deploy/haproxy.cfg where the official HAProxy image reads it', () => {
    expect(services.lb!.volumes).toContain('./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
  });

  it('starts the control plane after PostgreSQL is healthy and the certificate exists', () => {
    expect(services['control-plane']!.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      certs: { condition: 'service_completed_successfully' },
    });
    expect(services['data-plane']!.depends_on['control-plane']).toBeDefined();
  });

  it('builds one image from the Dockerfile for every Silverback container', () => {
    const silverbacks = Object.keys(services).filter((n) => isSilverback(services[n]!));
    expect(silverbacks.sort()).toEqual(['certs', 'control-plane', 'data-plane']);
    for (const n of silverbacks) expect(services[n]!.build).toBe('.');
  });
});

describe('Silverback settings in docker-compose.yml and the Dockerfile', () => {
  it('uses only SILVERBACK_* variables that are real settings', () => {
    const names = new Set<string>(Object.keys(dockerfileEnv()).filter((k) => k.startsWith(ENV_PREFIX)));
    for (const s of Object.values(services)) for (const k of Object.keys(environmentOf(s))) if (k.startsWith(ENV_PREFIX)) names.add(k);
    expect(names.size).toBeGreaterThan(10);
    const unknown = [...names].filter((k) => !isSetting(k.slice(ENV_PREFIX.length).toLowerCase()));
    expect(unknown).toEqual([]);
  });

  it('gives each Silverback container a configuration that loads', () => {
    for (const name of ['control-plane', 'data-plane']) expect(() => configOf(name)).not.toThrow();
  });

  it('configures the control plane with PostgreSQL and reachable cluster/admin listeners', () => {
    const cp = configOf('control-plane');
    expect(cp.role).toBe('control_plane');
    expect(cp.database).toBe('postgres');
    expect(cp.pg_host).toBe('postgres');
    const pg = services.postgres!.environment;
    expect([cp.pg_user, cp.pg_password, cp.pg_database]).toEqual([pg.POSTGRES_USER, interpolate(pg.POSTGRES_PASSWORD), pg.POSTGRES_DB]);
    // Listening on every interface of the container: other containers connect, the host port is loopback.
    expect(parseListen(cp.admin_listen)[0]).toMatchObject({ host: '0.0.0.0', port: 8001 });
    expect(parseListen(cp.cluster_listen)[0]).toMatchObject({ host: '0.0.0.0', port: 8005 });
  });

  it('requires Admin API tokens from .env: the control plane listens beyond loopback inside its container', () => {
    expect(() => environmentOf(services['control-plane']!, {})).toThrow(/required variable SILVERBACK_ADMIN_TOKENS is missing a value: set SILVERBACK_ADMIN_TOKENS=rw:/);
    const cp = configOf('control-plane');
    expect(cp.admin_tokens).toEqual([DOT_ENV.SILVERBACK_ADMIN_TOKENS]);
    expect(() => assertAdminExposure(cp)).not.toThrow();
    // Without them the control plane would refuse to start.
    expect(() => assertAdminExposure({ ...cp, admin_tokens: [] })).toThrow(/reachable beyond loopback/);
  });

  it('configures the data planes as DB-less nodes of the control-plane service', () => {
    const cp = configOf('control-plane');
    const dp = configOf('data-plane');
    expect(dp.role).toBe('data_plane');
    expect(dp.database).toBe('off');
    expect(dp.declarative_config).toBeNull();
    expect(parseAddress(dp.cluster_control_plane)).toEqual({ host: 'control-plane', port: parseListen(cp.cluster_listen)[0]!.port });
    expect(parseListen(dp.proxy_listen)).toEqual([{ host: '0.0.0.0', port: 8000, ssl: false, flags: [] }]);
    expect(parseListen(dp.status_listen)[0]).toMatchObject({ host: '0.0.0.0', port: 8100 });
  });

  it('shares one cluster certificate between the control plane and the data planes (mTLS, shared mode)', () => {
    const cp = configOf('control-plane');
    const dp = configOf('data-plane');
    for (const c of [cp, dp]) {
      expect(c.cluster_mtls).toBe('shared');
      expect(c.cluster_plaintext).toBe(false);
    }
    expect([dp.cluster_cert, dp.cluster_cert_key, dp.cluster_server_name]).toEqual([cp.cluster_cert, cp.cluster_cert_key, cp.cluster_server_name]);
    expect([cp.cluster_cert, cp.cluster_cert_key]).toEqual(['/certs/cluster.crt', '/certs/cluster.key']);
    // ... which the one-shot `certs` service creates in the volume both mount.
    const gen = services.certs!.command.join(' ');
    expect(gen).toContain(`cert gen --cert ${cp.cluster_cert} --key ${cp.cluster_cert_key}`);
    expect(services.certs!.volumes).toEqual(['certs:/certs']);
    for (const n of ['control-plane', 'data-plane']) expect(services[n]!.volumes).toEqual(['certs:/certs:ro']);
    expect(compose.volumes).toHaveProperty('certs');
  });

  it('lets the data planes trust the client address from the load balancer alone', () => {
    const dp = configOf('data-plane');
    const lbAddress = services.lb!.networks.default.ipv4_address;
    expect(dp.trusted_ips).toEqual([lbAddress]);
    expect(dp.real_ip_header).toBe('X-Real-IP');
    // The fixed address lies in the subnet but outside the range Docker hands out to the others.
    const ipam = compose.networks!.default.ipam.config[0];
    expect(ipam.subnet).toBe('172.30.0.0/24');
    expect(ipam.ip_range).toBe('172.30.0.128/25');
    expect(Number(lbAddress.split('.')[3])).toBeLessThan(128);
    expect(haproxySections(haproxyCfg).get('frontend proxy')).toContain('http-request set-header X-Real-IP %[src]');
  });
});

describe('deploy/haproxy.cfg', () => {
  const sections = haproxySections(haproxyCfg);

  it("resolves the data planes through Docker's DNS", () => {
    expect(sections.get('resolvers docker')).toContain('nameserver dns 127.0.0.11:53');
  });

  it('sends traffic to every data-plane replica that answers 200 on /status/ready (status port 8100)', () => {
    const backend = sections.get('backend data_planes')!;
    expect(backend).toContain('option httpchk GET /status/ready');
    expect(backend).toContain('http-check expect status 200');
    const template = backend.find((l) => l.startsWith('server-template '))!;
    const [, prefix, range, address, ...options] = template.split(' ');
    expect(prefix).toBe('dp');
    expect(range).toMatch(/^1-(\d+)$/);
    expect(Number(range!.split('-')[1])).toBeGreaterThanOrEqual(20);
    expect(address).toBe('data-plane:8000');
    const opts = options.join(' ');
    expect(opts).toMatch(/(^| )check( |$)/);
    expect(opts).toContain('port 8100');
    expect(opts).toContain('resolvers docker');
    expect(opts).toContain('init-addr none');
  });

  it('listens on the port docker-compose.yml publishes', () => {
    expect(sections.get('frontend proxy')).toContain('bind :8000');
    expect(sections.get('frontend proxy')).toContain('default_backend data_planes');
    expect(sections.get('frontend stats')).toContain('bind :8404');
    expect(sections.get('frontend stats')).toContain('monitor-uri /healthz');
    expect(services.lb!.healthcheck.test.join(' ')).toContain('http://127.0.0.1:8404/healthz');
  });

  it('closes idle client connections before the data planes do (keepalive_timeout)', () => {
    const defaults = sections.get('defaults')!;
    const keepAlive = defaults.find((l) => l.startsWith('timeout http-keep-alive '))!;
    expect(durationSeconds(keepAlive.split(' ')[2]!) * 1000).toBeLessThan(configOf('data-plane').keepalive_timeout);
  });
});

describe('Compose schema', () => {
  // Style rules are off; so is no-build-and-image: every Silverback service names the same image
  // and builds it, so `up` never tries to pull silverback:local from a registry.
  const DISABLED = [
    'service-keys-order',
    'services-alphabetical-order',
    'service-dependencies-alphabetical-order',
    'top-level-properties-order',
    'require-quotes-in-ports',
    'no-build-and-image',
  ];
  const dclint = (file: string) =>
    spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs'), file, '--max-warnings', '0', '--no-color', '--disable-rule', ...DISABLED],
      { cwd: ROOT, encoding: 'utf8' },
    );

  it('passes dclint (the Compose specification schema and its non-stylistic rules)', () => {
    const result = dclint(join(ROOT, 'docker-compose.yml'));
    expect(result.stdout + result.stderr).not.toMatch(/error|warning/);
    expect(result.status).toBe(0);
  });

  it('is a real check: a misspelt key fails it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-compose-'));
    try {
      const broken = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8').replace('stop_grace_period: 35s', 'stop_grace_periods: 35s');
      writeFileSync(join(dir, 'docker-compose.yml'), broken);
      const result = dclint(join(dir, 'docker-compose.yml'));
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('must NOT have additional properties');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
