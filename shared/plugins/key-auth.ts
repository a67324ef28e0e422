// key-auth: authenticate requests with a consumer's API key (Kong 3.x config, defaults echoed on create).
import { headerName } from '../schema/typedefs.js';
import type { PluginSchema } from './types.js';

export const keyAuth: PluginSchema = {
  name: 'key-auth',
  version: '3.9.0',
  priority: 1250,
  no_consumer: true,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    key_names: { type: 'array', required: true, elements: headerName, default: ['apikey'] },
    hide_credentials: { type: 'boolean', required: true, default: false },
    anonymous: { type: 'string' },
    key_in_header: { type: 'boolean', required: true, default: true },
    key_in_query: { type: 'boolean', required: true, default: true },
    key_in_body: { type: 'boolean', required: true, default: false },
    run_on_preflight: { type: 'boolean', required: true, default: true },
    realm: { type: 'string' },
  },
};
