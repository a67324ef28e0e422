// Admin API endpoints about the cluster: GET /clustering/data-planes (paginated like every Kong
// collection) and GET /clustering/status (deprecated in Kong, kept for old tooling), both read
// from clustering_data_planes so any control plane lists every data plane. On a node that is not
// a control plane both answer 400 with Kong's message.
import { badRequest, invalidOffset } from '../../shared/errors.js';
import type { AdminRoute, Reply } from '../admin/router.js';
import { pageOptions } from '../admin/paging.js';
import { asDatabaseError } from '../store/db.js';
import type { SyncServer } from './server.js';

export const NOT_CONTROL_PLANE = 'this endpoint is only available when Kong is configured to run as Control Plane for the cluster';

const DEFAULT_PAGE_SIZE = 100;

/** Routes for the Admin API's extraRoutes; pass null on nodes without a sync server. */
export function clusteringRoutes(sync: SyncServer | null): AdminRoute[] {
  if (!sync) {
    const refuse = (): Reply => {
      throw badRequest(NOT_CONTROL_PLANE);
    };
    return [
      { method: 'GET', pattern: '/clustering/data-planes', handler: refuse },
      { method: 'GET', pattern: '/clustering/status', handler: refuse },
    ];
  }
  return [
    {
      method: 'GET',
      pattern: '/clustering/data-planes',
      async handler(req) {
        const opts = pageOptions(req.query, false);
        const size = opts.size ?? DEFAULT_PAGE_SIZE;
        const after = opts.offset ? decodeOffset(opts.offset) : null;
        const { data, more } = await sync.dataPlanePage(after, size).catch((err) => {
          throw asDatabaseError(err);
        });
        const offset = more ? Buffer.from(JSON.stringify([data[data.length - 1]!.id])).toString('base64') : undefined;
        const sizeArg = opts.size ? `&size=${opts.size}` : '';
        return {
          status: 200,
          body: { data, offset, next: offset ? `/clustering/data-planes?offset=${encodeURIComponent(offset)}${sizeArg}` : null },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/clustering/status',
      async handler() {
        const all = await sync.allDataPlanes().catch((err) => {
          throw asDatabaseError(err);
        });
        const body: Record<string, unknown> = {};
        for (const dp of all) {
          body[dp.id] = { config_hash: dp.config_hash, hostname: dp.hostname, ip: dp.ip, last_seen: dp.last_seen };
        }
        return { status: 200, body, headers: { Deprecation: 'true' } };
      },
    },
  ];
}

function decodeOffset(offset: string): string {
  try {
    const key = JSON.parse(Buffer.from(offset.replace(/ /g, '+'), 'base64').toString('utf8'));
    if (Array.isArray(key) && typeof key[0] === 'string') return key[0];
  } catch {
    // fall through
  }
  throw invalidOffset(offset);
}
