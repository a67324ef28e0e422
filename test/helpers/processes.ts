// Spawns real `silverback start` processes (from dist/, built by global setup) on random loopback
// ports with a temporary prefix, and waits until their listeners answer.
import { afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { embeddedBinDir, embeddedDataDir, freePort, runningPostmaster, stopCluster } from '../../control-plane/embedded-db.js';
import { embeddedClusterRoot } from '../../control-plane/embedded-runtime.js';
import { generateClusterCert } from '../../cli/cert.js';

export { freePort };

export const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
export const BIN = join(ROOT, 'bin', 'silverback.js');

export type Listener = 'admin' | 'proxy' | 'status' | 'cluster';
export type RoleName = 'traditional' | 'control_plane' | 'data_plane';

export interface StartOptions {
  /** Extra environment (SILVERBACK_* settings); the parent's SILVERBACK_* variables are not inherited. */
  env?: Record<string, string | undefined>;
  /** Extra arguments after `start`, e.g. ['--role', 'data_plane']. */
  args?: string[];
  cwd?: string;
  /** Reuse a prefix (e.g. a data plane restarted on its cache); otherwise a temp dir removed by stop(). */
  prefix?: string;
  /** Point the control plane at this database (e.g. from createTestDatabase()); otherwise `database` stays as configured (embedded). */
  database?: { env: Record<string, string> };
  /** Run this instead of `node bin/silverback.js start <args>` (e.g. ['npm', 'start']). */
  command?: string[];
  /** Start in a process group of its own (signals can then go to the whole group, as systemd sends them). */
  detached?: boolean;
  /** Which listeners must answer before the promise resolves (default: those of the role). */
  waitFor?: Listener[];
  timeoutMs?: number;
}

export interface SilverbackProcess {
  adminUrl: string;
  proxyUrl: string;
  statusUrl: string;
  /** host:port of the cluster gRPC listener (for SILVERBACK_CLUSTER_CONTROL_PLANE). */
  clusterAddr: string;
  ports: Record<Listener, number>;
  prefix: string;
  role: RoleName;
  proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  logs(): string;
  /** Parsed JSON log lines (non-JSON lines skipped). */
  logLines(): Array<Record<string, unknown>>;
  /** Sends the signal (SIGTERM by default) and waits for exit; returns the exit code (or signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string | null>;
  /** Sends a signal without waiting: to the process, or to its whole process group (needs `detached`). */
  signal(signal: NodeJS.Signals, group?: boolean): void;
  /** Waits for the exit (up to timeoutMs): the exit code, or the signal name; null if still running. */
  waitExit(timeoutMs?: number): Promise<number | string | null>;
  /** SIGKILL and wait. Leaves the prefix in place (restart tests reuse it). */
  kill(): Promise<void>;
  exited(): boolean;
}

const started = new Set<SilverbackProcess>();
const createdPrefixes = new Set<string>();

// Whatever a test forgets is cleaned when its file ends: processes killed, orphaned embedded
// PostgreSQL servers stopped, temporary prefixes removed.
afterAll(async () => {
  await cleanupSilverbacks();
});

export async function cleanupSilverbacks(): Promise<void> {
  await Promise.all([...started].map((p) => (p.exited() ? undefined : p.kill())));
  started.clear();
  for (const prefix of createdPrefixes) await removePrefix(prefix);
  createdPrefixes.clear();
}

/** Stops an embedded PostgreSQL left running under `prefix`, then removes the prefix and its cluster. */
export async function removePrefix(prefix: string): Promise<void> {
  await stopOrphanedEmbeddedPostgres(prefix);
  let cluster: string | null = null;
  try {
    cluster = embeddedClusterRoot(prefix);
  } catch {
    /* prefix already gone */
  }
  rmSync(prefix, { recursive: true, force: true });
  if (cluster && !cluster.startsWith(prefix)) rmSync(cluster, { recursive: true, force: true });
}

const DEFAULT_WAIT: Record<RoleName, Listener[]> = {
  traditional: ['admin', 'proxy', 'status'],
  control_plane: ['admin', 'cluster'],
  data_plane: ['proxy', 'status'],
};

const ENV_OF: Record<Listener, string> = {
  admin: 'SILVERBACK_ADMIN_LISTEN',
  proxy: 'SILVERBACK_PROXY_LISTEN',
  status: 'SILVERBACK_STATUS_LISTEN',
  cluster: 'SILVERBACK_CLUSTER_LISTEN',
};

export async function startSilverback(options: StartOptions = {}): Promise<SilverbackProcess> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`');
  const userEnv = options.env ?? {};
  const role = roleOf(options.args ?? [], userEnv.SILVERBACK_ROLE);

  const ports = {} as Record<Listener, number>;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SILVERBACK_')) env[k] = v;
  for (const listener of Object.keys(ENV_OF) as Listener[]) {
    const given = userEnv[ENV_OF[listener]];
    const port = given ? portOf(given) : await freePort();
    ports[listener] = port;
    if (!given) env[ENV_OF[listener]] = `127.0.0.1:${port}`;
  }
  let prefix = options.prefix;
  if (!prefix) {
    prefix = mkdtempSync(join(tmpdir(), 'sb-node-')); // 0700, as a user's own folder is
    createdPrefixes.add(prefix);
  }
  env.SILVERBACK_PREFIX = prefix;
  env.SILVERBACK_LOG_LEVEL = 'info';
  Object.assign(env, options.database?.env ?? {});
  for (const [k, v] of Object.entries(userEnv)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  const [cmd, ...cmdArgs] = options.command ?? [process.execPath, BIN, 'start', ...(options.args ?? [])];
  const proc = spawn(cmd!, cmdArgs, {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString();
    if (output.length > 8_000_000) output = output.slice(-4_000_000);
  };
  proc.stdout!.on('data', append);
  proc.stderr!.on('data', append);
  let exitInfo: { code: number | null; signal: string | null } | null = null;
  const exitPromise = new Promise<void>((res) =>
    // 'close', not 'exit': also waits for whatever it started that still writes to its output
    // (the node under `npm start`)
    proc.once('close', (code, signal) => {
      exitInfo = { code, signal };
      res();
    }),
  );

  const waitForExit = async (timeoutMs: number) => {
    await Promise.race([exitPromise, new Promise((r) => setTimeout(r, timeoutMs))]);
    return exitInfo !== null;
  };

  const handle: SilverbackProcess = {
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    proxyUrl: `http://127.0.0.1:${ports.proxy}`,
    statusUrl: `http://127.0.0.1:${ports.status}`,
    clusterAddr: `127.0.0.1:${ports.cluster}`,
    ports,
    prefix,
    role,
    proc,
    logs: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited: () => exitInfo !== null,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000) {
      if (exitInfo === null) {
        // a detached process (e.g. npm and the node under it) is stopped as a group, as systemd does
        if (options.detached) process.kill(-proc.pid!, signal);
        else proc.kill(signal);
        if (!(await waitForExit(timeoutMs))) {
          if (options.detached) process.kill(-proc.pid!, 'SIGKILL');
          else proc.kill('SIGKILL');
          await exitPromise;
          started.delete(handle);
          throw new Error(`silverback did not exit within ${timeoutMs} ms after ${signal}; killed.\n${tail(output)}`);
        }
      }
      started.delete(handle);
      const info = exitInfo as unknown as { code: number | null; signal: string | null };
      if (createdPrefixes.has(prefix!)) {
        await removePrefix(prefix!);
        createdPrefixes.delete(prefix!);
      }
      return info.code ?? info.signal;
    },
    signal(signal: NodeJS.Signals, group = false) {
      if (exitInfo !== null) return;
      if (group) process.kill(-proc.pid!, signal);
      else proc.kill(signal);
    },
    async waitExit(timeoutMs = 20_000) {
      if (!(await waitForExit(timeoutMs))) return null;
      started.delete(handle);
      const info = exitInfo as unknown as { code: number | null; signal: string | null };
      return info.code ?? info.signal;
    },
    async kill() {
      if (exitInfo === null) {
        if (options.detached) process.kill(-proc.pid!, 'SIGKILL');
        else proc.kill('SIGKILL');
        await exitPromise;
      }
    },
  };
  started.add(handle);

  const wanted = options.waitFor ?? DEFAULT_WAIT[role];
  try {
    await waitFor(
      async () => {
        if (exitInfo !== null) {
          throw new ExitedError(`silverback exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before its listeners answered`);
        }
        for (const listener of wanted) {
          const ok = listener === 'cluster' ? await tcpAnswers(ports.cluster) : await httpAnswers(ports[listener]);
          if (!ok) return false;
        }
        return true;
      },
      options.timeoutMs ?? 30_000,
    );
  } catch (err) {
    await handle.kill();
    throw new Error(`${(err as Error).message}\n--- silverback output ---\n${tail(output)}`);
  }
  return handle;
}

