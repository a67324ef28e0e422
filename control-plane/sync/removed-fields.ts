// Fields a data plane older than the control plane does not know, by the version that added them
// (Kong's kong/clustering/compat/removed_fields.lua). A data plane older than an entry's version
// gets its config with those fields removed (see downgrade.ts).
//
// How to add an entry: when a release adds a field to an entity or plugin schema, add it under
// that release's version (the one in package.json once released):
//   '0.2.0': {
//     routes: ['request_buffering'],             // a top-level field of every route
//     plugins: ['instance_name'],                // a top-level field of every plugin
//     'plugins:jwt': ['config.realm'],           // a field of one plugin, path from the plugin row
//     'plugins:cors': ['config.rules.origin'],   // through a record or an array of records
//   },
// Keys are snapshot entities (shared/snapshot.ts SNAPSHOT_ENTITIES) or 'plugins:<name>'; a path
// is dot-separated from the row. Only add fields; a field that changed meaning needs more than this.
import { parseVersion } from '../../shared/sync/protocol.js';
import { isSnapshotEntity } from '../../shared/sync/config-index.js';

export type RemovedFieldsTable = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

// Only 0.1.0 has shipped: no data plane can be missing a field yet.
export const REMOVED_FIELDS: RemovedFieldsTable = {};

export interface RemovedFieldsEntry {
  version: [number, number, number];
  /** As written in the table. */
  label: string;
  /** Entity or 'plugins:<name>' → paths split on '.'. */
  fields: Map<string, string[][]>;
}

/** The table checked and sorted by version (throws on a bad version, key or path). */
export function parseRemovedFields(table: RemovedFieldsTable): RemovedFieldsEntry[] {
  const entries: RemovedFieldsEntry[] = [];
  for (const [label, byKey] of Object.entries(table)) {
    const version = parseVersion(label);
    if (!version) throw new Error(`removed fields: "${label}" is not a version`);
    const fields = new Map<string, string[][]>();
    for (const [key, paths] of Object.entries(byKey)) {
      const pluginName = key.startsWith('plugins:') ? key.slice('plugins:'.length) : null;
      if (pluginName === '' || (pluginName === null && !isSnapshotEntity(key))) {
        throw new Error(`removed fields ${label}: "${key}" is neither a snapshot entity nor plugins:<name>`);
      }
      const split = paths.map((p) => {
        const parts = p.split('.');
        if (parts.some((s) => s === '') || (parts[0] === 'id' && parts.length === 1)) {
          throw new Error(`removed fields ${label}: "${p}" of "${key}" is not a field path`);
        }
        return parts;
      });
      fields.set(key, split);
    }
    entries.push({ version, label, fields });
  }
  return entries.sort((a, b) => compareTriples(a.version, b.version));
}

export function compareTriples(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
