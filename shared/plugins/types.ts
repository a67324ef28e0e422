import type { EntityCheck, Fields } from '../schema/types.js';

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
}
