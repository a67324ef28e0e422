// The control plane's list of data planes (GET /clustering/data-planes). Each sync server keeps
// the data planes it has a stream with in memory and writes them to clustering_data_planes, so
// every control plane on the database lists every data plane (Kong records each DP the same way).
// Writes never hold up a stream: they run in the background, one at a time per data plane, and a
// failed write (database down) is logged and retried on that data plane's next message. Heartbeats
// that change nothing are written at most every `heartbeatWriteMs`. Rows last seen longer ago
// than `purgeDelaySeconds` (Kong's cluster_data_plane_purge_delay, 14 days) are hidden and purged.
// Without a pool (tools, some tests) the registry is this process's memory only.
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import type { SyncStatus } from '../../shared/sync/protocol.js';
import { DataPlaneStore, type StoredDataPlane } from './registry-store.js';

export interface DataPlaneInfo {
  id: string;
  hostname: string;
  ip: string;
  version: string;
  sync_status: SyncStatus;
  /** Hash of the config the data plane serves (32 hex). */
  config_hash: string;
  /** Epoch seconds. */
  last_seen: number;
  /** Epoch seconds. */
  updated_at: number;
  /** Seconds until the row is purged. */
  ttl: number;
  labels: Record<string, string>;
  /** Expiry of the client certificate the data plane connected with (mTLS only). */
  cert_details?: { expiry_timestamp: number };
  /** Silverback additions: the config version served, whether a stream is open, the last apply error. */
  config_version: number;
  /** true while this control plane has its stream; for a stream elsewhere, seen within `connectedWindowSeconds`. */
  connected: boolean;
  last_error: string | null;
}

/** What a sync session reports about its data plane. */
export type DataPlaneFields = Partial<
  Pick<DataPlaneInfo, 'hostname' | 'ip' | 'version' | 'sync_status' | 'config_hash' | 'config_version' | 'labels' | 'last_error'> & {
    cert_details: { expiry_timestamp: number } | null;
  }
>;

export const DEFAULT_PURGE_DELAY_SECONDS = 14 * 24 * 3600;

export interface RegistryOptions {
  purgeDelaySeconds?: number;
  /** Persist to clustering_data_planes through this pool; none: memory only. */
  pool?: pg.Pool | null;
  log?: Logger;
  /** Unchanged heartbeats are written at most this often per data plane (ms, default 5 s). */
  heartbeatWriteMs?: number;
  /** A data plane streaming to another control plane counts as connected if seen this recently (s, default 60: two DP heartbeats). */
  connectedWindowSeconds?: number;
  /** How often expired rows are deleted (ms, default 1 h; 0: never automatically). */
  purgeIntervalMs?: number;
}

interface Fields {
  hostname: string;
  ip: string;
  version: string;
  sync_status: SyncStatus;
  config_hash: string;
  config_version: number;
  labels: Record<string, string>;
  last_error: string | null;
  cert_details: { expiry_timestamp: number } | null;
}

interface Entry {
  id: string;
  fields: Fields;
  /** Local clock (ms) of the last message from the data plane / last change. */
  seenMs: number;
  updatedMs: number;
  /** Open streams to this control plane (a reconnect can overlap the old stream's end). */
  streams: number;
  // persistence state
  /** The fields as last sent to the database (JSON), and when. */
  writtenKey: string | null;
  writtenAtMs: number;
  writing: boolean;
  /** Another write was asked for while one was running. */
  again: boolean;
  /** Something local has not reached the database yet (throttled heartbeat, failed write). */
  dirty: boolean;
  failed: boolean;
}

const EMPTY: Fields = {
  hostname: '',
  ip: '',
  version: '',
  sync_status: 'unknown',
  config_hash: '',
  config_version: 0,
  labels: {},
  last_error: null,
  cert_details: null,
};

