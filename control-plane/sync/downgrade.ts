// Config for data planes older than the control plane: the same rows without the fields they do
// not know (removed-fields.ts), as Kong's compat downgrade. Every data plane needing the same set
// of fields removed shares one DowngradedConfig: a copy of the view kept up to date from the
// control plane's deltas, whose snapshot payload is built once per version and whose delta
// payloads are built once per change, with hashes of the downgraded content (what the data plane
// verifies). A copy lives only while data planes use it.
import type { Logger } from '../../shared/log.js';
import { SNAPSHOT_ENTITIES, type Row, type SnapshotEntity } from '../../shared/snapshot.js';
import { ConfigIndex, type DeltaOp } from '../../shared/sync/config-index.js';
import { compress, encodeDeltaPayload, parseVersion } from '../../shared/sync/protocol.js';
import type { ConfigState, DeltaEntry, SnapshotPayload } from './config-state.js';
import { compareTriples, parseRemovedFields, type RemovedFieldsEntry, type RemovedFieldsTable } from './removed-fields.js';

/** Fields to drop: per entity (every row) and per plugin name (plugin rows of that name). */
export interface StripPlan {
  entities: Map<SnapshotEntity, string[][]>;
  plugins: Map<string, string[][]>;
}

/**
 * The fields a data plane of `dpVersion` lacks: every entry newer than it, when it is older than
 * the control plane. `key` names the plan (the oldest entry applied: data planes of different
 * versions that lack the same fields share it). Null: send the normal config.
 */
export function stripPlanFor(
  entries: readonly RemovedFieldsEntry[],
  cpVersion: string,
  dpVersion: string,
): { key: string; plan: StripPlan } | null {
  const cp = parseVersion(cpVersion);
  const dp = parseVersion(dpVersion);
  if (!cp || !dp || compareTriples(dp, cp) >= 0) return null;
  const newer = entries.filter((e) => compareTriples(e.version, dp) > 0);
  if (!newer.length) return null;
  const plan: StripPlan = { entities: new Map(), plugins: new Map() };
  for (const e of newer) {
    for (const [key, paths] of e.fields) {
      const [map, name] = key.startsWith('plugins:')
        ? [plan.plugins as Map<string, string[][]>, key.slice('plugins:'.length)]
        : [plan.entities as Map<string, string[][]>, key];
      map.set(name, [...(map.get(name) ?? []), ...paths]);
    }
  }
  return { key: newer[0]!.version.join('.'), plan };
}

/** `row` without the plan's fields; the same object when it has none of them (rows are shared, never modified). */
export function stripRow(plan: StripPlan, entity: SnapshotEntity, row: Row): Row {
  let out = row;
  for (const path of plan.entities.get(entity) ?? []) out = without(out, path, 0);
  if (entity === 'plugins' && typeof row.name === 'string') {
    for (const path of plan.plugins.get(row.name) ?? []) out = without(out, path, 0);
  }
  return out;
}

export function stripOps(plan: StripPlan, ops: readonly DeltaOp[]): DeltaOp[] {
  return ops.map((op) => (op.op === 'upsert' ? { ...op, row: stripRow(plan, op.entity, op.row) } : op));
}

function without(value: any, path: readonly string[], i: number): any {
  if (Array.isArray(value)) {
    let copy: any[] | null = null;
    value.forEach((item, n) => {
      const next = without(item, path, i);
      if (next !== item) (copy ??= [...value])[n] = next;
    });
    return copy ?? value;
  }
  if (value === null || typeof value !== 'object') return value;
  const key = path[i]!;
  if (!Object.prototype.hasOwnProperty.call(value, key)) return value;
  if (i === path.length - 1) {
    const { [key]: _removed, ...rest } = value;
    return rest;
  }
  const child = without(value[key], path, i + 1);
  return child === value[key] ? value : { ...value, [key]: child };
}

export interface DowngradedDelta {
  from: number;
  to: number;
  hash: string;
  payload: Promise<Buffer>;
}

/** Where a data plane's config comes from: the control plane's config, or a downgraded copy. */
export interface ConfigSource {
  readonly version: number;
  readonly hash: string;
  snapshotPayload(): Promise<SnapshotPayload>;
  deltasSince(version: number, hash: string): Array<DeltaEntry | DowngradedDelta> | null;
}

export class DowngradedConfig implements ConfigSource {
  private index = new ConfigIndex();
  private currentHash = this.index.hash();
  private ring: DowngradedDelta[] = [];
  private ringBaseHash = this.currentHash;
  private payloadCache: { version: number; hash: string; promise: Promise<SnapshotPayload> } | null = null;
  users = 0;
  snapshotBuilds = 0;
  deltaBuilds = 0;
  readonly stop: () => void;

