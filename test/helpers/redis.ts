// The shared test Redis, and private redis-servers for outage tests.
import { inject } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from './global-setup.js';
import { findRedisServer, startRedisDaemon, stopRedisByPidFile } from './global-setup.js';
import { freePort } from '../../control-plane/embedded-db.js';

export interface TestRedis {
  host: string;
  port: number;
  url: string;
}

/** The Redis started by global setup (shared by all files: use distinct key prefixes or FLUSHDB with care). */
export function getRedis(): TestRedis {
  const { host, port, url } = inject('redis');
  return { host, port, url };
}

export interface PrivateRedis extends TestRedis {
  /** Stops the server (SIGTERM by PID) — the port stays reserved for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** A redis-server of its own on a random port, for tests that stop Redis. */
export async function startPrivateRedis(extraArgs: string[] = []): Promise<PrivateRedis> {
  const server = findRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  const port = await freePort();
  const pidFile = join(dir, 'redis.pid');
  const start = () => startRedisDaemon(server, { port, dir, pidFile, extraArgs });
  const stop = () => stopRedisByPidFile(pidFile);
  await start();
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