class ExitedError extends Error {}

export interface ClusterCerts {
  cert: string;
  key: string;
  /** SILVERBACK_* variables for cluster_mtls = shared with this pair (give them to the CP and the DPs). */
  env: Record<string, string>;
}

/** A fresh shared-mode cluster certificate pair (openssl), removed when the test file ends. */
export function createClusterCerts(commonName = 'silverback_cluster'): ClusterCerts {
  const dir = mkdtempSync(join(tmpdir(), 'sb-certs-'));
  createdPrefixes.add(dir);
  const { cert, key } = generateClusterCert({ cert: join(dir, 'cluster.crt'), key: join(dir, 'cluster.key'), commonName, days: 30 });
  return {
    cert,
    key,
    env: {
      SILVERBACK_CLUSTER_MTLS: 'shared',
      SILVERBACK_CLUSTER_CERT: cert,
      SILVERBACK_CLUSTER_CERT_KEY: key,
      SILVERBACK_CLUSTER_SERVER_NAME: commonName,
    },
  };
}

/**
 * Polls `fn` until it returns a truthy value (returned) or the timeout passes (throws the last
 * error, or a timeout error). An ExitedError stops the polling at once.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      lastError = null;
    } catch (err) {
      if (err instanceof ExitedError) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`waitFor timed out after ${timeoutMs} ms${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function roleOf(args: string[], envRole: string | undefined): RoleName {
  const i = args.indexOf('--role');
  const raw = (i >= 0 ? args[i + 1] : args.find((a) => a.startsWith('--role='))?.slice(7)) ?? envRole ?? 'traditional';
  const aliases: Record<string, RoleName> = { all: 'traditional', 'control-plane': 'control_plane', 'data-plane': 'data_plane' };
  return aliases[raw] ?? (raw as RoleName);
}

function portOf(listen: string): number {
  const m = /:(\d+)(?:\s|,|$)/.exec(listen);
  return m ? Number(m[1]) : 0;
}

function httpAnswers(port: number): Promise<boolean> {
  return new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, timeout: 1000 }, (response) => {
      response.resume();
      res(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(false));
    req.end();
  });
}

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => {
      socket.destroy();
      res(false);
    });
    socket.on('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.on('error', () => res(false));
  });
}

async function stopOrphanedEmbeddedPostgres(prefix: string): Promise<void> {
  const dataDir = embeddedDataDir(prefix);
  if (!runningPostmaster(dataDir)) return;
  try {
    await stopCluster({ binDir: await embeddedBinDir(), dataDir, mode: 'immediate' });
  } catch {
    /* best effort */
  }
}

function tail(text: string, lines = 60): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
