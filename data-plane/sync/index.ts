// The data plane's side of config sync: the gRPC client, the config cache file and the node id.
export { startSyncClient, type SyncClient, type SyncClientOptions, type SyncClientState } from './client.js';
export { loadCachedSnapshot, writeCachedSnapshot, writeCachedSnapshotPayload, cachePath, CACHE_FILE } from './cache.js';
export { loadOrCreateNodeId } from './node-id.js';
