// The sync protocol's message shapes (as @grpc/proto-loader decodes them with keepCase, longs as
// numbers, oneofs) and the payload codec shared by both ends. See proto/silverback/sync/v1/sync.proto.
import { gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { SNAPSHOT_ENTITIES, type Snapshot } from '../snapshot.js';
import { isSnapshotEntity, type DeltaOp } from './config-index.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export type SyncStatus =
  | 'unknown'
  | 'normal'
  | 'kong_version_incompatible'
  | 'plugin_set_incompatible'
  | 'plugin_version_incompatible';

export interface PluginInfo {
  name: string;
  version: string;
}

export interface HelloMessage {
  node_id: string;
  hostname: string;
  version: string;
  plugins: PluginInfo[];
  config_version: number;
  config_hash: string;
  labels: Record<string, string>;
}

export interface DataPlaneMessage {
  message?: 'hello' | 'applied' | 'apply_error' | 'heartbeat';
  hello?: HelloMessage;
  applied?: { version: number; hash: string };
  apply_error?: { version: number; hash: string; message: string };
  heartbeat?: { config_version: number; config_hash: string };
}

export interface SnapshotMessage {
  version: number;
  hash: string;
  payload: Buffer;
  compressed: boolean;
}

export interface DeltaMessage {
  from_version: number;
  to_version: number;
  hash: string;
  payload: Buffer;
}

export interface ControlPlaneMessage {
  message?: 'snapshot' | 'delta' | 'rejected';
  snapshot?: SnapshotMessage;
  delta?: DeltaMessage;
  rejected?: { sync_status: SyncStatus; message: string };
}

/** Largest message either end accepts (compressed payload). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export async function compress(json: string): Promise<Buffer> {
  return gzipAsync(Buffer.from(json, 'utf8'));
}

/** Output chunks at most this large are sized to the whole inflated payload. */
const MAX_ONE_CHUNK = 64 * 1024 * 1024;

async function inflate(payload: Buffer, compressed: boolean): Promise<string> {
  if (!compressed) return payload.toString('utf8');
  // gzip's trailer holds the inflated size (mod 2^32): one output chunk of that size spares zlib
  // collecting 16 KiB chunks and concatenating them into a second copy of the whole payload
  const size = payload.length >= 18 ? payload.readUInt32LE(payload.length - 4) : 0;
  const chunkSize = size >= 64 * 1024 && size < MAX_ONE_CHUNK ? size + 1 : undefined;
  return (await gunzipAsync(payload, chunkSize ? { chunkSize } : {})).toString('utf8');
}

/** Snapshot payload → Snapshot (shape checked; the caller verifies the hash). */
export async function decodeSnapshotPayload(m: SnapshotMessage): Promise<Snapshot> {
  const data = JSON.parse(await inflate(m.payload, m.compressed));
  if (!data || typeof data !== 'object') throw new Error('snapshot payload is not an object');
  for (const e of SNAPSHOT_ENTITIES) {
    if (!Array.isArray(data[e])) throw new Error(`snapshot payload has no "${e}" list`);
  }
  data.version = m.version;
  data.hash = m.hash;
  return data as Snapshot;
}

export async function encodeDeltaPayload(ops: readonly DeltaOp[]): Promise<Buffer> {
  return compress(JSON.stringify(ops));
}

export async function decodeDeltaPayload(payload: Buffer): Promise<DeltaOp[]> {
  const ops = JSON.parse(await inflate(payload, true));
  if (!Array.isArray(ops)) throw new Error('delta payload is not a list');
  for (const op of ops) {
    if (!op || !isSnapshotEntity(op.entity)) throw new Error(`delta names an unknown entity "${String(op?.entity)}"`);
    if (op.op === 'upsert' ? typeof op.row?.id !== 'string' : op.op !== 'delete' || typeof op.id !== 'string') {
      throw new Error(`malformed delta op for "${op.entity}"`);
    }
  }
  return ops as DeltaOp[];
}

/** "3.9.1-beta" → [3, 9, 1]; null when not a version. */
export function parseVersion(v: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}
