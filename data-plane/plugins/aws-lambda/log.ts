// The plugin's own log lines (plugins get no logger): JSON lines like the node's. In the API Gateway
// modes the client only sees API Gateway's generic error bodies, so the cause is logged here.
import { createLogger } from '../../../shared/log.js';
import type { LogLevel } from '../../../shared/config.js';

export interface LambdaLog {
  error(obj: Record<string, unknown>, msg: string): void;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
let logger: LambdaLog | null = null;

export function lambdaLog(): LambdaLog {
  if (logger === null) {
    const level = process.env.SILVERBACK_LOG_LEVEL ?? 'info';
    logger = createLogger((LEVELS.has(level) ? level : 'info') as LogLevel, { component: 'aws-lambda' });
  }
  return logger;
}

/** Replace the log (tests capture it); null restores the default. */
export function setLambdaLog(log: LambdaLog | null): void {
  logger = log;
}
