// Kong's queue (kong/tools/queue.lua) for log entries: entries wait in memory (bounded by
// max_entries and max_bytes; the oldest are dropped first, and counted), go out in batches of up to
// max_batch_size once a batch is full or max_coalescing_delay passed, one batch in flight
// (concurrency_limit 1) or each entry at once (-1). A failed batch is retried with exponential
// backoff (initial_retry_delay doubling up to max_retry_delay) until max_retry_time, then dropped.
// Nothing here runs on a request's path: add() only stores a string.
import { deliveryStats, reportFailure } from '../log-support.js';

export interface QueueConfig {
  max_batch_size: number;
  max_coalescing_delay: number;
  max_entries: number;
  max_bytes: number | null;
  max_retry_time: number;
  initial_retry_delay: number;
  max_retry_delay: number;
  concurrency_limit: number;
}

/** Sends one batch; rejects (or resolves false) when it should be retried. */
export type BatchSender = (entries: string[]) => Promise<void>;

export class LogQueue {
  private entries: string[] = [];
  private head = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  /** Entries being sent (concurrency_limit -1 sends them at once, bounded by max_entries too). */
  private inFlight = 0;
  private readonly stats;

  constructor(
    readonly name: string,
    readonly conf: QueueConfig,
    readonly send: BatchSender,
    plugin = 'http-log',
  ) {
    this.stats = deliveryStats(plugin);
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  add(entry: string): void {
    const c = this.conf;
    if (c.concurrency_limit === -1) {
      if (this.inFlight >= c.max_entries) return this.drop(1, 'queue full');
      this.inFlight++;
      this.stats.queued++;
      void this.sendWithRetry([entry]).finally(() => {
        this.inFlight--;
        this.stats.queued--;
      });
      return;
    }
    if (c.max_bytes !== null && c.max_bytes !== undefined && entry.length > c.max_bytes) return this.drop(1, 'entry larger than max_bytes');
    while (this.length >= c.max_entries || (c.max_bytes != null && this.bytes + entry.length > c.max_bytes)) this.dropOldest();
    this.entries.push(entry);
    this.bytes += entry.length;
    this.stats.queued++;
    if (this.sending) return;
    if (this.length >= c.max_batch_size) this.kick(0);
    else if (this.timer === null) this.kick(c.max_coalescing_delay * 1000);
  }

  private dropOldest(): void {
    const e = this.entries[this.head];
    this.entries[this.head] = '';
    this.head++;
    this.bytes -= e.length;
    this.stats.queued--;
    this.compact();
    this.drop(1, 'queue full');
  }

  private drop(n: number, why: string): void {
    this.stats.dropped += n;
    reportFailure(`http-log:${this.name}:${why}`, { queue: this.name, why }, `http-log: dropping log entries (${why})`);
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  private kick(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, ms);
    this.timer.unref();
  }

  private take(): string[] {
    const n = Math.min(this.conf.max_batch_size, this.length);
    const batch = this.entries.slice(this.head, this.head + n);
    for (let i = this.head; i < this.head + n; i++) this.entries[i] = '';
    this.head += n;
    for (const e of batch) this.bytes -= e.length;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else this.compact();
    return batch;
  }

  private async run(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.length > 0) {
        const batch = this.take();
        await this.sendWithRetry(batch);
        this.stats.queued -= batch.length;
        // a partial batch waits for company (the coalescing delay) unless the queue filled up meanwhile
        if (this.length > 0 && this.length < this.conf.max_batch_size) {
          this.kick(this.conf.max_coalescing_delay * 1000);
          break;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private async sendWithRetry(batch: string[]): Promise<void> {
    const c = this.conf;
    const started = Date.now();
    let delay = c.initial_retry_delay * 1000;
    for (;;) {
      try {
        await this.send(batch);
        this.stats.sent += batch.length;
        return;
      } catch (err) {
        const elapsed = Date.now() - started;
        if (elapsed + delay > c.max_retry_time * 1000) {
          this.stats.dropped += batch.length;
          reportFailure(
            `http-log:${this.name}:gave-up`,
            { queue: this.name, entries: batch.length, err: (err as Error).message },
            `http-log: could not send entries within max_retry_time, dropping them`,
          );
          return;
        }
        this.stats.retried++;
        reportFailure(`http-log:${this.name}:retry`, { queue: this.name, err: (err as Error).message }, 'http-log: sending entries failed, retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, c.max_retry_delay * 1000);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
