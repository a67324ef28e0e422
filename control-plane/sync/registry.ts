// The control plane's list of data planes (GET /clustering/data-planes), kept in memory and
// updated on hello, applied/apply errors and heartbeats. Rows are dropped `purgeDelaySeconds`
// after they were last seen (Kong's cluster_data_plane_purge_delay, 14 days).
import type { SyncStatus } from '../../shared/sync/protocol.js';

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
  /** Seconds until the row is purged. */
  ttl: number;
  labels: Record<string, string>;
  /** Epoch seconds. */
  updated_at: number;
  /** Silverback additions: the config version served, whether a stream is open, the last apply error. */
  config_version: number;
  connected: boolean;
  last_error: string | null;
}

export const DEFAULT_PURGE_DELAY_SECONDS = 14 * 24 * 3600;

type Stored = Omit<DataPlaneInfo, 'ttl'>;

export class DataPlaneRegistry {
  private readonly rows = new Map<string, Stored>();

  constructor(private readonly purgeDelaySeconds = DEFAULT_PURGE_DELAY_SECONDS) {}

  update(id: string, patch: Partial<Omit<DataPlaneInfo, 'id' | 'ttl' | 'last_seen' | 'updated_at'>>): void {
    const now = Math.floor(Date.now() / 1000);
    const prev = this.rows.get(id);
    const row: Stored = {
      id,
      hostname: '',
      ip: '',
      version: '',
      sync_status: 'unknown',
      config_hash: '',
      labels: {},
      config_version: 0,
      connected: false,
      last_error: null,
      ...prev,
      ...patch,
      last_seen: now,
      updated_at: now,
    };
    this.rows.set(id, row);
  }

  get(id: string): DataPlaneInfo | undefined {
    const row = this.rows.get(id);
    return row ? this.withTtl(row, Math.floor(Date.now() / 1000)) : undefined;
  }

  list(): DataPlaneInfo[] {
    const now = Math.floor(Date.now() / 1000);
    const out: DataPlaneInfo[] = [];
    for (const row of this.rows.values()) {
      if (!row.connected && now - row.last_seen > this.purgeDelaySeconds) {
        this.rows.delete(row.id);
        continue;
      }
      out.push(this.withTtl(row, now));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private withTtl(row: Stored, now: number): DataPlaneInfo {
    return { ...row, ttl: Math.max(0, this.purgeDelaySeconds - (now - row.last_seen)) };
  }
}
