// The control plane's copy of the config: the database rows (raw), what data planes get (view),
// the current version and hash, the snapshot payload built once per version, and a ring of
// recent deltas so a reconnecting data plane only receives what it missed.
import type { Logger } from '../../shared/log.js';
import type { Row, SnapshotEntity } from '../../shared/snapshot.js';
import { ConfigIndex, isSnapshotEntity, type DeltaOp } from '../../shared/sync/config-index.js';
import { compress, encodeDeltaPayload } from '../../shared/sync/protocol.js';
import type { Change, Dao } from '../store/types.js';
import { buildView, viewOps } from './view.js';

export interface DeltaEntry {
  from: number;
  to: number;
  /** View hash after the delta. */
  hash: string;
  ops: DeltaOp[];
  payload: Buffer;
}

export interface SnapshotPayload {
  version: number;
  hash: string;
  payload: Buffer;
}

export interface ConfigStateOptions {
  /** Deltas kept for reconnecting data planes. */
  ringSize?: number;
  /** A batch with more changed rows than this is read as a full export instead. */
  maxDeltaRows?: number;
  /** Parallel dao.select() calls while reading a batch. */
  selectConcurrency?: number;
}

const CHANGES_PAGE = 1000;

export class ConfigState {
  private raw = new ConfigIndex();
  private view = new ConfigIndex();
  private currentHash = this.view.hash();
  private ring: DeltaEntry[] = [];
  /** View hash at ring[0].from. */
  private ringBaseHash = this.currentHash;
  private payloadCache: { version: number; hash: string; promise: Promise<SnapshotPayload> } | null = null;
  private configuredPlugins: { version: number; names: Set<string> } | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private readonly listeners = new Set<(entry: DeltaEntry | null) => void>();
  private readonly ringSize: number;
  private readonly maxDeltaRows: number;
  private readonly selectConcurrency: number;

  constructor(
    private readonly dao: Dao,
    private readonly log: Logger,
    options: ConfigStateOptions = {},
  ) {
    this.ringSize = options.ringSize ?? 256;
    this.maxDeltaRows = options.maxDeltaRows ?? 5000;
    this.selectConcurrency = options.selectConcurrency ?? 8;
  }

  get version(): number {
    return this.view.version;
  }

  get hash(): string {
    return this.currentHash;
  }

