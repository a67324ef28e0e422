import type { EntityCheck, EntityError, Fields } from '../schema/types.js';

/** A plugin's config schema: the control plane validates with it, the data plane trusts its output. */
export interface PluginSchema {
  name: string;
  version: string;
  priority: number;
  /** Scopes the plugin may not be attached to (auth plugins, cors and acl: consumer). */
  no_consumer?: boolean;
  no_route?: boolean;
  no_service?: boolean;
  /** Default of the plugin entity's `protocols`. */
  protocols?: string[];
  config: Fields;
  config_checks?: EntityCheck[];
  /**
   * Kong's shorthand_fields: input-only config keys (deprecated names) turned into real config
   * values before validation, e.g. rate-limiting's `redis_host` → `{ redis: { host } }` (deep-merged).
   */
  shorthands?: Record<string, (value: unknown) => Record<string, unknown>>;
  /**
   * Checks over the whole plugin row, reported where Kong reports a plugin schema's own
   * entity_checks and config custom_validator: a string lands in the top-level `@entity`
   * ('config.allow' style names), `{field: 'config', message}` becomes the config field's error.
   */
  plugin_checks?: ((plugin: Record<string, any>) => EntityError | undefined)[];
}
