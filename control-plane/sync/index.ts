// The control plane's side of config sync: the gRPC server, the data-plane registry and the
// Admin API routes that show it.
export { startSyncServer, type SyncServer, type SyncServerOptions } from './server.js';
export { clusteringRoutes, NOT_CONTROL_PLANE } from './routes.js';
export type { DataPlaneInfo } from './registry.js';
