// SQL for the clustering_data_planes table (migration 001). Times are taken from the database
// clock so that every control plane, whatever its own clock, computes the same ages and TTLs.
// These writes are bookkeeping, not config: they never touch the change log or NOTIFY.
import type pg from 'pg';

/** What a control plane writes about one data plane. */
export interface DataPlaneRecord {
  id: string;
  hostname: string;
  ip: string;
  version: string;
  sync_status: string;
  config_hash: string;
  config_version: number;
  labels: Record<string, string>;
  last_error: string | null;
  cert_details: { expiry_timestamp: number } | null;
  /** How long ago (ms, by the writer's clock) the data plane last sent something / the row last changed. */
  seenAgoMs: number;
  updatedAgoMs: number;
}

/** A row as read back: times in epoch seconds, `age` = seconds since last_seen (database clock). */
export interface StoredDataPlane extends Omit<DataPlaneRecord, 'seenAgoMs' | 'updatedAgoMs'> {
  last_seen: number;
  updated_at: number;
  age: number;
}

const COLUMNS = `id, hostname, ip, version, sync_status, config_hash, config_version, labels, last_error, cert_details,
  EXTRACT(EPOCH FROM last_seen)::float8 AS last_seen, EXTRACT(EPOCH FROM updated_at)::float8 AS updated_at,
  EXTRACT(EPOCH FROM now() - last_seen)::float8 AS age`;

const LIVE = `last_seen > now() - make_interval(secs => $1)`;

export class DataPlaneStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly purgeDelaySeconds: number,
  ) {}

  /**
   * Inserts or replaces the row. A write carrying an older last_seen than the stored one loses
   * (a control plane retrying after an outage must not undo what another one wrote since).
   */
  async upsert(r: DataPlaneRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO clustering_data_planes
         (id, hostname, ip, version, sync_status, config_hash, config_version, labels, last_error, cert_details, last_seen, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
         now() - make_interval(secs => $11::float8 / 1000), now() - make_interval(secs => $12::float8 / 1000))
       ON CONFLICT (id) DO UPDATE SET
         hostname = EXCLUDED.hostname, ip = EXCLUDED.ip, version = EXCLUDED.version, sync_status = EXCLUDED.sync_status,
         config_hash = EXCLUDED.config_hash, config_version = EXCLUDED.config_version, labels = EXCLUDED.labels,
         last_error = EXCLUDED.last_error, cert_details = EXCLUDED.cert_details,
         last_seen = EXCLUDED.last_seen, updated_at = EXCLUDED.updated_at
       WHERE clustering_data_planes.last_seen <= EXCLUDED.last_seen`,
      [
        r.id,
        r.hostname,
        r.ip,
        r.version,
        r.sync_status,
        r.config_hash,
        r.config_version,
        JSON.stringify(r.labels),
        r.last_error,
        r.cert_details ? JSON.stringify(r.cert_details) : null,
        Math.max(0, r.seenAgoMs),
        Math.max(0, r.updatedAgoMs),
      ],
    );
  }

  /**
   * Rows not yet past the purge delay with id > `after`, by id compared byte-wise (whatever the
   * database's collation), so every control plane pages in the same order.
   */
  async page(after: string | null, size: number): Promise<{ data: StoredDataPlane[]; more: boolean }> {
    const res = await this.pool.query(
      `SELECT ${COLUMNS} FROM clustering_data_planes
       WHERE ${LIVE} AND ($2::text IS NULL OR id COLLATE "C" > $2::text)
       ORDER BY id COLLATE "C" LIMIT $3`,
      [this.purgeDelaySeconds, after, size + 1],
    );
    const rows = res.rows.map(toStored);
    return { data: rows.slice(0, size), more: rows.length > size };
  }

  async all(): Promise<StoredDataPlane[]> {
    const res = await this.pool.query(`SELECT ${COLUMNS} FROM clustering_data_planes WHERE ${LIVE} ORDER BY id COLLATE "C"`, [
      this.purgeDelaySeconds,
    ]);
    return res.rows.map(toStored);
  }

  /** Deletes rows last seen longer ago than the purge delay; returns how many. */
  async purge(): Promise<number> {
    const res = await this.pool.query(`DELETE FROM clustering_data_planes WHERE NOT (${LIVE})`, [this.purgeDelaySeconds]);
    return res.rowCount ?? 0;
  }
}

function toStored(r: Record<string, any>): StoredDataPlane {
  return {
    id: r.id,
    hostname: r.hostname ?? '',
    ip: r.ip ?? '',
    version: r.version ?? '',
    sync_status: r.sync_status,
    config_hash: r.config_hash ?? '',
    config_version: Number(r.config_version ?? 0),
    labels: r.labels ?? {},
    last_error: r.last_error ?? null,
    cert_details: r.cert_details ?? null,
    last_seen: r.last_seen,
    updated_at: r.updated_at,
    age: r.age,
  };
}
