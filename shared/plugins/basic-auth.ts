// basic-auth: authenticate requests with a consumer's username and password (Kong 3.x config).
import type { PluginSchema } from './types.js';

export const basicAuth: PluginSchema = {
  name: 'basic-auth',
  version: '3.9.0',
  priority: 1100,
  no_consumer: true,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    anonymous: { type: 'string' },
    hide_credentials: { type: 'boolean', required: true, default: false },
    realm: { type: 'string', required: true, default: 'service' },
  },
};
