import * as t from '../typedefs.js';
import type { EntitySchema } from '../types.js';
import { getPluginSchema } from '../../plugins/registry.js';
import { isPlainObject } from '../validate.js';

function deepMerge(into: Record<string, any>, from: Record<string, any>): Record<string, any> {
  const out = { ...into };
  for (const [k, v] of Object.entries(from)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

/** A plugin config's shorthand fields (legacy names) → the config they stand for. */
function expandConfig(config: unknown, plugin: Record<string, any>): Record<string, unknown> {
  const short = getPluginSchema(plugin.name)?.shorthands;
  if (!short || !isPlainObject(config)) return { config };
  let out: Record<string, any> = config;
  for (const [name, expand] of Object.entries(short)) {
    if (!(name in out)) continue;
    const { [name]: v, ...rest } = out;
    out = v === undefined ? rest : deepMerge(rest, expand(v));
  }
  return { config: out };
}

const DEFAULT_PROTOCOLS = ['grpc', 'grpcs', 'http', 'https'];

export const plugins: EntitySchema = {
  name: 'plugins',
  primary_key: ['id'],
  endpoint_key: 'instance_name',
  unique_across: ['name', 'route', 'service', 'consumer'],
  shorthands: { config: expandConfig },
  fields: {
    id: t.id,
    name: {
      type: 'string',
      required: true,
      custom: (n: string) =>
        getPluginSchema(n) ? undefined : `plugin '${n}' not enabled; add it to the 'plugins' configuration property`,
    },
    instance_name: t.utf8Name,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    route: t.foreign('routes'),
    service: t.foreign('services'),
    consumer: t.foreign('consumers'),
    config: {
      type: 'record',
      required: true,
      dynamic: (p) => getPluginSchema(p.name)?.config,
      dynamic_checks: (p) => getPluginSchema(p.name)?.config_checks,
    },
    protocols: {
      type: 'set',
      required: true,
      elements: { type: 'string', one_of: t.protocols },
      default_fn: (p) => getPluginSchema(p.name)?.protocols ?? DEFAULT_PROTOCOLS,
    },
    enabled: { type: 'boolean', required: true, default: true },
    tags: t.tags,
  },
  entity_checks: [
    {
      custom: (p) => {
        const s = getPluginSchema(p.name);
        if (!s) return undefined;
        if (s.no_consumer && p.consumer) return { field: 'consumer', message: 'value must be null' };
        if (s.no_route && p.route) return { field: 'route', message: 'value must be null' };
        if (s.no_service && p.service) return { field: 'service', message: 'value must be null' };
        return undefined;
      },
      fields: ['name', 'consumer', 'route', 'service'],
    },
    {
      custom: (p) => {
        for (const check of getPluginSchema(p.name)?.plugin_checks ?? []) {
          const e = check(p);
          if (e !== undefined) return e;
        }
        return undefined;
      },
      fields: ['name', 'config'],
    },
  ],
};
