// correlation-id: tag each request with an id header sent upstream (and optionally back to the client).
import type { PluginSchema } from './types.js';

export const correlationId: PluginSchema = {
  name: 'correlation-id',
  version: '3.9.0',
  priority: 100001,
  config: {
    header_name: { type: 'string', default: 'Kong-Request-ID' },
    generator: { type: 'string', required: true, default: 'uuid#counter', one_of: ['uuid', 'uuid#counter', 'tracker'] },
    echo_downstream: { type: 'boolean', required: true, default: false },
  },
};
