// PLACEHOLDER (owned by the lead, who replaces this file): starts the data plane.
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';

export async function start(config: Config, log: Logger): Promise<{ stop(): Promise<void> }> {
  void config;
  void log;
  throw new Error('data plane: not implemented');
}
