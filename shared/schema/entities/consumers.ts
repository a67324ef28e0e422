import * as t from '../typedefs.js';
import type { EntitySchema } from '../types.js';

export const consumers: EntitySchema = {
  name: 'consumers',
  primary_key: ['id'],
  endpoint_key: 'username',
  fields: {
    id: t.id,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    username: { type: 'string', unique: true },
    custom_id: { type: 'string', unique: true },
    tags: t.tags,
  },
  entity_checks: [{ at_least_one_of: ['custom_id', 'username'] }],
};
