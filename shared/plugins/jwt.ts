// jwt: verify JSON Web Tokens against consumers' jwt_secrets (Kong 3.x config, defaults echoed on create).
import type { PluginSchema } from './types.js';

export const jwt: PluginSchema = {
  name: 'jwt',
  version: '3.9.0',
  priority: 1450,
  no_consumer: true,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    uri_param_names: { type: 'set', elements: { type: 'string' }, default: ['jwt'] },
    cookie_names: { type: 'set', elements: { type: 'string' }, default: [] },
    key_claim_name: { type: 'string', default: 'iss' },
    secret_is_base64: { type: 'boolean', required: true, default: false },
    claims_to_verify: { type: 'set', elements: { type: 'string', one_of: ['exp', 'nbf'] } },
    anonymous: { type: 'string' },
    run_on_preflight: { type: 'boolean', required: true, default: true },
    maximum_expiration: { type: 'number', default: 0, between: [0, 31536000] },
    header_names: { type: 'set', elements: { type: 'string' }, default: ['authorization'] },
    realm: { type: 'string' },
  },
  config_checks: [
    {
      // Kong: conditional { if config.maximum_expiration > 0 then config.claims_to_verify contains "exp" }
      custom: (c) =>
        typeof c.maximum_expiration === 'number' && c.maximum_expiration > 0 && !(Array.isArray(c.claims_to_verify) && c.claims_to_verify.includes('exp'))
          ? { field: 'claims_to_verify', message: 'expected to contain: exp' }
          : undefined,
      fields: ['maximum_expiration', 'claims_to_verify'],
    },
  ],
};
