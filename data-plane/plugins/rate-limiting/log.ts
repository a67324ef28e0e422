// The plugin's own log lines (plugins get no logger): JSON lines like the node's, at most one per
// kind of event every few seconds, so a Redis outage at thousands of requests/s logs a handful.
import { createLogger, type Logger } from '../../../shared/log.js';
import type { LogLevel } from '../../../shared/config.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const EVERY_MS = 5000;
let logger: Logger | null = null;
const last = new Map<string, number>();

function log(): Logger {
  const level = process.env.SILVERBACK_LOG_LEVEL ?? 'info';
  logger ??= createLogger((LEVELS.has(level) ? level : 'info') as LogLevel, { plugin: 'rate-limiting' });
  return logger;
}

/** Logs `msg` unless the same `kind` was logged in the last few seconds. */
export function logThrottled(level: 'warn' | 'error' | 'info', kind: string, obj: Record<string, unknown>, msg: string): void {
  const now = Date.now();
  if (now - (last.get(kind) ?? 0) < EVERY_MS) return;
  last.set(kind, now);
  log()[level](obj, msg);
}
