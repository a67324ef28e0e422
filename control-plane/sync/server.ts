// The control plane's gRPC sync server: one bidirectional stream per data plane. Answers a hello
// with the deltas since the DP's version (when we still have them and its hash matches) or the
// full snapshot, then pushes each committed change. Snapshot and delta payloads are built once
// per version and shared by every data plane; data planes older than us get them without the
// fields they do not know (downgrade.ts), built once per version for all of them.
import * as grpc from '@grpc/grpc-js';
import type pg from 'pg';
import type { Config, ListenAddress } from '../../shared/config.js';
import type { Logger } from '../../shared/log.js';
import { pluginSchemas } from '../../shared/plugins/registry.js';
import { loadSyncService } from '../../shared/sync/proto.js';
import {
  MAX_MESSAGE_BYTES,
  type ControlPlaneMessage,
  type DataPlaneMessage,
  type HelloMessage,
  type SyncStatus,
} from '../../shared/sync/protocol.js';
import type { Dao } from '../store/types.js';
import { checkPlugins, checkVersion, pluginMap } from './compat.js';
import { ConfigState, type ConfigStateOptions } from './config-state.js';
import { Downgrades, type ConfigSource, type DowngradedConfig, type DowngradeStats } from './downgrade.js';
import { REMOVED_FIELDS, type RemovedFieldsTable } from './removed-fields.js';
import { serverSecurity } from './credentials.js';
import { DataPlaneRegistry, type DataPlaneFields, type DataPlaneInfo, type RegistryOptions } from './registry.js';
import { SILVERBACK_VERSION } from '../../shared/version.js';
import { syncStats } from './sync-stats.js';

export interface SyncServerOptions {
  dao: Dao;
  config: Config;
  log: Logger;
  listen: Pick<ListenAddress, 'host' | 'port'>;
  /** Product version compared with the data planes' (default: package.json). */
  version?: string;
  /** Plugin name → version available on the control plane (default: the plugin registry). */
  plugins?: ReadonlyMap<string, string>;
  /** Changes committed within this window go out as one delta (ms). */
  coalesceMs?: number;
  /** gRPC keepalive ping interval / timeout (ms). */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  purgeDelaySeconds?: number;
  /** Records data planes in clustering_data_planes (shared by every CP on the database); none: memory only. */
  pool?: pg.Pool | null;
  registry?: Pick<RegistryOptions, 'heartbeatWriteMs' | 'connectedWindowSeconds' | 'purgeIntervalMs'>;
  state?: ConfigStateOptions;
  /** Fields data planes older than a version lack (default: removed-fields.ts). */
  removedFields?: RemovedFieldsTable;
}

export interface SyncServer {
  port: number;
  /** Config version and hash data planes are being brought to. */
  config(): { version: number; hash: string };
  /** The data planes this control plane has talked to (memory). */
  dataPlanes(): DataPlaneInfo[];
  /** Every data plane of the cluster, from the database when persistent (throws when it fails). */
  dataPlanePage(after: string | null, size: number): Promise<{ data: DataPlaneInfo[]; more: boolean }>;
  allDataPlanes(): Promise<DataPlaneInfo[]>;
  /** The downgraded configs being served to older data planes. */
  downgrades(): DowngradeStats[];
  close(): Promise<void>;
}

type SyncCall = grpc.ServerDuplexStream<DataPlaneMessage, ControlPlaneMessage>;

