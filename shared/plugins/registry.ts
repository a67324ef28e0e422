// Every plugin this build ships: adding one is a schema file plus one line here
// (and its handler in data-plane/plugins/registry.ts).
import type { PluginSchema } from './types.js';

const schemas: PluginSchema[] = [];

export const pluginSchemas: ReadonlyMap<string, PluginSchema> = new Map(schemas.map((s) => [s.name, s]));

export function getPluginSchema(name: unknown): PluginSchema | undefined {
  return typeof name === 'string' ? pluginSchemas.get(name) : undefined;
}
