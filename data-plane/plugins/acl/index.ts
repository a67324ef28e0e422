// acl (priority 950): allow or deny the consumer an auth plugin identified, by its acls groups, as
// Kong 3.x's acl: no consumer → 401 Unauthorized (403 when a credential is known), refused →
// 403 "You cannot consume this service"; the groups go upstream in X-Consumer-Groups (or
// X-Authenticated-Groups for groups an auth plugin gave without a consumer) unless hidden.
// Groups per consumer are indexed once per snapshot.
import type { PluginHandler, PluginResponse, RequestContext, SnapshotIndex } from '../types.js';
import { authError } from '../auth/consumer.js';
import { knownHeaderNames } from '../../proxy/header-names.js';

knownHeaderNames(['x-consumer-groups', 'x-authenticated-groups']);

export interface AclConfig {
  allow: string[] | null;
  deny: string[] | null;
  hide_groups_header: boolean;
  always_use_authenticated_groups: boolean;
}

interface AclState {
  groupsByConsumer: ReadonlyMap<string, string[]>;
  deny: boolean;
  groups: ReadonlySet<string>;
}

/** acls groups of every consumer, in snapshot order, shared by every acl instance. */
export function groupsByConsumer(index: SnapshotIndex): ReadonlyMap<string, string[]> {
  return index.memo('acls.by_consumer', (snapshot) => {
    const m = new Map<string, string[]>();
    for (const row of snapshot.acls ?? []) {
      const id = row.consumer?.id;
      if (typeof id !== 'string' || typeof row.group !== 'string') continue;
      const list = m.get(id);
      if (list === undefined) m.set(id, [row.group]);
      else if (!list.includes(row.group)) list.push(row.group);
    }
    return m;
  });
}

const forbidden = (ctx: RequestContext) => authError(ctx, 403, 'You cannot consume this service');
const noIdentity = (ctx: RequestContext) => (ctx.credential ? forbidden(ctx) : authError(ctx, 401, 'Unauthorized'));

/** Refusal, or the header (name and groups) to send upstream. */
function decide(ctx: RequestContext, st: AclState, groups: string[], header: string): PluginResponse | [string, string[]] {
  let inGroup = false;
  for (const g of groups) {
    if (st.groups.has(g)) {
      inGroup = true;
      break;
    }
  }
  const blocked = st.deny ? inGroup : !inGroup;
  return blocked ? forbidden(ctx) : [header, groups];
}

export const acl: PluginHandler<AclConfig> = {
  name: 'acl',
  version: '3.9.0',
  priority: 950,

  init(conf, _row, index): AclState {
    const deny = !(conf.allow && conf.allow.length > 0);
    return { groupsByConsumer: groupsByConsumer(index), deny, groups: new Set(deny ? (conf.deny ?? []) : conf.allow!) };
  },

  access(ctx, conf, st: AclState) {
    let result: PluginResponse | [string, string[]];
    const authenticated = ctx.authenticatedGroups;
    const consumerId = ctx.consumer?.id as string | undefined;
    if (consumerId === undefined) {
      if (authenticated === undefined) return noIdentity(ctx);
      result = decide(ctx, st, authenticated, 'x-authenticated-groups');
    } else if (authenticated !== undefined && (!ctx.credential || conf.always_use_authenticated_groups)) {
      // groups given by an auth plugin override an anonymous consumer's
      result = decide(ctx, st, authenticated, 'x-authenticated-groups');
    } else {
      result = decide(ctx, st, st.groupsByConsumer.get(consumerId) ?? [], 'x-consumer-groups');
    }
    if (!Array.isArray(result)) return result;
    const [header, groups] = result;
    if (conf.hide_groups_header) delete ctx.upstreamHeaders[header];
    else ctx.upstreamHeaders[header] = groups.join(', ');
    return undefined;
  },
};

export default acl;
