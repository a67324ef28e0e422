// What the log plugins share: a logger for their own failures (set by the data plane at start,
// rate-limited so a dead log endpoint does not flood the node's log) and per-plugin delivery
// counters that /metrics reports.

export interface PluginLog {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

let log: PluginLog = { warn() {}, error() {} };
const lastReported = new Map<string, number>();

export function setPluginLog(l: PluginLog): void {
  log = l;
}

/** Log `msg` at most once per `everyMs` for `key` (a plugin's failure repeats per request). */
export function reportFailure(key: string, obj: Record<string, unknown>, msg: string, everyMs = 10_000): void {
  const now = Date.now();
  const last = lastReported.get(key);
  if (last !== undefined && now - last < everyMs) return;
  lastReported.set(key, now);
  log.error(obj, msg);
}

export interface DeliveryStats {
  /** Entries handed to the destination (written to the file, accepted by the endpoint). */
  sent: number;
  /** Entries given up: queue full, retries exhausted, write failed. */
  dropped: number;
  /** Failed attempts that will be retried (http-log). */
  retried: number;
  /** Entries waiting in memory right now. */
  queued: number;
}

const stats = new Map<string, DeliveryStats>();

/** Counters of one log plugin (by name), created on first use. */
export function deliveryStats(plugin: string): DeliveryStats {
  let s = stats.get(plugin);
  if (s === undefined) stats.set(plugin, (s = { sent: 0, dropped: 0, retried: 0, queued: 0 }));
  return s;
}

export function allDeliveryStats(): ReadonlyMap<string, DeliveryStats> {
  return stats;
}
