// The client headers (Kong's): X-RateLimit-Limit-<Period> / X-RateLimit-Remaining-<Period> for
// every period, and RateLimit-Limit / -Remaining / -Reset of the most constrained one (lowest
// remaining; on a tie the longer window). Retry-After on a rejection.
import { PERIODS, type Period } from '../../../shared/plugins/rate-limiting.js';
import { exceeds, type Outcome, type PeriodCheck } from './counters.js';
import { resetSeconds, type Window } from './windows.js';

// Lower-case, as the proxy writes every response header name (HTTP names are case-insensitive):
// nothing to fold per request.
export const LIMIT_HEADER = Object.fromEntries(PERIODS.map((p) => [p, `x-ratelimit-limit-${p}`])) as Record<Period, string>;
export const REMAINING_HEADER = Object.fromEntries(PERIODS.map((p) => [p, `x-ratelimit-remaining-${p}`])) as Record<Period, string>;

/** Requests still allowed in this period after this one (what the client may send next). */
export function remainingOf(check: PeriodCheck, outcome: Outcome, i: number): number {
  const cur = outcome.current[i];
  const prev = outcome.previous[i];
  if (outcome.blocked && exceeds(check, cur, prev)) return 0;
  return Math.max(0, Math.floor(check.limit - (prev * check.weight + cur)));
}

/**
 * Seconds until a rejected sliding-window period admits one request again: the previous window's
 * weight decays linearly, and once the window ends the current count becomes the previous one.
 */
export function slidingRetrySeconds(check: PeriodCheck, w: Window, cur: number, prev: number, now: number): number {
  const len = w.end - w.start;
  const room = check.limit - 1 - cur;
  let at: number;
  if (room >= 0 && prev > 0) at = w.start + len * (1 - room / prev);
  else at = w.end + (cur > 0 ? len * Math.max(0, 1 - (check.limit - 1) / cur) : 0);
  return Math.max(1, Math.ceil((at - now) / 1000));
}

export interface HeaderInput {
  checks: PeriodCheck[];
  windows: Window[];
  outcome: Outcome;
  now: number;
  sliding: boolean;
}

/** Sets the headers on `out`; returns the reset seconds of the most constrained period (Retry-After). */
export function rateLimitHeaders(input: HeaderInput, out: Record<string, string | string[] | null>): number {
  const { checks, windows, outcome, now, sliding } = input;
  let best = -1;
  let bestRemaining = Infinity;
  for (let i = 0; i < checks.length; i++) {
    const remaining = remainingOf(checks[i], outcome, i);
    out[LIMIT_HEADER[checks[i].period]] = String(checks[i].limit);
    out[REMAINING_HEADER[checks[i].period]] = String(remaining);
    // checks are ordered shorter → longer window: `<=` lets the longer one win a tie
    if (remaining <= bestRemaining) {
      best = i;
      bestRemaining = remaining;
    }
  }
  const ch = checks[best];
  const w = windows[best];
  const reset =
    sliding && outcome.blocked && bestRemaining === 0
      ? slidingRetrySeconds(ch, w, outcome.current[best], outcome.previous[best], now)
      : resetSeconds(w, now);
  out['ratelimit-limit'] = String(ch.limit);
  out['ratelimit-remaining'] = String(bestRemaining);
  out['ratelimit-reset'] = String(reset);
  return reset;
}
