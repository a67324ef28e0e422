import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, redactConfig, parseListen, ConfigError, SETTINGS, defaultConfig } from '../../shared/config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig defaults', () => {
  it('gives Kong-like defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.admin_listen).toBe('127.0.0.1:8001');
    expect(c.proxy_listen).toEqual(['0.0.0.0:8000']);
    expect(c.status_listen).toBe('127.0.0.1:8100');
    expect(c.cluster_listen).toBe('127.0.0.1:8005');
    expect(c.role).toBe('traditional');
    expect(c.database).toBe('embedded');
    expect(c.pg_port).toBe(5432);
    expect(c.pg_password).toBeNull();
    expect(c.pg_ssl).toBe(false);
    expect(c.prefix).toBe(resolve('./.silverback'));
    expect(c.plugins).toEqual(['bundled']);
    expect(c.migrations_auto).toBe(true);
    expect(c.node_id).toBeNull();
    expect(c.keepalive_timeout).toBe(75000);
    expect(c.upstream_keepalive_pool_size).toBe(128);
    expect(c.admin_tokens).toEqual([]);
    expect(c.real_ip_header).toBe('X-Real-IP');
    expect(Object.keys(c).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  it('does not share default arrays between loads', () => {
    const a = defaultConfig();
    a.plugins.push('x');
    expect(defaultConfig().plugins).toEqual(['bundled']);
  });
});

describe('sources and precedence', () => {
  it('reads kong.conf-style files with comments and quotes', () => {
    const path = file(
      'a.conf',
      [
        '# a comment',
        'pg_port = 6543   # trailing comment',
        'pg_ssl = on',
        "pg_password = 'p\\#ss'",
        'proxy_listen = 0.0.0.0:9000, 0.0.0.0:9443 ssl',
        'role = control_plane',
        'admin_tokens =',
        '',
      ].join('\n'),
    );
    const c = loadConfig({ file: path, env: {} });
    expect(c.pg_port).toBe(6543);
    expect(c.pg_ssl).toBe(true);
    expect(c.pg_password).toBe('p#ss');
    expect(c.proxy_listen).toEqual(['0.0.0.0:9000', '0.0.0.0:9443 ssl']);
    expect(c.role).toBe('control_plane');
    expect(c.admin_tokens).toEqual([]);
  });

  it('reads YAML and JSON files', () => {
    const y = file('a.yml', 'pg_port: 7000\nplugins: [bundled, my-plugin]\npg_ssl: true\n');
    expect(loadConfig({ file: y, env: {} })).toMatchObject({ pg_port: 7000, plugins: ['bundled', 'my-plugin'], pg_ssl: true });
    const j = file('a.json', JSON.stringify({ log_level: 'debug', trusted_ips: ['10.0.0.0/8'] }));
    expect(loadConfig({ file: j, env: {} })).toMatchObject({ log_level: 'debug', trusted_ips: ['10.0.0.0/8'] });
  });

  it('env overrides the file, overrides override env; SILVERBACK_CONF names the file', () => {
    const path = file('b.conf', 'pg_port = 6000\npg_host = db.file\nlog_level = warn\n');
    const env = { SILVERBACK_CONF: path, SILVERBACK_PG_PORT: '6001', SILVERBACK_LOG_LEVEL: 'debug', OTHER: 'x' };
    const c = loadConfig({ env, overrides: { log_level: 'error' } });
    expect(c.pg_host).toBe('db.file');
    expect(c.pg_port).toBe(6001);
    expect(c.log_level).toBe('error');
  });

  it('parses list env vars and resolves paths against cwd', () => {
    const c = loadConfig({
      env: { SILVERBACK_TRUSTED_IPS: '10.0.0.0/8, 192.168.0.1', SILVERBACK_PREFIX: 'var/sb', SILVERBACK_CLUSTER_CERT: 'c.crt' },
      cwd: '/opt/x',
    });
    expect(c.trusted_ips).toEqual(['10.0.0.0/8', '192.168.0.1']);
    expect(c.prefix).toBe('/opt/x/var/sb');
    expect(c.cluster_cert).toBe('/opt/x/c.crt');
  });

  it('accepts role aliases used by the CLI', () => {
    expect(loadConfig({ env: { SILVERBACK_ROLE: 'data-plane' } }).role).toBe('data_plane');
    expect(loadConfig({ env: {}, overrides: { role: 'all' } }).role).toBe('traditional');
  });
});

describe('rejections', () => {
  const bad = (fn: () => unknown, re: RegExp) => {
    expect(fn).toThrow(ConfigError);
    expect(fn).toThrow(re);
  };
  it('rejects unknown settings in files and env', () => {
    bad(() => loadConfig({ file: file('u.conf', 'pg_prot = 5\n'), env: {} }), /unknown setting "pg_prot"/);
    bad(() => loadConfig({ file: file('u.yml', 'nope: 1\n'), env: {} }), /unknown setting "nope"/);
    bad(() => loadConfig({ env: { SILVERBACK_PG_PROT: '5' } }), /unknown setting "pg_prot".*SILVERBACK_PG_PROT/);
  });
  it('ignores Kubernetes service-link variables of a Service named silverback', () => {
    const env = {
      SILVERBACK_SERVICE_HOST: '10.0.0.1',
      SILVERBACK_SERVICE_PORT: '8000',
      SILVERBACK_SERVICE_PORT_PROXY: '8000',
      SILVERBACK_PORT: 'tcp://10.0.0.1:8000',
      SILVERBACK_PORT_8000_TCP: 'tcp://10.0.0.1:8000',
      SILVERBACK_PORT_8000_TCP_ADDR: '10.0.0.1',
    };
    expect(loadConfig({ env }).pg_port).toBe(5432);
  });
  it('rejects invalid values naming the setting', () => {
    bad(() => loadConfig({ env: { SILVERBACK_PG_PORT: 'abc' } }), /"pg_port".*expected a number/);
    bad(() => loadConfig({ env: { SILVERBACK_PG_PORT: '70000' } }), /"pg_port".*at most 65535/);
    bad(() => loadConfig({ env: { SILVERBACK_PG_SSL: 'maybe' } }), /"pg_ssl"/);
    bad(() => loadConfig({ env: { SILVERBACK_ROLE: 'boss' } }), /"role".*traditional, control_plane, data_plane/);
    bad(() => loadConfig({ env: { SILVERBACK_LOG_LEVEL: 'loud' } }), /"log_level"/);
    bad(() => loadConfig({ env: { SILVERBACK_ADMIN_LISTEN: 'localhost' } }), /"admin_listen".*host:port/);
    bad(() => loadConfig({ env: { SILVERBACK_PROXY_LISTEN: '0.0.0.0:8000, nonsense ssl' } }), /"proxy_listen"/);
    bad(() => loadConfig({ env: { SILVERBACK_PG_HOST: '' } }), /"pg_host".*required/);
    bad(() => loadConfig({ file: file('l.conf', 'just words\n'), env: {} }), /l\.conf:1/);
    bad(() => loadConfig({ file: join(dir, 'missing.conf'), env: {} }), /cannot read configuration file/);
  });
});

describe('redaction and listeners', () => {
  it('redacts secrets only', () => {
    const c = loadConfig({ env: { SILVERBACK_PG_PASSWORD: 'hunter2', SILVERBACK_ADMIN_TOKENS: 'a,b' } });
    const r = redactConfig(c);
    expect(r.pg_password).toBe('******');
    expect(r.admin_tokens).toEqual(['******', '******']);
    expect(r.cluster_cert_key).toBeNull();
    expect(r.pg_user).toBe('silverback');
    expect(JSON.stringify(r)).not.toContain('hunter2');
    expect(c.pg_password).toBe('hunter2');
  });

  it('parses listen values', () => {
    expect(parseListen('0.0.0.0:8443 ssl')).toEqual([{ host: '0.0.0.0', port: 8443, ssl: true, flags: [] }]);
    expect(parseListen(['0.0.0.0:8000', '0.0.0.0:8443 ssl http2'])).toEqual([
      { host: '0.0.0.0', port: 8000, ssl: false, flags: [] },
      { host: '0.0.0.0', port: 8443, ssl: true, flags: ['http2'] },
    ]);
    expect(parseListen('127.0.0.1:8001, [::1]:8444 ssl')).toEqual([
      { host: '127.0.0.1', port: 8001, ssl: false, flags: [] },
      { host: '::1', port: 8444, ssl: true, flags: [] },
    ]);
    expect(parseListen('off')).toEqual([]);
  });
});
