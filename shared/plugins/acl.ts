// acl: allow or deny consumers by their acls groups (Kong 3.x config).
import type { PluginSchema } from './types.js';

const isEmpty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0);

export const acl: PluginSchema = {
  name: 'acl',
  version: '3.9.0',
  priority: 950,
  no_consumer: true,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    allow: { type: 'array', elements: { type: 'string' } },
    deny: { type: 'array', elements: { type: 'string' } },
    hide_groups_header: { type: 'boolean', required: true, default: false },
    always_use_authenticated_groups: { type: 'boolean', required: true, default: false },
  },
  plugin_checks: [
    // Kong: only_one_of then at_least_one_of over config.allow / config.deny
    (p) => {
      const set = [p.config?.allow, p.config?.deny].filter((v) => !isEmpty(v)).length;
      if (set === 1) return undefined;
      return set === 2
        ? "exactly one of these fields must be non-empty: 'config.allow', 'config.deny'"
        : "at least one of these fields must be non-empty: 'config.allow', 'config.deny'";
    },
  ],
};
