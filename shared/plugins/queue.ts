// Kong's typedefs.queue (kong/tools/queue_schema.lua): the batching queue of the log plugins.
import type { Field } from '../schema/types.js';

export const queueField: Field = {
  type: 'record',
  required: true,
  fields: {
    max_batch_size: { type: 'integer', required: true, default: 1, between: [1, 1_000_000] },
    max_coalescing_delay: { type: 'number', required: true, default: 1, between: [0, 3600] },
    max_entries: { type: 'integer', required: true, default: 10000, between: [1, 1_000_000] },
    max_bytes: { type: 'integer' },
    max_retry_time: { type: 'number', required: true, default: 60 },
    initial_retry_delay: { type: 'number', required: true, default: 0.01, between: [0.001, 1_000_000] },
    max_retry_delay: { type: 'number', required: true, default: 60, between: [0.001, 1_000_000] },
    concurrency_limit: { type: 'integer', required: true, default: 1, one_of: [-1, 1] },
  },
};
