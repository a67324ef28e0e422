// `silverback start`: runs the control plane and/or the data plane of this node's role, and stops
// them on SIGTERM/SIGINT (exit 0). However the node ends — a signal, a repeated signal, a fatal
// error — the embedded PostgreSQL it started is stopped before the process exits.
import type { Command } from 'commander';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import { redactConfig } from '../shared/config.js';
import { stopEmbeddedNow } from '../control-plane/embedded-db.js';
import { preparePrefix } from './prefix.js';
import type { CliDeps } from './context.js';

interface Running {
  name: string;
  stop(): Promise<void>;
}

/** A second signal this soon after the first is the same stop delivered twice (npm forwarding a group signal). */
const DUPLICATE_SIGNAL_MS = 1000;

export function registerStartCommand(program: Command, deps: CliDeps): void {
  program
    .command('start')
    .description('start this node in its role (traditional = control plane + data plane)')
    .option('-c, --conf <file>', 'configuration file (also SILVERBACK_CONF)')
    .option('--role <role>', 'traditional | control_plane | data_plane (also all, control-plane, data-plane)')
    .option('-p, --prefix <dir>', 'working directory')
    .action(async (opts: { conf?: string; role?: string; prefix?: string }) => {
      const config = preparePrefix(deps.loadConfig({ conf: opts.conf, overrides: { role: opts.role, prefix: opts.prefix } }));
      const log = deps.createLogger(config, { node_id: config.node_id, role: config.role });
      await runNode(config, log, deps.version);
    });
}

export async function runNode(config: Config, log: Logger, version: string): Promise<void> {
  const running: Running[] = [];
  let stopping: { at: number } | null = null;
  let starting: Promise<void> = Promise.resolve();
  const stopTimeoutMs = config.drain_grace_period + config.drain_timeout + 20_000;

  const exitNow = (code: number): never => {
    stopEmbeddedNow();
    process.exit(code);
  };

  const stopAll = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = { at: Date.now() };
    log.info({ reason }, 'stopping');
    const timer = setTimeout(() => {
      log.error({ timeout_ms: stopTimeoutMs }, 'graceful stop timed out; exiting');
      exitNow(1);
    }, stopTimeoutMs);
    timer.unref();
    await starting.catch(() => {}); // a part still starting (e.g. its database) is stopped too, once it is up
    // Data plane first (drains client traffic), then the control plane (and its database).
    for (const part of running.reverse()) {
      try {
        await part.stop();
      } catch (err) {
        log.error({ err, part: part.name }, 'error while stopping');
        exitCode = exitCode || 1;
      }
    }
    clearTimeout(timer);
    log.info('stopped');
    exitNow(exitCode);
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (!stopping) return void stopAll(signal, 0);
      if (Date.now() - stopping.at < DUPLICATE_SIGNAL_MS) return; // the same stop, delivered twice
      log.warn({ signal }, 'second signal: exiting now');
      exitNow(1);
    });
  }
  process.on('exit', stopEmbeddedNow);
  const fatal = (err: unknown) => {
    log.fatal({ err }, 'fatal error');
    if (stopping) exitNow(1);
    void stopAll('fatal error', 1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  log.info({ version, config: redactConfig(config) }, 'starting silverback');
  starting = startParts(config, log, running, () => stopping !== null);
  try {
    await starting;
  } catch (err) {
    starting = Promise.resolve();
    log.fatal({ err }, 'start failed');
    process.stderr.write(`Error: start failed: ${explain(err as Error & { code?: string; address?: string; port?: number })}\n`);
    await stopAll('start failed', 1);
    return;
  }
  if (!stopping) log.info('silverback started');
}

async function startParts(config: Config, log: Logger, running: Running[], stopping: () => boolean): Promise<void> {
  if (config.role !== 'data_plane') {
    const cp = await import('../control-plane/index.js');
    const handle = await cp.start(config, log.child({ component: 'control-plane' }));
    running.push({ name: 'control-plane', stop: () => handle.stop() });
    // cluster_listen = off on a traditional node: its data plane dials the internal link instead
    if (handle.clusterPort !== undefined) config = { ...config, cluster_listen: `127.0.0.1:${handle.clusterPort}` };
  }
  if (stopping()) return;
  if (config.role !== 'control_plane') {
    const dp = await import('../data-plane/index.js');
    const handle = await dp.start(config, log.child({ component: 'data-plane' }));
    running.push({ name: 'data-plane', stop: () => handle.stop() });
  }
}

/** One line that says what to do about the usual first-run failures. */
function explain(err: Error & { code?: string; address?: string; port?: number; syscall?: string }): string {
  const where = err.address !== undefined ? `${err.address}:${err.port}` : '';
  if (err.syscall === 'listen' && err.code === 'EADDRINUSE') {
    return `${where} is already in use: stop what listens there, or choose another port (the *_listen settings, e.g. SILVERBACK_PROXY_LISTEN)`;
  }
  if (err.syscall === 'listen' && err.code === 'EACCES') {
    return `not allowed to listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port above 1023`;
  }
  return err.message.split('\n')[0]!;
}
