// request-size-limiting: reject request bodies above a size.
import type { PluginSchema } from './types.js';

export const SIZE_UNITS = ['megabytes', 'kilobytes', 'bytes'] as const;

export const requestSizeLimiting: PluginSchema = {
  name: 'request-size-limiting',
  version: '3.9.0',
  priority: 951,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    allowed_payload_size: { type: 'integer', default: 128 },
    size_unit: { type: 'string', required: true, default: 'megabytes', one_of: SIZE_UNITS },
    require_content_length: { type: 'boolean', required: true, default: false },
  },
};
