// Every log line is one JSON object with each key once (pino children re-adding `component`, calls
// passing a bound `node_id`, used to repeat keys: JSON log shippers reject or mangle such lines).
// Checked on a logger directly and on the stdout of a real traditional node doing real work.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { freePort, startSilverback, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/** Keys repeated inside one JSON object, at any depth ("a.b" paths). Throws on text that is not JSON. */
export function duplicateKeys(text: string): string[] {
  JSON.parse(text); // must be valid JSON in the first place
  const dups: string[] = [];
  // a stack of objects (their keys so far) and arrays (null)
  const stack: (Set<string> | null)[] = [];
  const path: string[] = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j + 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(raw) as string;
        if (top.has(key)) dups.push([...path.slice(0, stack.length - 1), key].join('.'));
        top.add(key);
        path[stack.length - 1] = key;
        expectKey = false;
      }
      continue;
    }
    if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') {
      stack.pop();
      path.length = Math.max(stack.length - 1, 0);
    } else if (c === ',') expectKey = stack[stack.length - 1] !== null;
    i++;
  }
  return dups;
}

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      cb();
    },
  });
  return { lines, destination };
}

describe('duplicateKeys (the checker itself)', () => {
  it('finds repeated keys at any depth and ignores keys inside strings and arrays', () => {
    expect(duplicateKeys('{"a":1,"b":{"c":1,"c":2},"a":3}')).toEqual(['b.c', 'a']);
    expect(duplicateKeys('{"a":"\\"a\\":1","l":[{"x":1},{"x":2}],"b":["a","a"]}')).toEqual([]);
  });
});

describe('logger', () => {
  it('a child re-binding a key replaces it (nearest wins), grandchildren too', () => {
    const { lines, destination } = capture();
    const root = createLogger('info', { node_id: 'n1', role: 'traditional' }, { destination });
    const cp = root.child({ component: 'control-plane' });
    const store = cp.child({ component: 'store' });
    store.child({ component: 'dao', extra: 1 }).info('hello');
    cp.info('from cp');
    for (const l of lines) expect(duplicateKeys(l)).toEqual([]);
    expect(JSON.parse(lines[0])).toMatchObject({ node_id: 'n1', role: 'traditional', component: 'dao', extra: 1, msg: 'hello', pid: process.pid });
    expect(JSON.parse(lines[1])).toMatchObject({ component: 'control-plane', msg: 'from cp' });
  });

  it('a call field colliding with a binding or with level/time/pid/msg is kept as log_<key>', () => {
    const { lines, destination } = capture();
    const log = createLogger('info', { node_id: 'cp-1' }, { destination }).child({ component: 'sync' });
    log.info({ node_id: 'dp-7', level: 3, time: 1, pid: 2, msg: 'inner', component: 'x', other: true }, 'outer');
    expect(duplicateKeys(lines[0])).toEqual([]);
    expect(JSON.parse(lines[0])).toMatchObject({
      node_id: 'cp-1', log_node_id: 'dp-7', component: 'sync', log_component: 'x', level: 'info', log_level: 3,
      log_time: 1, log_pid: 2, msg: 'outer', log_msg: 'inner', other: true,
    });
  });

  it('child level and redaction still apply', () => {
    const { lines, destination } = capture();
    const log = createLogger('warn', {}, { destination }).child({ component: 'a' });
    log.info('hidden');
    log.child({ component: 'b' }, { level: 'debug' }).debug({ password: 'p' }, 'shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ component: 'b', password: '******', msg: 'shown' });
  });
});

describe("a real node's stdout", () => {
  let db: TestDatabase;
  let up: Upstream;
  let node: SilverbackProcess;

  beforeAll(async () => {
    [db, up] = await Promise.all([createTestDatabase('logkeys'), startUpstream()]);
    // the in-process data plane dials cluster_control_plane (issue 9 §2 is fixed elsewhere): point it at ours
    const cluster = `127.0.0.1:${await freePort()}`;
    node = await startSilverback({ database: db, env: { SILVERBACK_LOG_LEVEL: 'debug', SILVERBACK_CLUSTER_LISTEN: cluster, SILVERBACK_CLUSTER_CONTROL_PLANE: cluster } });
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await up?.close();
    await db?.drop();
  });

  it('every line parses as JSON with each key once', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${node.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/services', { name: 'echo', url: up.url })).status).toBe(201);
    expect((await post('/services/echo/routes', { name: 'r', paths: ['/r'] })).status).toBe(201);
    // wait until the in-process data plane serves the route (sync logs on both sides)
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await fetch(`${node.proxyUrl}/r/request`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    expect((await fetch(`${node.proxyUrl}/nothing-here`)).status).toBe(404);
    await node.stop();

    const lines = node.logs().split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(5);
    const components = new Set<string>();
    for (const line of lines) {
      let dups: string[];
      try {
        dups = duplicateKeys(line);
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
      expect(dups, line).toEqual([]);
      const c = JSON.parse(line).component;
      if (typeof c === 'string') components.add(c);
    }
    // the nested children (proxy under data-plane, store/admin/sync under control-plane) did log
    expect(components.size).toBeGreaterThan(2);
  });
});
