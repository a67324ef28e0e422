// policy local: counters in this process's memory. The check and the increment run in one
// synchronous step, so a single data plane is exact under any concurrency (Kong's local policy
// reads, then increments later in a timer, and over-admits). Expired counters are swept lazily.
import { exceeds, type CounterStore, type Outcome, type PeriodCheck } from './counters.js';

interface Counter {
  n: number;
  expiresAt: number;
}

const SWEEP_EVERY_MS = 5000;
/** Memory bound (≈ 100 bytes each): beyond it the oldest counters go first (a flood of client IPs). */
export const MAX_COUNTERS = 1_000_000;

export class LocalStore implements CounterStore {
  private readonly counters = new Map<string, Counter>();
  private nextSweep = 0;

  constructor(private readonly max = MAX_COUNTERS) {}

  private evictOldest(): void {
    const first = this.counters.keys().next();
    if (!first.done) this.counters.delete(first.value);
  }

  private live(key: string, now: number): Counter | undefined {
    const c = this.counters.get(key);
    return c !== undefined && c.expiresAt > now ? c : undefined;
  }

  consume(checks: PeriodCheck[], now = Date.now()): Outcome {
    if (now >= this.nextSweep) this.sweep(now);
    const n = checks.length;
    const current = new Array<number>(n);
    const previous = new Array<number>(n);
    const counters = new Array<Counter | undefined>(n);
    let blocked = false;
    for (let i = 0; i < n; i++) {
      const ch = checks[i];
      const c = (counters[i] = this.live(ch.key, now));
      current[i] = c !== undefined ? c.n : 0;
      previous[i] = ch.weight > 0 ? (this.live(ch.prevKey, now)?.n ?? 0) : 0;
      if (exceeds(ch, current[i], previous[i])) blocked = true;
    }
    if (!blocked) {
      for (let i = 0; i < n; i++) {
        const c = counters[i];
        if (c !== undefined) current[i] = ++c.n;
        else {
          const ch = checks[i];
          if (this.counters.size >= this.max) this.evictOldest();
          this.counters.delete(ch.key); // re-inserted at the end: Map order stays creation order
          this.counters.set(ch.key, { n: 1, expiresAt: now + ch.ttlMs });
          current[i] = 1;
        }
      }
    }
    return { blocked, current, previous };
  }

  /** Number of live counters (for tests and metrics). */
  get size(): number {
    return this.counters.size;
  }

  private sweep(now: number): void {
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [k, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(k);
  }
}

/** One store per process: counters survive config pushes (Kong's shm dictionary). */
export const localStore = new LocalStore();
