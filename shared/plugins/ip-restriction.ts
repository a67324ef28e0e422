// ip-restriction: allow or deny clients by IP address or CIDR range.
import type { Field } from '../schema/types.js';
import { validIpOrCidr } from '../schema/typedefs.js';
import type { PluginSchema } from './types.js';

const ipOrCidr: Field = {
  type: 'string',
  custom: (v: string) => (validIpOrCidr(v) ? undefined : `invalid ip or cidr range: '${v}'`),
};

const isEmpty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0);

export const ipRestriction: PluginSchema = {
  name: 'ip-restriction',
  version: '3.9.0',
  priority: 990,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    allow: { type: 'array', elements: ipOrCidr },
    deny: { type: 'array', elements: ipOrCidr },
    status: { type: 'number' },
    message: { type: 'string' },
  },
  plugin_checks: [
    (p) =>
      isEmpty(p.config?.allow) && isEmpty(p.config?.deny)
        ? "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"
        : undefined,
  ],
};
