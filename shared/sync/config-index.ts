// A config held as maps (entity → id → row) that takes delta ops and recomputes the config hash
// without re-serializing every row: each row's canonical JSON is cached until the row changes.
// The hash equals shared/snapshot.ts snapshotHash() of the same rows (tested).
import { createHash } from 'node:crypto';
import { canonicalJson, EMPTY_CONFIG_HASH, SNAPSHOT_ENTITIES, type Row, type Snapshot, type SnapshotEntity } from '../snapshot.js';

export type DeltaOp =
  | { entity: SnapshotEntity; op: 'upsert'; row: Row }
  | { entity: SnapshotEntity; op: 'delete'; id: string };

const SNAPSHOT_ENTITY_SET: ReadonlySet<string> = new Set(SNAPSHOT_ENTITIES);

export function isSnapshotEntity(name: unknown): name is SnapshotEntity {
  return typeof name === 'string' && SNAPSHOT_ENTITY_SET.has(name);
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class ConfigIndex {
  version = 0;
  private readonly rows = new Map<SnapshotEntity, Map<string, Row>>();
  private readonly canon = new Map<SnapshotEntity, Map<string, string>>();
  private readonly sorted = new Map<SnapshotEntity, string[] | null>();

  constructor() {
    for (const e of SNAPSHOT_ENTITIES) {
      this.rows.set(e, new Map());
      this.canon.set(e, new Map());
      this.sorted.set(e, null);
    }
  }

  static fromSnapshot(s: Omit<Snapshot, 'hash'> & { hash?: string }): ConfigIndex {
    const index = new ConfigIndex();
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
    const m = this.rows.get(entity)!;
    if (!m.has(row.id)) this.sorted.set(entity, null);
    m.set(row.id, row);
    this.canon.get(entity)!.delete(row.id);
  }

  delete(entity: SnapshotEntity, id: string): boolean {
    const existed = this.rows.get(entity)!.delete(id);
    if (existed) {
      this.canon.get(entity)!.delete(id);
      this.sorted.set(entity, null);
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

  /** Canonical JSON of one row, cached. */
  canonical(entity: SnapshotEntity, id: string): string {
    const cache = this.canon.get(entity)!;
    let s = cache.get(id);
    if (s === undefined) {
      s = canonicalJson(this.rows.get(entity)!.get(id));
      cache.set(id, s);
    }
    return s;
  }

  private sortedIds(entity: SnapshotEntity): string[] {
    let ids = this.sorted.get(entity);
    if (!ids) {
      ids = [...this.rows.get(entity)!.keys()].sort(byId);
      this.sorted.set(entity, ids);
    }
    return ids;
  }

  /** Same value as snapshotHash() of toSnapshot(). */
  hash(): string {
    if (this.count() === 0) return EMPTY_CONFIG_HASH;
    const h = createHash('md5');
    for (const e of SNAPSHOT_ENTITIES) {
      h.update(e);
      for (const id of this.sortedIds(e)) h.update(this.canonical(e, id));
    }
    return h.digest('hex');
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
    parts.sort((a, b) => byId(a[0], b[0]));
    return `{${parts.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  }
}
