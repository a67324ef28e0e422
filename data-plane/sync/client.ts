// The data plane's gRPC sync client: one stream to the control plane, a hello with the config it
// can take deltas onto, then every snapshot/delta is verified against its hash, handed to
// `apply`, reported back (Applied / ApplyError) and cached on disk. Reconnects with jittered
// exponential backoff and resumes from its version.
import { hostname as osHostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../../shared/config.js';
import { parseAddress } from '../../shared/config.js';
import type { Logger } from '../../shared/log.js';
import { EMPTY_CONFIG_HASH, type Snapshot } from '../../shared/snapshot.js';
import { ConfigIndex } from '../../shared/sync/config-index.js';
import { loadSyncService } from '../../shared/sync/proto.js';
import {
  decodeDeltaPayload,
  decodeSnapshotPayload,
  MAX_MESSAGE_BYTES,
  type ControlPlaneMessage,
  type DataPlaneMessage,
  type DeltaMessage,
  type PluginInfo,
  type SnapshotMessage,
  type SyncStatus,
} from '../../shared/sync/protocol.js';
import { VERSION } from '../proxy/version.js';
import { loadCachedSnapshot, writeCachedSnapshot, writeCachedSnapshotPayload } from './cache.js';
import { clientSecurity } from './credentials.js';
import { loadOrCreateNodeId } from './node-id.js';

export type SyncClientConfig = Pick<
  Config,
  | 'cluster_control_plane'
  | 'cluster_mtls'
  | 'cluster_cert'
  | 'cluster_cert_key'
  | 'cluster_ca_cert'
  | 'cluster_server_name'
  | 'cluster_plaintext'
  | 'prefix'
  | 'node_id'
>;

export interface SyncClientOptions {
  config: SyncClientConfig;
  log: Logger;
  /** Default: config.node_id, else the id kept in <prefix>/node_id (created once). */
  nodeId?: string;
  hostname?: string;
  /** Product version sent in the hello (default: package.json). */
  version?: string;
  plugins: PluginInfo[];
  labels?: Record<string, string>;
  /** Validates/compiles and swaps the config; throwing keeps the old one (reported to the CP). */
  apply: (snapshot: Snapshot) => Promise<void> | void;
  /** The config being served. */
  current: () => { version: number; hash: string };
  /**
   * The config already applied (e.g. from the cache), to take deltas onto. Default: the cache
   * file, when its hash is the one current() reports.
   */
  initial?: Snapshot | null;
  /** Write <prefix>/config.cache.json.gz after applied configs (default true). */
  cache?: boolean;
  /**
   * A config is written to the cache this long after it was applied (ms, default 1000): a burst of
   * changes costs one write of the latest. idle() and close() write a pending config at once.
   */
  cacheDelayMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** How often the data plane tells the control plane which config it serves (ms). */
  heartbeatMs?: number;
}

export interface SyncClientState {
  connected: boolean;
  lastError: string | null;
  version: number;
  hash: string;
  /** The control plane's verdict (unknown until it sends one, normal once configured). */
  syncStatus: SyncStatus;
  /** Messages received since start: full snapshots and deltas. */
  received: { snapshots: number; deltas: number };
}

export interface SyncClient {
  state(): SyncClientState;
  /** Resolves once no message is being processed and no cache write is pending (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

type SyncCall = grpc.ClientDuplexStream<DataPlaneMessage, ControlPlaneMessage>;

/** The data plane never serializes its config canonically: no copy of each row's canonical JSON. */
const INDEX_OPTIONS = { keepCanonical: false };

// "Failed to connect": the socket closed after TCP and TLS but before HTTP/2 (a TLS 1.3 server refusing our certificate)
const TLS_FAILURE = /certificate|ECONNRESET|handshake|SSL|TLS|alert|Failed to connect/i;
const TLS_HINT =
  'the TLS handshake with the control plane failed: check that cluster_cert/cluster_cert_key (and cluster_ca_cert in pki mode) ' +
  'are the ones the control plane trusts, and that it presents a certificate we trust';

export function startSyncClient(opts: SyncClientOptions): SyncClient {
  const { config, log } = opts;
  const nodeId = opts.nodeId ?? loadOrCreateNodeId(config.prefix, config.node_id);
  const minMs = opts.backoffMinMs ?? 100;
  const maxMs = opts.backoffMaxMs ?? 5000;
  const useCache = opts.cache !== false;
  const cacheDelayMs = opts.cacheDelayMs ?? 1000;
  const security = clientSecurity(config);
  const { host, port } = parseAddress(config.cluster_control_plane);
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const { Client } = loadSyncService();
  const client = new Client(target, security.credentials, {
    ...security.options,
    'grpc.keepalive_time_ms': opts.keepaliveMs ?? 20_000,
    'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.initial_reconnect_backoff_ms': minMs,
    'grpc.max_reconnect_backoff_ms': maxMs,
  });

  let closed = false;
  let call: SyncCall | null = null;
  let connected = false;
  let lastError: string | null = null;
  let syncStatus: SyncStatus = 'unknown';
  let delay = minMs;
  let reconnectTimer: NodeJS.Timeout | null = null;
  /** The last verified config received: deltas apply onto it (may be ahead of what is served if an apply failed). */
  let base: ConfigIndex | null = null;
  let baseHash = EMPTY_CONFIG_HASH;
  let forceFull = false;
  let applied: { version: number; hash: string } | null = null;
  let work: Promise<void> = Promise.resolve();
  let queue: ControlPlaneMessage[] = [];
  let cacheWrite: Promise<void> = Promise.resolve();
  /** The config to cache next, with the gzip'd payload it came in when it was a full snapshot (written as is). */
  let cacheNext: { snapshot: Snapshot; gzPayload: Buffer | null } | null = null;
  let cacheTimer: NodeJS.Timeout | null = null;
  const received = { snapshots: 0, deltas: 0 };

  const ready = (async () => {
    let initial = opts.initial;
    if (initial === undefined && useCache) {
      initial = await loadCachedSnapshot(config.prefix, log);
      if (initial && initial.hash !== opts.current().hash) initial = null;
    }
    if (initial) {
      try {
        base = ConfigIndex.fromSnapshot(initial, INDEX_OPTIONS);
        baseHash = base.hash();
        if (baseHash !== initial.hash) base = null;
      } catch {
        base = null;
      }
    }
  })();

  function served(): { version: number; hash: string } {
    const c = opts.current();
    return applied && applied.version >= c.version ? applied : c;
  }

  function send(m: DataPlaneMessage): void {
    try {
      call?.write(m);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'sync: write to control plane failed');
    }
  }

  function connect(): void {
    if (closed) return;
    const c = client.Sync() as SyncCall;
    call = c;
    queue = [];
    let done = false;
    const lost = (why: string) => {
      if (done) return;
      done = true;
      if (call === c) call = null;
      connected = false;
      if (closed) return;
      // after a version rejection the CP closes the stream: keep its reason as the error
      if (syncStatus !== 'kong_version_incompatible') lastError = why;
      scheduleReconnect();
    };
    c.on('metadata', () => {
      if (call !== c) return;
      connected = true;
      delay = minMs;
      log.info({ control_plane: target }, 'sync: connected to the control plane');
    });
    c.on('data', (m: ControlPlaneMessage) => {
      if (call !== c) return;
      if (m.snapshot) {
        received.snapshots++;
        queue = []; // a snapshot supersedes whatever is still waiting
      } else if (m.delta) received.deltas++;
      queue.push(m);
      pump(c);
    });
    c.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED || !closed) {
        const details = err.details || err.message;
        // a refused client certificate shows up here only as a reset handshake: say where to look
        const tls = !connected && !config.cluster_plaintext && err.code === grpc.status.UNAVAILABLE && TLS_FAILURE.test(details);
        log.warn(
          { control_plane: target, code: err.code, err: details, ...(tls ? { hint: TLS_HINT } : {}) },
          'sync: stream to the control plane failed',
        );
      }
      lost(err.details || err.message);
    });
    c.on('end', () => lost('control plane closed the stream'));
    const have = forceFull || !base ? { version: 0, hash: '' } : { version: base.version, hash: baseHash };
    send({
      hello: {
        node_id: nodeId,
        hostname: opts.hostname ?? osHostname(),
        version: opts.version ?? VERSION,
        plugins: opts.plugins,
        config_version: have.version,
        config_hash: have.hash,
        labels: opts.labels ?? {},
      },
    });
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    const wait = syncStatus === 'kong_version_incompatible' ? maxMs : delay;
    const jittered = Math.round(wait / 2 + Math.random() * (wait / 2));
    delay = Math.min(delay * 2, maxMs);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, jittered);
  }

  /** Drops the stream and starts over with a hello (e.g. to get a full snapshot). */
  function resync(why: string, full: boolean): void {
    lastError = why;
    if (full) {
      forceFull = true;
      base = null;
    }
    const c = call;
    call = null;
    connected = false;
    queue = [];
    c?.cancel();
    scheduleReconnect();
  }

  function pump(c: SyncCall): void {
    work = work.then(async () => {
      while (queue.length && call === c && !closed) {
        const m = queue.shift()!;
        try {
          if (m.snapshot) await onSnapshot(m.snapshot);
          else if (m.delta) await onDelta(m.delta);
          else if (m.rejected) onRejected(m.rejected);
        } catch (err) {
          log.error({ err: (err as Error)?.message ?? String(err) }, 'sync: message from the control plane could not be handled');
          resync((err as Error)?.message ?? String(err), true);
        }
      }
    });
  }

  async function onSnapshot(m: SnapshotMessage): Promise<void> {
    const snapshot = await decodeSnapshotPayload(m);
    const index = ConfigIndex.fromSnapshot(snapshot, INDEX_OPTIONS);
    const hash = index.hash();
    if (hash !== m.hash) {
      send({ apply_error: { version: m.version, hash: m.hash, message: `snapshot hash mismatch: received ${m.hash}, content is ${hash}` } });
      throw new Error(`snapshot ${m.version} does not match its hash`);
    }
    base = index;
    baseHash = hash;
    forceFull = false;
    await applyAndReport(snapshot, m.compressed ? m.payload : null);
  }

  async function onDelta(m: DeltaMessage): Promise<void> {
    if (!base || base.version !== m.from_version) {
      log.warn({ have: base?.version ?? null, from: m.from_version }, 'sync: delta does not follow our version; resynchronizing');
      resync('out of sequence delta', false);
      return;
    }
    const ops = await decodeDeltaPayload(m.payload);
    base.apply(ops);
    base.version = m.to_version;
    baseHash = base.hash();
    if (baseHash !== m.hash) {
      send({ apply_error: { version: m.to_version, hash: m.hash, message: `delta hash mismatch: expected ${m.hash}, got ${baseHash}` } });
      throw new Error(`config after delta ${m.from_version}→${m.to_version} does not match its hash`);
    }
    await applyAndReport(base.toSnapshot(baseHash));
  }

  function onRejected(r: { sync_status: SyncStatus; message: string }): void {
    syncStatus = r.sync_status;
    lastError = `${r.sync_status}: ${r.message}`;
    log.error({ sync_status: r.sync_status, reason: r.message }, 'sync: the control plane does not configure this data plane; keeping the current config');
  }

  async function applyAndReport(snapshot: Snapshot, gzPayload: Buffer | null = null): Promise<void> {
    syncStatus = 'normal';
    const now = served();
    if (applied === null || now.hash !== snapshot.hash) {
      try {
        await opts.apply(snapshot);
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        lastError = `apply failed: ${message}`;
        log.error({ version: snapshot.version, hash: snapshot.hash, err: message }, 'sync: config could not be applied; keeping the current one');
        send({ apply_error: { version: snapshot.version, hash: snapshot.hash, message } });
        return;
      }
    }
    applied = { version: snapshot.version, hash: snapshot.hash };
    lastError = null;
    send({ applied: { version: snapshot.version, hash: snapshot.hash } });
    if (useCache) persist(snapshot, gzPayload);
  }

  /** Delayed and coalesced: at most one write in flight, and only of the newest config. */
  function persist(snapshot: Snapshot, gzPayload: Buffer | null): void {
    cacheNext = { snapshot, gzPayload };
    if (!cacheTimer) {
      cacheTimer = setTimeout(flushCache, cacheDelayMs);
      cacheTimer.unref();
    }
  }

  function flushCache(): void {
    if (cacheTimer) clearTimeout(cacheTimer);
    cacheTimer = null;
    if (!cacheNext) return;
    cacheWrite = cacheWrite.then(async () => {
      const next = cacheNext;
      cacheNext = null;
      if (!next) return;
      const { snapshot: s, gzPayload } = next;
      try {
        if (gzPayload) await writeCachedSnapshotPayload(config.prefix, s.version, s.hash, gzPayload);
        else await writeCachedSnapshot(config.prefix, s);
      } catch (err) {
        log.error({ err: (err as Error).message, prefix: config.prefix }, 'sync: config cache could not be written');
      }
    });
  }

  const heartbeat = setInterval(() => {
    if (!connected) return;
    const s = served();
    send({ heartbeat: { config_version: s.version, config_hash: s.hash } });
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();

  void ready.then(connect);

  return {
    state() {
      const s = served();
      return { connected, lastError, version: s.version, hash: s.hash, syncStatus, received: { ...received } };
    },
    async idle() {
      for (;;) {
        const w = work;
        await w;
        flushCache();
        const cw = cacheWrite;
        await cw;
        if (w === work && cw === cacheWrite && !queue.length && !cacheNext) return;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      call?.cancel();
      call = null;
      connected = false;
      await ready.catch(() => undefined);
      await work.catch(() => undefined);
      flushCache();
      await cacheWrite.catch(() => undefined);
      client.close();
    },
  };
}
