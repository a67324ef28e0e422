// A config held as maps (entity → id → row) that takes delta ops and keeps the config hash up to
// date in O(changed rows): the hash is order-free (shared/snapshot.ts configHash), so each row's
// digest is added once and swapped when the row changes. Once hash() has been asked, digests are
// tracked; rows' canonical JSON is kept too unless keepCanonical is false (the data plane, which
// never serializes the config canonically, saves a copy of it that way).
// The hash equals shared/snapshot.ts snapshotHash() of the same rows (tested).
import { canonicalJson, configHash, DIGEST_MODULUS, rowDigest, SNAPSHOT_ENTITIES, type Row, type Snapshot, type SnapshotEntity } from '../snapshot.js';

export type DeltaOp =
  | { entity: SnapshotEntity; op: 'upsert'; row: Row }
  | { entity: SnapshotEntity; op: 'delete'; id: string };

const SNAPSHOT_ENTITY_SET: ReadonlySet<string> = new Set(SNAPSHOT_ENTITIES);

export function isSnapshotEntity(name: unknown): name is SnapshotEntity {
  return typeof name === 'string' && SNAPSHOT_ENTITY_SET.has(name);
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface ConfigIndexOptions {
  /** Keep each row's canonical JSON for toCanonicalJson() (default true; the control plane's payloads). */
  keepCanonical?: boolean;
}

export class ConfigIndex {
  version = 0;
  private readonly rows = new Map<SnapshotEntity, Map<string, Row>>();
  private readonly canon = new Map<SnapshotEntity, Map<string, string>>();
  /** Per-row digests; null until hash() is first asked. */
  private digests: Map<SnapshotEntity, Map<string, bigint>> | null = null;
  private digestSum = 0n;
  private readonly keepCanonical: boolean;

  constructor(options: ConfigIndexOptions = {}) {
    this.keepCanonical = options.keepCanonical ?? true;
    for (const e of SNAPSHOT_ENTITIES) {
      this.rows.set(e, new Map());
      this.canon.set(e, new Map());
    }
  }

  static fromSnapshot(s: Omit<Snapshot, 'hash'> & { hash?: string }, options?: ConfigIndexOptions): ConfigIndex {
    const index = new ConfigIndex(options);
    index.version = s.version;
    for (const e of SNAPSHOT_ENTITIES) {
      const rows = (s as any)[e];
      if (!Array.isArray(rows)) throw new Error(`snapshot has no "${e}" list`);
      const m = index.rows.get(e)!;
      for (const r of rows) {
        if (!r || typeof r !== 'object' || typeof r.id !== 'string') throw new Error(`a row of "${e}" has no id`);
        m.set(r.id, r);
      }
    }
    return index;
  }

  get(entity: SnapshotEntity, id: string): Row | undefined {
    return this.rows.get(entity)!.get(id);
  }

  list(entity: SnapshotEntity): IterableIterator<Row> {
    return this.rows.get(entity)!.values();
  }

  count(entity?: SnapshotEntity): number {
    if (entity) return this.rows.get(entity)!.size;
    let n = 0;
    for (const m of this.rows.values()) n += m.size;
    return n;
  }

  set(entity: SnapshotEntity, row: Row): void {
    this.rows.get(entity)!.set(row.id, row);
    this.canon.get(entity)!.delete(row.id);
    const digests = this.digests?.get(entity);
    if (digests) {
      const before = digests.get(row.id);
      const after = rowDigest(entity, this.canonical(entity, row.id));
      digests.set(row.id, after);
      this.digestSum += after - (before ?? 0n);
    }
  }

  delete(entity: SnapshotEntity, id: string): boolean {
    const existed = this.rows.get(entity)!.delete(id);
    if (existed) {
      this.canon.get(entity)!.delete(id);
      const digests = this.digests?.get(entity);
      const before = digests?.get(id);
      if (before !== undefined) {
        digests!.delete(id);
        this.digestSum -= before;
      }
    }
    return existed;
  }

  apply(ops: readonly DeltaOp[]): void {
    for (const op of ops) {
      if (!isSnapshotEntity(op.entity)) throw new Error(`unknown entity "${String(op.entity)}" in delta`);
      if (op.op === 'upsert') {
        if (!op.row || typeof op.row.id !== 'string') throw new Error(`delta upsert of "${op.entity}" has no row id`);
        this.set(op.entity, op.row);
      } else if (op.op === 'delete') {
        this.delete(op.entity, op.id);
      } else {
        throw new Error(`unknown delta op "${String((op as any).op)}"`);
      }
    }
  }

  /** Canonical JSON of one row (cached unless keepCanonical is false). */
  canonical(entity: SnapshotEntity, id: string): string {
    const cache = this.canon.get(entity)!;
    let s = cache.get(id);
    if (s === undefined) {
      s = canonicalJson(this.rows.get(entity)!.get(id));
      if (this.keepCanonical) cache.set(id, s);
    }
    return s;
  }

  /** Same value as snapshotHash() of toSnapshot(); O(1) once digests are tracked (the first call computes them). */
  hash(): string {
    if (!this.digests) {
      const digests = new Map<SnapshotEntity, Map<string, bigint>>();
      let sum = 0n;
      for (const e of SNAPSHOT_ENTITIES) {
        const m = new Map<string, bigint>();
        for (const id of this.rows.get(e)!.keys()) {
          const d = rowDigest(e, this.canonical(e, id));
          m.set(id, d);
          sum += d;
        }
        digests.set(e, m);
      }
      this.digests = digests;
      this.digestSum = sum;
    }
    this.digestSum %= DIGEST_MODULUS;
    return configHash(this.digestSum, this.count());
  }

  /** Entity lists in insertion order (the export's created_at order, new rows last). */
  toSnapshot(hash = this.hash()): Snapshot {
    const s: any = { version: this.version, hash };
    for (const e of SNAPSHOT_ENTITIES) s[e] = [...this.rows.get(e)!.values()];
    return s as Snapshot;
  }

  /**
   * Canonical JSON of toSnapshot() built from the cached row strings (object keys sorted, as
   * canonicalJson does), so a large config is serialized once per row, not once per version.
   */
  toCanonicalJson(hash = this.hash()): string {
    const parts: Array<[string, string]> = [
      ['hash', JSON.stringify(hash)],
      ['version', JSON.stringify(this.version)],
    ];
    for (const e of SNAPSHOT_ENTITIES) {
      const rows: string[] = [];
      for (const id of this.rows.get(e)!.keys()) rows.push(this.canonical(e, id));
      parts.push([e, `[${rows.join(',')}]`]);
    }
    parts.sort((a, b) => byKey(a[0], b[0]));
    return `{${parts.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  }
}
