// jwt: verify JSON Web Tokens against consumers' jwt_secrets (Kong 3.x config, defaults echoed on create).
import type { PluginSchema } from './types.js';
import { headerName, httpUrl } from '../schema/typedefs.js';


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
    // Beyond Kong: consumer-less issuers (API Gateway's Cognito/JWT authorizers), claims to
    // upstream headers, clock leeway and how issuers' JWKS documents are cached.
    issuers: {
      type: 'array',
      elements: {
        type: 'record',
        fields: {
          iss: { type: 'string', required: true },
          jwks_uri: { type: 'string', custom: httpUrl },
          audiences: { type: 'array', elements: { type: 'string' } },
          token_use: { type: 'string', one_of: ['id', 'access'] },
          consumer: { type: 'string' },
        },
      },
    },
    claims_to_headers: { type: 'map', keys: { type: 'string' }, values: headerName },
    leeway: { type: 'integer', default: 0, between: [0, 3600] },
    jwks_min_ttl: { type: 'integer', default: 60, between: [0, 86400] },
    jwks_max_ttl: { type: 'integer', default: 86400, between: [1, 604800] },
    jwks_refetch_interval: { type: 'integer', default: 10, between: [0, 3600] },
    jwks_timeout: { type: 'integer', default: 3000, between: [1, 60000] },
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
