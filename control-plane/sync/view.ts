// What data planes get: the database's config without disabled services, the routes of disabled
// services, disabled plugins, and plugins attached to a disabled service or to a route of one
// (as Kong's export for data planes, skip_disabled_entities).
import { SNAPSHOT_ENTITIES, type Row, type SnapshotEntity } from '../../shared/snapshot.js';
import { ConfigIndex, type DeltaOp } from '../../shared/sync/config-index.js';

function serviceHidden(raw: ConfigIndex, id: string | undefined): boolean {
  return id !== undefined && raw.get('services', id)?.enabled === false;
}

function routeHidden(raw: ConfigIndex, id: string | undefined): boolean {
  if (id === undefined) return false;
  const route = raw.get('routes', id);
  return route !== undefined && serviceHidden(raw, route.service?.id);
}

export function visible(raw: ConfigIndex, entity: SnapshotEntity, row: Row): boolean {
  switch (entity) {
    case 'services':
      return row.enabled !== false;
    case 'routes':
      return !serviceHidden(raw, row.service?.id);
    case 'plugins':
      return row.enabled !== false && !serviceHidden(raw, row.service?.id) && !routeHidden(raw, row.route?.id);
    default:
      return true;
  }
}

export function buildView(raw: ConfigIndex): ConfigIndex {
  const view = new ConfigIndex();
  view.version = raw.version;
  for (const e of SNAPSHOT_ENTITIES) for (const row of raw.list(e)) if (visible(raw, e, row)) view.set(e, row);
  return view;
}

/**
 * The view ops that follow from `changed` rows (already applied to `raw`): the changed rows
 * themselves, plus the routes/plugins hanging from a changed service or route, whose visibility
 * may flip with it (a service created, deleted, enabled or disabled).
 */
export function viewOps(raw: ConfigIndex, view: ConfigIndex, changed: Iterable<{ entity: SnapshotEntity; id: string }>): DeltaOp[] {
  const direct = new Map<SnapshotEntity, Set<string>>(SNAPSHOT_ENTITIES.map((e) => [e, new Set()]));
  const cascaded = new Map<SnapshotEntity, Set<string>>(SNAPSHOT_ENTITIES.map((e) => [e, new Set()]));
  for (const c of changed) direct.get(c.entity)!.add(c.id);
  let children: Map<string, Array<[SnapshotEntity, string]>> | null = null;
  const childrenOf = (id: string) => {
    // parent id → routes/plugins referencing it (built once per call, only when needed)
    if (!children) {
      children = new Map();
      const add = (parent: string | undefined, entry: [SnapshotEntity, string]) => {
        if (parent === undefined) return;
        const list = children!.get(parent);
        if (list) list.push(entry);
        else children!.set(parent, [entry]);
      };
      for (const r of raw.list('routes')) add(r.service?.id, ['routes', r.id]);
      for (const p of raw.list('plugins')) {
        add(p.service?.id, ['plugins', p.id]);
        add(p.route?.id, ['plugins', p.id]);
      }
    }
    return children.get(id) ?? [];
  };
  const ops: DeltaOp[] = [];
  // SNAPSHOT_ENTITIES lists parents before children: a cascade only ever reaches a later entity
  for (const entity of SNAPSHOT_ENTITIES) {
    const own = direct.get(entity)!;
    const ids = new Set([...own, ...cascaded.get(entity)!]);
    for (const id of ids) {
      const row = raw.get(entity, id);
      const wasVisible = view.get(entity, id) !== undefined;
      const isVisible = row !== undefined && visible(raw, entity, row);
      if (isVisible && (own.has(id) || !wasVisible)) ops.push({ entity, op: 'upsert', row: row! });
      else if (!isVisible && wasVisible) ops.push({ entity, op: 'delete', id });
      if (entity !== 'services' && entity !== 'routes') continue;
      for (const [child, childId] of childrenOf(id)) cascaded.get(child)!.add(childId);
    }
  }
  return ops;
}
