// What a counter store does for one request: for every configured period, check the limit and,
// only when no period is exceeded, count the request in all of them — one atomic step, so
// concurrent requests never over-admit. A rejected request consumes nothing.
import type { Period } from '../../../shared/plugins/rate-limiting.js';

export interface PeriodCheck {
  period: Period;
  limit: number;
  /** Counter of the current window. */
  key: string;
  /** Counter of the previous window (read by sliding windows only). */
  prevKey: string;
  /** Weight of the previous window's count (sliding: share of it still inside the window; fixed: 0). */
  weight: number;
  /** Lifetime of a counter from its first hit (ms). */
  ttlMs: number;
}

export interface Outcome {
  blocked: boolean;
  /** Per check: the current window's count (this request included when admitted). */
  current: number[];
  /** Per check: the previous window's count (0 when not read). */
  previous: number[];
}

export interface CounterStore {
  consume(checks: PeriodCheck[]): Outcome | Promise<Outcome>;
}

/** Whether one more request fits in this period, given its counts before the request. */
export function exceeds(check: PeriodCheck, current: number, previous: number): boolean {
  return previous * check.weight + current + 1 > check.limit;
}
