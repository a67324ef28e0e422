// Appends lines to a file without blocking the event loop: lines wait in memory and go out in one
// write per batch (libuv's thread pool), one write in flight per file. Memory is bounded: past
// MAX_PENDING_BYTES new lines are dropped and counted. One appender per (path, reopen) per process,
// shared by every plugin instance that logs there (Kong keeps one file descriptor per path too).
import { open, type FileHandle } from 'node:fs/promises';
import { deliveryStats, reportFailure } from '../log-support.js';

const MAX_PENDING_BYTES = 16 * 1024 * 1024;
const stats = deliveryStats('file-log');

export class Appender {
  private file: FileHandle | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> | null = null;

  constructor(
    readonly path: string,
    /** Open the file for every batch (log rotation moves the file away): Kong's `reopen`. */
    readonly reopen: boolean,
  ) {}

  /** Queue one line (newline included). False when it was dropped (too much waiting already). */
  append(line: string): boolean {
    if (this.pendingBytes + line.length > MAX_PENDING_BYTES) {
      stats.dropped++;
      reportFailure(`file-log:${this.path}:full`, { path: this.path }, 'file-log: too many lines waiting for the file, dropping');
      return false;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    stats.queued++;
    if (this.writing === null) this.writing = this.drain();
    return true;
  }

  /** Resolves once every line queued so far is written (or dropped). */
  async flushed(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private async drain(): Promise<void> {
    // let the lines of requests finishing in this tick join the batch
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      stats.queued -= lines.length;
      try {
        if (this.file === null) this.file = await open(this.path, 'a', 0o644);
        await this.file.write(lines.length === 1 ? lines[0] : lines.join(''));
        stats.sent += lines.length;
      } catch (err) {
        stats.dropped += lines.length;
        reportFailure(`file-log:${this.path}`, { path: this.path, err: (err as Error).message }, 'file-log: cannot write to the log file');
        await this.closeFile();
        continue;
      }
      if (this.reopen) await this.closeFile();
    }
    this.writing = null;
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    this.file = null;
    if (f !== null) await f.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.flushed();
    await this.closeFile();
  }
}

const appenders = new Map<string, Appender>();

export function appenderFor(path: string, reopen: boolean): Appender {
  const key = (reopen ? 'r:' : 'k:') + path;
  let a = appenders.get(key);
  if (a === undefined) appenders.set(key, (a = new Appender(path, reopen)));
  return a;
}

/** Write out what is waiting and close every file (node shutdown). */
export async function closeAppenders(): Promise<void> {
  const all = [...appenders.values()];
  appenders.clear();
  await Promise.all(all.map((a) => a.close()));
}
