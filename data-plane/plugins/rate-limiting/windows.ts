// Time windows of each period, aligned like Kong's (UTC second/minute/hour/day/month/year starts).
import type { Period } from '../../../shared/plugins/rate-limiting.js';

const FIXED_MS: Partial<Record<Period, number>> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export interface Window {
  /** Start of the current window (ms since epoch): part of the counter key. */
  start: number;
  /** Start of the previous window (sliding windows weight its count). */
  prevStart: number;
  /** End of the current window (ms). */
  end: number;
}

// The current window of each period, reused while it lasts (every request asks for it).
const current = new Map<Period, Window>();

/** The window of `period` holding `now`. The object is shared: callers must not change it. */
export function windowOf(period: Period, now: number): Window {
  const last = current.get(period);
  if (last !== undefined && now >= last.start && now < last.end) return last;
  const w = computeWindow(period, now);
  current.set(period, w);
  return w;
}

function computeWindow(period: Period, now: number): Window {
  const fixed = FIXED_MS[period];
  if (fixed !== undefined) {
    const start = now - (now % fixed);
    return { start, prevStart: start - fixed, end: start + fixed };
  }
  const d = new Date(now);
  const y = d.getUTCFullYear();
  if (period === 'month') {
    const m = d.getUTCMonth();
    return { start: Date.UTC(y, m, 1), prevStart: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m + 1, 1) };
  }
  return { start: Date.UTC(y, 0, 1), prevStart: Date.UTC(y - 1, 0, 1), end: Date.UTC(y + 1, 0, 1) };
}

/** Seconds until the window ends (Kong's RateLimit-Reset: at least 1). */
export function resetSeconds(w: Window, now: number): number {
  return Math.max(1, Math.ceil((w.end - now) / 1000));
}