export async function startSyncServer(opts: SyncServerOptions): Promise<SyncServer> {
  const { dao, config, log } = opts;
  const version = opts.version ?? SILVERBACK_VERSION;
  const cpPlugins = opts.plugins ?? new Map([...pluginSchemas.values()].map((s) => [s.name, s.version]));
  const coalesceMs = opts.coalesceMs ?? 10;
  const security = serverSecurity(config);
  const registry = new DataPlaneRegistry({ ...opts.registry, purgeDelaySeconds: opts.purgeDelaySeconds, pool: opts.pool, log });
  const state = new ConfigState(dao, log, opts.state);
  await state.load();
  const downgrades = new Downgrades(state, version, opts.removedFields ?? REMOVED_FIELDS, log, opts.state?.ringSize);
  log.info({ version: state.version, hash: state.hash }, 'sync: configuration loaded');

  const sessions = new Set<Session>();
  let closed = false;

  // ---- change fan-out: coalesce notifications for a few ms, then read the changes ----
  let timer: NodeJS.Timeout | null = null;
  let retryMs = 250;
  const schedule = (delay = coalesceMs) => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      state.refresh().then(
        () => (retryMs = 250),
        (err) => {
          log.warn({ err: (err as Error)?.message ?? String(err), retryMs }, 'sync: reading config changes failed; serving the last config');
          schedule(retryMs);
          retryMs = Math.min(retryMs * 2, 5000);
        },
      );
    }, delay);
  };
  const unsubscribe = dao.onChange((v) => {
    if (v > state.version) schedule();
  });
  const stopUpdates = state.onUpdate(() => {
    for (const s of sessions) s.push();
  });

  class Session {
    hello: HelloMessage | null = null;
    status: SyncStatus = 'unknown';
    /** What this data plane has been sent (it can take deltas onto it). */
    sent: { version: number; hash: string } | null = null;
    /** When the last version in `sent` was pushed (for the sync latency metric), 0 when not waiting. */
    sentAt = 0;
    /** The downgraded config this (older) data plane gets, else null: the normal one. */
    downgrade: DowngradedConfig | null = null;
    private queue: Promise<void> = Promise.resolve();
    private ended = false;
    readonly ip: string;
    /** Epoch seconds the client certificate expires (mTLS), else null. */
    readonly certExpiry: number | null;

    constructor(readonly call: SyncCall) {
      this.ip = peerIp(call.getPeer());
      this.certExpiry = certExpiry(call);
    }

    get id(): string {
      return this.hello?.node_id ?? '';
    }

    /** `important` false for heartbeats: their writes are throttled. */
    record(patch: DataPlaneFields, important = true): void {
      if (this.hello) registry.update(this.hello.node_id, patch, important);
    }

    onMessage(m: DataPlaneMessage): void {
      if (m.hello) return this.onHello(m.hello);
      if (!this.hello) return this.fail(grpc.status.FAILED_PRECONDITION, 'the first message must be a hello');
      if (m.applied) {
        if (this.sentAt !== 0 && this.sent !== null && m.applied.version === this.sent.version) {
          syncStats.applyLatency.observe(Date.now() - this.sentAt);
          this.sentAt = 0;
        }
        this.record({ config_hash: m.applied.hash, config_version: m.applied.version, last_error: null });
        log.debug({ data_plane_id: this.id, version: m.applied.version }, 'sync: data plane applied config');
      } else if (m.apply_error) {
        syncStats.applyErrors++;
        this.record({ last_error: m.apply_error.message });
        log.warn({ data_plane_id: this.id, version: m.apply_error.version, error: m.apply_error.message }, 'sync: data plane could not apply config');
      } else if (m.heartbeat) {
        this.record({ config_hash: m.heartbeat.config_hash, config_version: m.heartbeat.config_version }, false);
      }
    }

    onHello(h: HelloMessage): void {
      if (this.hello) return this.fail(grpc.status.FAILED_PRECONDITION, 'hello sent twice');
      if (!h.node_id) return this.fail(grpc.status.INVALID_ARGUMENT, 'hello without node_id');
      this.hello = h;
      this.sent = { version: h.config_version, hash: h.config_hash };
      registry.opened(h.node_id, {
        hostname: h.hostname,
        ip: this.ip,
        version: h.version,
        labels: h.labels ?? {},
        config_hash: h.config_hash,
        config_version: h.config_version,
        last_error: null,
        cert_details: this.certExpiry === null ? null : { expiry_timestamp: this.certExpiry },
      });
      log.info({ data_plane_id: h.node_id, hostname: h.hostname, ip: this.ip, version: h.version, config_version: h.config_version }, 'sync: data plane connected');
      const compat = checkVersion(version, h.version);
      if (compat.status !== 'normal') {
        this.status = compat.status;
        this.record({ sync_status: compat.status });
        log.warn({ data_plane_id: h.node_id, version: h.version, reason: compat.message }, 'sync: data plane rejected');
        this.write({ rejected: { sync_status: compat.status, message: compat.message } });
        this.end();
        return;
      }
      if (!this.ended) this.downgrade = downgrades.acquire(h.version);
      // a data plane ahead of us (it synced from another control plane): read up first
      if (h.config_version > state.version) {
        const caughtUp = state.refresh().catch(() => undefined);
        this.queue = this.queue.then(() => caughtUp);
      }
      this.push();
    }

    /** Brings the data plane to the current version (serialized per session). */
    push(): void {
      if (!this.hello || this.ended || this.status === 'kong_version_incompatible') return;
      this.queue = this.queue.then(() => this.catchUp()).catch((err) => {
        log.error({ err: (err as Error)?.message ?? String(err), data_plane_id: this.id }, 'sync: push failed');
        this.fail(grpc.status.INTERNAL, 'control plane could not build the config');
      });
    }

    private async catchUp(): Promise<void> {
      for (let i = 0; i < 8 && !this.ended; i++) {
        const compat = checkPlugins(state.pluginNames(), cpPlugins, pluginMap(this.hello!.plugins ?? []));
        if (compat.status !== 'normal') {
          if (this.status !== compat.status) {
            this.status = compat.status;
            this.record({ sync_status: compat.status });
            log.warn({ data_plane_id: this.id, reason: compat.message }, 'sync: data plane gets no config');
            this.write({ rejected: { sync_status: compat.status, message: compat.message } });
          }
          return;
        }
        if (this.status !== 'normal') {
          this.status = 'normal';
          this.record({ sync_status: 'normal' });
        }
        const source: ConfigSource = this.downgrade ?? state;
        const sent = this.sent!;
        const deltas = source.deltasSince(sent.version, sent.hash);
        if (deltas) {
          if (!deltas.length) return;
          // downgraded delta payloads may still be compressing: take them all, then write in order
          const pending = deltas.some((d) => d.payload instanceof Promise);
          const payloads = pending ? await Promise.all(deltas.map((d) => d.payload)) : deltas.map((d) => d.payload as Buffer);
          if (this.ended) return;
          deltas.forEach((d, i) => {
            this.write({ delta: { from_version: d.from, to_version: d.to, hash: d.hash, payload: payloads[i]! } });
          });
          const last = deltas[deltas.length - 1]!;
          this.sent = { version: last.to, hash: last.hash };
          this.sentAt = Date.now();
          syncStats.pushes.delta += deltas.length;
        } else {
          const snap = await source.snapshotPayload();
          if (this.ended) return;
          this.write({ snapshot: { version: snap.version, hash: snap.hash, payload: snap.payload, compressed: true } });
          this.sent = { version: snap.version, hash: snap.hash };
          this.sentAt = Date.now();
          syncStats.pushes.snapshot++;
        }
        // the config may have moved on while a payload was awaited: loop to send the rest
        if (this.sent.version === source.version && this.sent.hash === source.hash) return;
      }
    }

    write(m: ControlPlaneMessage): void {
      if (this.ended) return;
      try {
        this.call.write(m);
      } catch (err) {
        log.debug({ err: (err as Error).message, data_plane_id: this.id }, 'sync: write failed');
      }
    }

    fail(code: grpc.status, details: string): void {
      if (this.ended) return;
      this.ended = true;
      this.call.emit('error', { code, details });
      this.closed();
    }

    end(): void {
      if (this.ended) return;
      this.ended = true;
      this.call.end();
      this.closed();
    }

    closed(): void {
      this.ended = true;
      if (this.downgrade) {
        downgrades.release(this.downgrade);
        this.downgrade = null;
      }
      if (sessions.delete(this) && this.hello) {
        registry.closedStream(this.hello.node_id);
        log.info({ data_plane_id: this.id }, 'sync: data plane disconnected');
      }
    }
  }

  const service = loadSyncService();
  const server = new grpc.Server({
    'grpc.keepalive_time_ms': opts.keepaliveMs ?? 20_000,
    'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  server.addService(service.service, {
    Sync(call: SyncCall) {
      const denied = security.authorize(call);
      if (denied) {
        log.warn({ peer: call.getPeer(), reason: denied }, 'sync: connection refused');
        call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: denied });
        return;
      }
      if (closed) {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'control plane is shutting down' });
        return;
      }
      const session = new Session(call);
      sessions.add(session);
      // headers now, so the data plane knows it is connected even when it is already up to date
      call.sendMetadata(new grpc.Metadata());
      call.on('data', (m: DataPlaneMessage) => session.onMessage(m));
      call.on('end', () => session.end());
      call.on('cancelled', () => session.closed());
      call.on('error', () => session.closed());
      call.on('close', () => session.closed());
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bracketHost(opts.listen.host)}:${opts.listen.port}`, security.credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  log.info({ host: opts.listen.host, port, tls: security.mode }, 'sync: cluster listener ready');

  return {
    port,
    config: () => ({ version: state.version, hash: state.hash }),
    dataPlanes: () => registry.list(),
    dataPlanePage: (after, size) => registry.page(after, size),
    allDataPlanes: () => registry.all(),
    downgrades: () => downgrades.stats(),
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      stopUpdates();
      downgrades.close();
      if (timer) clearTimeout(timer);
      for (const s of [...sessions]) s.end();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await registry.close();
    },
  };
}

function certExpiry(call: SyncCall): number | null {
  try {
    const validTo = call.getAuthContext().sslPeerCertificate?.valid_to;
    const ms = validTo ? Date.parse(validTo) : NaN;
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
  } catch {
    return null;
  }
}

function bracketHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** "ipv4:1.2.3.4:5", "1.2.3.4:5", "[::1]:5", "ipv6:[::1]:5" → the address. */
export function peerIp(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  const v6 = /^\[([^\]]+)\]/.exec(p);
  if (v6) return v6[1]!;
  const i = p.lastIndexOf(':');
  return i > 0 ? p.slice(0, i) : p;
}
