// Helpers shared by the rate-limiting tests.
import type { Res } from './helpers.js';

/** Runs `n` requests at once. */
export function burst(n: number, send: (i: number) => Promise<Res>): Promise<Res[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => send(i)));
}

/** Waits until at least `needMs` remain in the current window of `periodMs` (a test never straddles an edge). */
export async function awayFromEdge(periodMs: number, needMs: number): Promise<void> {
  const left = periodMs - (Date.now() % periodMs);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 20));
}

/** Waits until the current window of `periodMs` is `atMs` old. */
export async function at(periodMs: number, atMs: number): Promise<void> {
  const into = Date.now() % periodMs;
  await new Promise((r) => setTimeout(r, into <= atMs ? atMs - into : periodMs - into + atMs));
}

export const count = (rs: { status: number }[], status: number) => rs.filter((r) => r.status === status).length;
export const hasRateHeaders = (r: Res) => Object.keys(r.headers).some((h) => h.includes('ratelimit'));
