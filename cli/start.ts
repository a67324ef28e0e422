// `silverback start`: runs the control plane and/or the data plane of this node's role, and stops
// them on SIGTERM/SIGINT (exit 0).
import type { Command } from 'commander';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import { redactConfig } from '../shared/config.js';
import { preparePrefix } from './prefix.js';
import type { CliDeps } from './context.js';

interface Running {
  name: string;
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 30_000;

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
  let stopping = false;

  const stopAll = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping');
    const timer = setTimeout(() => {
      log.error({ timeout_ms: STOP_TIMEOUT_MS }, 'graceful stop timed out; exiting');
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    timer.unref();
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
    process.exit(exitCode);
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      void stopAll(signal, 0);
    });
  }

  log.info({ version, config: redactConfig(config) }, 'starting silverback');
  try {
    if (config.role !== 'data_plane') {
      const cp = await import('../control-plane/index.js');
      const handle = await cp.start(config, log.child({ component: 'control-plane' }));
      running.push({ name: 'control-plane', stop: () => handle.stop() });
    }
    if (stopping) return;
    if (config.role !== 'control_plane') {
      const dp = await import('../data-plane/index.js');
      const handle = await dp.start(config, log.child({ component: 'data-plane' }));
      running.push({ name: 'data-plane', stop: () => handle.stop() });
    }
  } catch (err) {
    log.fatal({ err }, 'start failed');
    process.stderr.write(`Error: start failed: ${(err as Error).message}\n`);
    await stopAll('start failed', 1);
    return;
  }
  if (!stopping) log.info('silverback started');
}