export class DataPlaneRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly store: DataPlaneStore | null;
  private readonly purgeDelaySeconds: number;
  private readonly heartbeatWriteMs: number;
  private readonly connectedWindowSeconds: number;
  private readonly log: Logger | undefined;
  private readonly writes = new Set<Promise<void>>();
  private purgeTimer: NodeJS.Timeout | null = null;
  private failing = false;
  private closed = false;

  constructor(opts: RegistryOptions = {}) {
    this.purgeDelaySeconds = opts.purgeDelaySeconds ?? DEFAULT_PURGE_DELAY_SECONDS;
    this.heartbeatWriteMs = opts.heartbeatWriteMs ?? 5000;
    this.connectedWindowSeconds = opts.connectedWindowSeconds ?? 60;
    this.log = opts.log;
    this.store = opts.pool ? new DataPlaneStore(opts.pool, this.purgeDelaySeconds) : null;
    const every = opts.purgeIntervalMs ?? 3600_000;
    if (this.store && every > 0) {
      const tick = () => void this.purge().catch((err) => this.log?.warn({ err: errMessage(err) }, 'sync: purging expired data planes failed'));
      this.purgeTimer = setInterval(tick, every);
      this.purgeTimer.unref();
      tick();
    }
  }

  get persistent(): boolean {
    return this.store !== null;
  }

  /** A stream from this data plane opened (its hello). Always written. */
  opened(id: string, fields: DataPlaneFields): void {
    const e = this.entry(id);
    e.streams++;
    this.apply(e, fields, true);
  }

  /**
   * A message from the data plane. `important` (apply results, status changes) is written at once;
   * otherwise (a heartbeat) only when a field changed or the last write is `heartbeatWriteMs` old.
   */
  update(id: string, fields: DataPlaneFields, important = true): void {
    this.apply(this.entry(id), fields, important);
  }

  /** A stream ended. Whatever is still unwritten (a throttled heartbeat) is written now. */
  closedStream(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.streams = Math.max(0, e.streams - 1);
    if (e.dirty) this.save(e);
  }

  /** This control plane's own view (the data planes it has talked to), by id. */
  get(id: string): DataPlaneInfo | undefined {
    const e = this.entries.get(id);
    return e ? this.localInfo(e, Date.now()) : undefined;
  }

  /** This control plane's own view, by id; memory only, synchronous. */
  list(): DataPlaneInfo[] {
    const now = Date.now();
    const out: DataPlaneInfo[] = [];
    for (const e of this.entries.values()) {
      if (this.expiredLocally(e, now)) {
        this.entries.delete(e.id);
        continue;
      }
      out.push(this.localInfo(e, now));
    }
    return out.sort((a, b) => compareIds(a.id, b.id));
  }

  /** Every data plane of the cluster (the table) with id > `after`, by id. Throws when the database fails. */
  async page(after: string | null, size: number): Promise<{ data: DataPlaneInfo[]; more: boolean }> {
    if (!this.store) {
      const all = this.list().filter((r) => after === null || compareIds(r.id, after) > 0);
      return { data: all.slice(0, size), more: all.length > size };
    }
    const page = await this.store.page(after, size);
    return { data: page.data.map((r) => this.storedInfo(r)), more: page.more };
  }

  /** Every data plane of the cluster, by id. Throws when the database fails. */
  async all(): Promise<DataPlaneInfo[]> {
    if (!this.store) return this.list();
    return (await this.store.all()).map((r) => this.storedInfo(r));
  }

  /** Deletes rows past the purge delay (and forgets such data planes locally); returns the rows deleted. */
  async purge(): Promise<number> {
    const now = Date.now();
    for (const e of this.entries.values()) if (this.expiredLocally(e, now)) this.entries.delete(e.id);
    return this.store ? this.store.purge() : 0;
  }

  /** Stops the purge timer, writes what is still unwritten and waits (at most `waitMs`) for the writes. */
  async close(waitMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.purgeTimer = null;
    for (const e of this.entries.values()) if (e.dirty) this.save(e);
    const deadline = Date.now() + waitMs;
    while (this.writes.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.writes]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now()))),
      ]);
      clearTimeout(timer);
    }
    this.closed = true;
  }

  // ---- internals ----------------------------------------------------------------------------

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      const now = Date.now();
      e = {
        id,
        fields: { ...EMPTY },
        seenMs: now,
        updatedMs: now,
        streams: 0,
        writtenKey: null,
        writtenAtMs: 0,
        writing: false,
        again: false,
        dirty: false,
        failed: false,
      };
      this.entries.set(id, e);
    }
    return e;
  }

  private apply(e: Entry, fields: DataPlaneFields, important: boolean): void {
    const now = Date.now();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (e.fields as unknown as Record<string, unknown>)[k] = v;
    e.seenMs = now;
    e.updatedMs = now;
    e.dirty = true;
    if (!this.store) return;
    const due = important || e.failed || JSON.stringify(e.fields) !== e.writtenKey || now - e.writtenAtMs >= this.heartbeatWriteMs;
    if (due) this.save(e);
  }

  /** Writes the entry's current state; serialized per data plane (a request during a write runs after it). */
  private save(e: Entry): void {
    if (!this.store || this.closed) return;
    if (e.writing) {
      e.again = true;
      return;
    }
    e.writing = true;
    e.dirty = false;
    const key = JSON.stringify(e.fields);
    const now = Date.now();
    e.writtenAtMs = now;
    const write = this.store
      .upsert({ id: e.id, ...e.fields, seenAgoMs: now - e.seenMs, updatedAgoMs: now - e.updatedMs })
      .then(
        () => {
          e.writtenKey = key;
          e.failed = false;
          if (this.failing) {
            this.failing = false;
            this.log?.info('sync: recording data planes in the database again');
          }
        },
        (err) => {
          e.failed = true;
          e.dirty = true;
          if (!this.failing) {
            this.failing = true;
            this.log?.warn({ err: errMessage(err), data_plane_id: e.id }, 'sync: could not record a data plane in the database; retrying on its next message');
          } else this.log?.debug({ err: errMessage(err), data_plane_id: e.id }, 'sync: could not record a data plane');
        },
      )
      .finally(() => {
        e.writing = false;
        this.writes.delete(write);
        if (e.again) {
          e.again = false;
          // a failed write is retried on the next message, not in a loop against a dead database
          if (!e.failed) this.save(e);
        }
      });
    this.writes.add(write);
  }

  private expiredLocally(e: Entry, now: number): boolean {
    return e.streams === 0 && (now - e.seenMs) / 1000 > this.purgeDelaySeconds;
  }

  private localInfo(e: Entry, now: number): DataPlaneInfo {
    const ageSeconds = (now - e.seenMs) / 1000;
    return info(e.id, e.fields, {
      last_seen: Math.floor(e.seenMs / 1000),
      updated_at: Math.floor(e.updatedMs / 1000),
      ttl: this.ttl(ageSeconds),
      connected: e.streams > 0,
    });
  }

  private storedInfo(r: StoredDataPlane): DataPlaneInfo {
    const e = this.entries.get(r.id);
    const now = Date.now();
    // our own stream: memory is at least as fresh as the table (heartbeat writes are throttled)
    if (e && e.streams > 0) return this.localInfo(e, now);
    // seen by another control plane after us (or never by us): judge by how recently
    const seenElsewhere = !e || r.age < (now - e.seenMs) / 1000 - 1;
    return info(r.id, { ...r, sync_status: r.sync_status as SyncStatus }, {
      last_seen: Math.floor(r.last_seen),
      updated_at: Math.floor(r.updated_at),
      ttl: this.ttl(r.age),
      connected: seenElsewhere && r.age <= this.connectedWindowSeconds,
    });
  }

  private ttl(ageSeconds: number): number {
    return Math.max(0, Math.floor(this.purgeDelaySeconds - ageSeconds));
  }
}

function info(
  id: string,
  f: Fields,
  t: { last_seen: number; updated_at: number; ttl: number; connected: boolean },
): DataPlaneInfo {
  return {
    id,
    hostname: f.hostname,
    ip: f.ip,
    version: f.version,
    sync_status: f.sync_status,
    config_hash: f.config_hash,
    last_seen: t.last_seen,
    updated_at: t.updated_at,
    ttl: t.ttl,
    labels: f.labels,
    ...(f.cert_details ? { cert_details: f.cert_details } : {}),
    config_version: f.config_version,
    connected: t.connected,
    last_error: f.last_error,
  };
}

/** Byte order, as the table's pages (COLLATE "C"). */
function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function errMessage(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}
