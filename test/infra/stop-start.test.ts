// However a node stops — SIGTERM to its whole process group (systemd, `kill -TERM -<pgid>`), SIGINT,
// a deliberate second signal, a fatal error at start, SIGKILL — no PostgreSQL server of its
// embedded data folder is left running (SIGKILL: the next start stops the orphan and says so), and
// the next start on the same prefix works with the data intact.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDataDir, runningPostmaster } from '../../control-plane/embedded-db.js';
import { freePort, removePrefix, startSilverback, type SilverbackProcess, type StartOptions } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';

const prefix = mkdtempSync(join(tmpdir(), 'sb-stop-start-')); // 0700
let upstream: Awaited<ReturnType<typeof startUpstream>>;

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream?.close();
  await removePrefix(prefix);
});

/** Postmasters whose command line names the data folder (`postgres -D <dir> ...`). */
function postmastersOf(dataDir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd.includes(dataDir) && cmd.some((a) => a.endsWith('/postgres'))) found.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

function expectNoPostgres(): void {
  const dataDir = embeddedDataDir(prefix);
  expect(runningPostmaster(dataDir)).toBeNull();
  expect(postmastersOf(dataDir)).toEqual([]);
}

function start(extra: StartOptions = {}): Promise<SilverbackProcess> {
  return startSilverback({ prefix, timeoutMs: 90_000, ...extra });
}

async function post(node: SilverbackProcess, path: string, body: string): Promise<number> {
  const res = await fetch(`${node.adminUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function expectServiceKept(node: SilverbackProcess, name: string): Promise<void> {
  const res = await fetch(`${node.adminUrl}/services/${name}`);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { name: string }).name).toBe(name);
}

describe('stopping a node stops its embedded PostgreSQL', () => {
  it('SIGTERM to the process group of `npm start` (npm forwards it: a duplicate) is one graceful stop', async () => {
    const node = await start({ command: ['npm', 'start', '--silent'], detached: true });
    expect(await post(node, '/services', `name=first&url=${upstream.url}`)).toBe(201);
    expect(postmastersOf(embeddedDataDir(prefix))).toHaveLength(1);
    node.signal('SIGTERM', true);
    expect(await node.waitExit(30_000)).not.toBeNull(); // npm and the node under it
    expect(node.logs()).not.toContain('second signal');
    expect(node.logs()).toContain('embedded PostgreSQL stopped');
    expect(node.logLines().at(-1)?.msg).toBe('stopped');
    expectNoPostgres();
  }, 150_000);

  it('SIGINT stops it; the next start has the data', async () => {
    const node = await start();
    await expectServiceKept(node, 'first');
    expect(await post(node, '/services', `name=second&url=${upstream.url}`)).toBe(201);
    expect(await node.stop('SIGINT', 30_000)).toBe(0);
    expectNoPostgres();
  }, 150_000);

  it('a deliberate second signal while stopping exits at once and still stops PostgreSQL', async () => {
    const node = await start({ env: { SILVERBACK_DRAIN_TIMEOUT: '20000' } });
    expect(await post(node, '/services', `name=slow&url=${upstream.url}`)).toBe(201);
    expect(await post(node, '/services/slow/routes', 'paths[]=/slow')).toBe(201);
    // a request in flight keeps the graceful stop waiting
    const proxied = await waitForRoute(node, '/slow/request');
    expect(proxied).toBe(200);
    const inFlight = fetch(`${node.proxyUrl}/slow/delay/15000`).catch(() => null);
    await new Promise((r) => setTimeout(r, 200));
    node.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    expect(node.exited()).toBe(false);
    const t0 = Date.now();
    node.signal('SIGTERM');
    expect(await node.waitExit(10_000)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(node.logs()).toContain('second signal: exiting now');
    expectNoPostgres();
    await inFlight;

    const again = await start();
    await expectServiceKept(again, 'second');
    expect(await again.stop()).toBe(0);
    expectNoPostgres();
  }, 200_000);

  it('a fatal error at start (Admin API port taken) stops the database it had started', async () => {
    const port = await freePort();
    const blocker: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const failed = start({ env: { SILVERBACK_ADMIN_LISTEN: `127.0.0.1:${port}` }, timeoutMs: 60_000 });
      await expect(failed).rejects.toThrow(/exited \(code 1/);
      // one line on stderr that says what to do
      await expect(failed).rejects.toThrow(
        `Error: start failed: 127.0.0.1:${port} is already in use: stop what listens there, or choose another port`,
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    expectNoPostgres();
  }, 150_000);

  it('after SIGKILL the next start stops the orphan, says so once, and keeps the data', async () => {
    const node = await start();
    await node.kill();
    expect(postmastersOf(embeddedDataDir(prefix))).toHaveLength(1); // nobody could stop it
    const next = await start();
    const orphanLines = next.logLines().filter((l) => /orphaned embedded PostgreSQL/.test(String(l.msg)));
    expect(orphanLines).toHaveLength(1);
    await expectServiceKept(next, 'first');
    expect(await next.stop()).toBe(0);
    expectNoPostgres();
  }, 200_000);
});

async function waitForRoute(node: SilverbackProcess, path: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${node.proxyUrl}${path}`);
    await res.arrayBuffer();
    if (res.status !== 404 || Date.now() > deadline) return res.status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

