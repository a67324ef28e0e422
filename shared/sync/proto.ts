// Loads the ConfigSync service definition from proto/silverback/sync/v1/sync.proto (found by
// walking up from this module, so it works from the sources and from dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_RELATIVE = join('proto', 'silverback', 'sync', 'v1', 'sync.proto');

export function syncProtoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, PROTO_RELATIVE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find ${PROTO_RELATIVE} above ${fileURLToPath(import.meta.url)}`);
}

export interface SyncServiceDefinition {
  /** For server.addService(). */
  service: grpc.ServiceDefinition;
  /** Client constructor: new Client(address, credentials, options). */
  Client: grpc.ServiceClientConstructor;
}

let cached: SyncServiceDefinition | null = null;

export function loadSyncService(): SyncServiceDefinition {
  if (cached) return cached;
  const definition = protoLoader.loadSync(syncProtoPath(), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const Client = pkg.silverback.sync.v1.ConfigSync as grpc.ServiceClientConstructor;
  cached = { service: Client.service, Client };
  return cached;
}
