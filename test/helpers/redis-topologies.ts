// Redis Cluster (3 masters) and Sentinel (a master watched by one sentinel) started by a test, from
// Debian's redis-server/redis-cli, on random loopback ports under temporary folders; stopped by PID.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { findRedisServer, redisPing, stopRedisByPidFile } from './global-setup.js';
import { startPrivateRedis, type PrivateRedis } from './redis.js';
import { freePort } from '../../control-plane/embedded-db.js';

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

export interface TestCluster {
  nodes: PrivateRedis[];
  destroy(): Promise<void>;
}

/** Three cluster-enabled masters joined with `redis-cli --cluster create`, cluster_state ok. */
export async function startRedisCluster(masters = 3): Promise<TestCluster> {
  const nodes: PrivateRedis[] = [];
  for (let i = 0; i < masters; i++) nodes.push(await startPrivateRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000']));
  const cli = join(dirname(findRedisServer()), 'redis-cli');
  const r = spawnSync(cli, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) {
    await Promise.all(nodes.map((n) => n.destroy()));
    throw new Error(`redis-cli --cluster create failed: ${r.stderr || r.stdout}`);
  }
  await until('cluster_state:ok on every node', async () => {
    for (const n of nodes) {
      const c = new Redis({ port: n.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await c.connect();
        const info = String(await c.call('CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok')) return false;
      } finally {
        c.disconnect();
      }
    }
    return true;
  });
  return { nodes, destroy: async () => void (await Promise.all(nodes.map((n) => n.destroy()))) };
}

export interface TestSentinel {
  master: PrivateRedis;
  sentinelPort: number;
  masterName: string;
  destroy(): Promise<void>;
}

/** One master and one sentinel process monitoring it (quorum 1), the sentinel knowing the master. */
export async function startRedisSentinel(masterName = 'mymaster'): Promise<TestSentinel> {
  const master = await startPrivateRedis();
  const dir = mkdtempSync(join(tmpdir(), 'sb-sentinel-'));
  const port = await freePort();
  const pidFile = join(dir, 'sentinel.pid');
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'daemonize yes',
      `pidfile ${pidFile}`,
      `logfile ${join(dir, 'sentinel.log')}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 5000`,
      '',
    ].join('\n'),
  );
  const r = spawnSync(findRedisServer(), [conf, '--sentinel'], { encoding: 'utf8' });
  if (r.status !== 0) {
    await master.destroy();
    throw new Error(`redis sentinel failed to start: ${r.stderr || r.stdout}`);
  }
  await until('sentinel answers PING', () => redisPing(port));
  await until('sentinel knows the master', async () => {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await c.connect();
      const addr = (await c.call('SENTINEL', 'get-master-addr-by-name', masterName)) as string[] | null;
      return Array.isArray(addr) && Number(addr[1]) === master.port;
    } finally {
      c.disconnect();
    }
  });
  return {
    master,
    sentinelPort: port,
    masterName,
    async destroy() {
      await stopRedisByPidFile(pidFile);
      rmSync(dir, { recursive: true, force: true });
      await master.destroy();
    },
  };
}