  constructor(
    readonly key: string,
    private readonly plan: StripPlan,
    private readonly state: ConfigState,
    private readonly ringSize: number,
    private readonly log: Logger,
  ) {
    this.rebuild();
    this.stop = state.onUpdate((entry) => this.follow(entry));
  }

  get version(): number {
    return this.index.version;
  }

  get hash(): string {
    return this.currentHash;
  }

  snapshotPayload(): Promise<SnapshotPayload> {
    const { version, hash } = this;
    if (this.payloadCache?.version === version && this.payloadCache.hash === hash) return this.payloadCache.promise;
    this.snapshotBuilds++;
    const promise = compress(this.index.toCanonicalJson(hash)).then((payload) => ({ version, hash, payload }));
    this.payloadCache = { version, hash, promise };
    promise.catch(() => {
      if (this.payloadCache?.promise === promise) this.payloadCache = null;
    });
    return promise;
  }

  deltasSince(version: number, hash: string): DowngradedDelta[] | null {
    if (version === this.version) return hash === this.hash ? [] : null;
    const start = this.ring.findIndex((e) => e.from === version);
    if (start < 0) return null;
    const expected = start === 0 ? this.ringBaseHash : this.ring[start - 1]!.hash;
    return expected === hash ? this.ring.slice(start) : null;
  }

  /** A fresh copy of the control plane's view (synchronous, so it is exactly one version). */
  private rebuild(): void {
    const view = this.state.viewIndex();
    const index = new ConfigIndex();
    for (const e of SNAPSHOT_ENTITIES) for (const row of view.list(e)) index.set(e, stripRow(this.plan, e, row));
    index.version = view.version;
    this.index = index;
    this.currentHash = index.hash();
    this.ring = [];
    this.ringBaseHash = this.currentHash;
    this.payloadCache = null;
  }

  private follow(entry: DeltaEntry | null): void {
    if (entry === null || entry.from !== this.index.version) {
      this.rebuild();
      return;
    }
    const ops = stripOps(this.plan, entry.ops);
    const hashBefore = this.currentHash;
    this.index.apply(ops);
    this.index.version = entry.to;
    this.currentHash = ops.length ? this.index.hash() : hashBefore;
    this.deltaBuilds++;
    const payload = encodeDeltaPayload(ops);
    payload.catch((err) => this.log.error({ err: (err as Error)?.message ?? String(err), key: this.key }, 'sync: downgraded delta could not be encoded'));
    if (this.ring.length === 0) this.ringBaseHash = hashBefore;
    this.ring.push({ from: entry.from, to: entry.to, hash: this.currentHash, payload });
    while (this.ring.length > this.ringSize) this.ringBaseHash = this.ring.shift()!.hash;
  }
}

export interface DowngradeStats {
  /** The oldest removed-fields version applied (data planes older than it). */
  key: string;
  data_planes: number;
  snapshot_builds: number;
  delta_builds: number;
}

/** The downgraded copies in use, one per set of removed fields, shared by their data planes. */
export class Downgrades {
  private readonly entries: RemovedFieldsEntry[];
  private readonly live = new Map<string, DowngradedConfig>();

  constructor(
    private readonly state: ConfigState,
    private readonly cpVersion: string,
    table: RemovedFieldsTable,
    private readonly log: Logger,
    private readonly ringSize = 256,
  ) {
    this.entries = parseRemovedFields(table);
  }

  /** The copy a data plane of `dpVersion` gets, or null for the normal config. Pair with release(). */
  acquire(dpVersion: string): DowngradedConfig | null {
    const found = stripPlanFor(this.entries, this.cpVersion, dpVersion);
    if (!found) return null;
    let d = this.live.get(found.key);
    if (!d) {
      d = new DowngradedConfig(found.key, found.plan, this.state, this.ringSize, this.log);
      this.live.set(found.key, d);
      this.log.info({ dp_version: dpVersion, fields_from: found.key }, 'sync: serving a downgraded config');
    }
    d.users++;
    return d;
  }

  release(d: DowngradedConfig): void {
    if (--d.users > 0 || this.live.get(d.key) !== d) return;
    d.stop();
    this.live.delete(d.key);
  }

  stats(): DowngradeStats[] {
    return [...this.live.values()].map((d) => ({
      key: d.key,
      data_planes: d.users,
      snapshot_builds: d.snapshotBuilds,
      delta_builds: d.deltaBuilds,
    }));
  }

  close(): void {
    for (const d of this.live.values()) d.stop();
    this.live.clear();
  }
}