  /** Called after each new version: with its delta, or null after a full reload (no delta chain). */
  onUpdate(listener: (entry: DeltaEntry | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What data planes get (read only: downgraded copies are built from it). */
  viewIndex(): ConfigIndex {
    return this.view;
  }

  /** Plugin names configured in what data planes get (for plugin compatibility). */
  pluginNames(): Set<string> {
    if (this.configuredPlugins?.version !== this.version) {
      const names = new Set<string>();
      for (const p of this.view.list('plugins')) names.add(p.name);
      this.configuredPlugins = { version: this.version, names };
    }
    return this.configuredPlugins.names;
  }

  async load(): Promise<void> {
    const snapshot = await this.dao.exportSnapshot();
    this.raw = ConfigIndex.fromSnapshot(snapshot);
    this.view = buildView(this.raw);
    this.currentHash = this.view.hash();
    this.ring = [];
    this.ringBaseHash = this.currentHash;
    this.payloadCache = null;
  }

  /** The full snapshot of the current version, serialized and compressed once and shared. */
  snapshotPayload(): Promise<SnapshotPayload> {
    const { version, hash } = this;
    if (this.payloadCache?.version === version && this.payloadCache.hash === hash) return this.payloadCache.promise;
    const json = this.view.toCanonicalJson(hash);
    const promise = compress(json).then((payload) => ({ version, hash, payload }));
    this.payloadCache = { version, hash, promise };
    promise.catch(() => {
      if (this.payloadCache?.promise === promise) this.payloadCache = null;
    });
    return promise;
  }

  /**
   * The deltas that bring a data plane at (version, hash) to the current version, or null when
   * that needs a full snapshot (version unknown here, or the hash is not what we had then).
   */
  deltasSince(version: number, hash: string): DeltaEntry[] | null {
    if (version === this.version) return hash === this.hash ? [] : null;
    const start = this.ring.findIndex((e) => e.from === version);
    if (start < 0) return null;
    const expected = start === 0 ? this.ringBaseHash : this.ring[start - 1]!.hash;
    return expected === hash ? this.ring.slice(start) : null;
  }

  /** Reads every committed change since our version; serialized, and re-run when asked meanwhile. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.catchUp();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async readChanges(after: number): Promise<Change[] | null> {
    const all: Change[] = [];
    for (;;) {
      const page = await this.dao.changesSince(after, CHANGES_PAGE);
      all.push(...page);
      if (page.length < CHANGES_PAGE) return all;
      if (all.length > this.maxDeltaRows) return null;
      after = page[page.length - 1]!.version;
    }
  }

  private async selectRows(keys: Map<string, { entity: SnapshotEntity; id: string }>, rows: Map<string, Row | null>): Promise<void> {
    const list = [...keys.entries()];
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const [k, { entity, id }] = list[next++]!;
        rows.set(k, await this.dao.select(entity, id));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.selectConcurrency, list.length) }, worker));
  }

  private async catchUp(): Promise<void> {
    const changes = await this.readChanges(this.version);
    if (changes === null) return this.reload('many changes');
    if (changes.length === 0) return;
    let to = changes[changes.length - 1]!.version;
    const keys = keyed(changes);
    if (keys.size > this.maxDeltaRows) return this.reload('many changes');
    const rows = new Map<string, Row | null>();
    await this.selectRows(keys, rows);
    // Rows were read one by one: if nothing committed after `to` before we finished, they are
    // exactly the config at `to`. Otherwise re-read what changed meanwhile (a few rounds at most;
    // under constant writes the next batch corrects any row read ahead of its version).
    for (let round = 0; round < 3; round++) {
      if ((await this.dao.configVersion()) <= to) break;
      const more = await this.readChanges(to);
      if (more === null) return this.reload('many changes');
      if (!more.length) break;
      to = more[more.length - 1]!.version;
      const moreKeys = keyed(more);
      for (const [k, v] of moreKeys) keys.set(k, v);
      if (keys.size > this.maxDeltaRows) return this.reload('many changes');
      await this.selectRows(moreKeys, rows);
    }
    // viewOps reads raw after the change but view before it; state changes below happen in one
    // synchronous step (after the payload is compressed) so a hello never sees half of it
    const from = this.version;
    const previousRows = new Map<string, Row | undefined>();
    for (const [k, { entity, id }] of keys) {
      previousRows.set(k, this.raw.get(entity, id));
      const row = rows.get(k);
      if (row) this.raw.set(entity, row);
      else this.raw.delete(entity, id);
    }
    const ops = viewOps(this.raw, this.view, keys.values());
    let payload: Buffer;
    try {
      payload = await encodeDeltaPayload(ops);
    } catch (err) {
      for (const [k, { entity, id }] of keys) {
        const prev = previousRows.get(k);
        if (prev) this.raw.set(entity, prev);
        else this.raw.delete(entity, id);
      }
      throw err;
    }
    this.raw.version = to;
    const hashBefore = this.currentHash;
    this.view.apply(ops);
    this.view.version = to;
    this.currentHash = ops.length ? this.view.hash() : hashBefore;
    const entry: DeltaEntry = { from, to, hash: this.currentHash, ops, payload };
    if (this.ring.length === 0) this.ringBaseHash = hashBefore;
    this.ring.push(entry);
    while (this.ring.length > this.ringSize) this.ringBaseHash = this.ring.shift()!.hash;
    this.log.debug({ from, to, ops: ops.length, hash: this.currentHash }, 'config delta built');
    this.emit(entry);
  }

  private async reload(why: string): Promise<void> {
    const before = this.version;
    await this.load();
    this.log.info({ from: before, to: this.version, why }, 'config reloaded in full');
    this.emit(null);
  }

  private emit(entry: DeltaEntry | null): void {
    for (const l of this.listeners) {
      try {
        l(entry);
      } catch (err) {
        this.log.error({ err }, 'config update listener failed');
      }
    }
  }
}

function keyed(changes: Change[]): Map<string, { entity: SnapshotEntity; id: string }> {
  const keys = new Map<string, { entity: SnapshotEntity; id: string }>();
  for (const c of changes) {
    if (isSnapshotEntity(c.entity)) keys.set(`${c.entity}\0${c.id}`, { entity: c.entity, id: c.id });
  }
  return keys;
}
