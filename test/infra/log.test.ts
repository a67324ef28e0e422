import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../shared/log.js';
import { loadConfig } from '../../shared/config.js';

function capture() {
  const lines: any[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with level labels, time and bindings', () => {
    const { lines, destination } = capture();
    const log = createLogger('info', { component: 'test' }, { destination });
    log.debug('hidden');
    log.info({ n: 1 }, 'hello');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'hello', n: 1, component: 'test', pid: process.pid });
    expect(typeof lines[0].time).toBe('string');
  });

  it('takes the level from a config', () => {
    const { lines, destination } = capture();
    const log = createLogger(loadConfig({ env: { SILVERBACK_LOG_LEVEL: 'debug' } }), {}, { destination });
    log.debug('shown');
    expect(lines[0]).toMatchObject({ level: 'debug', msg: 'shown' });
  });

  it('redacts secrets at several depths', () => {
    const { lines, destination } = capture();
    const log = createLogger('info', {}, { destination });
    const config = loadConfig({ env: { SILVERBACK_PG_PASSWORD: 'hunter2' } });
    log.info({
      password: 'p1',
      config: { pg_password: config.pg_password, cluster_cert_key: '/k.pem', pg_user: 'u' },
      req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k1', host: 'h' } },
      credential: { key: 'secret-key' },
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ['p1', 'hunter2', '/k.pem', 'Bearer abc', 'k1', 'secret-key']) expect(text).not.toContain(secret);
    expect(lines[0].config.pg_user).toBe('u');
    expect(lines[0].req.headers.host).toBe('h');
    expect(lines[0].req.headers.authorization).toBe('******');
  });
});
