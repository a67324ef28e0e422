// file-log: append Kong's serialized log record of every request to a file, one JSON line each.
import type { Field } from '../schema/types.js';
import type { PluginSchema } from './types.js';

/**
 * Kong's typedefs.lua_code. Accepted as a field so Kong configs keep their shape, but a non-empty
 * map is refused: there is no Lua runtime to run it, and silently logging without the fields
 * would hide the difference.
 */
export const customFieldsByLua: Field = {
  type: 'map',
  keys: { type: 'string', len_min: 1 },
  values: { type: 'string', len_min: 1 },
  custom: (v: Record<string, unknown>) =>
    Object.keys(v).length > 0 ? 'custom_fields_by_lua is not supported (Silverback does not run Lua code)' : undefined,
};

export const fileLog: PluginSchema = {
  name: 'file-log',
  version: '3.9.0',
  priority: 9,
  protocols: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'],
  config: {
    path: { type: 'string', required: true, match: /^[^*&%`]+$/, match_message: 'not a valid filename' },
    reopen: { type: 'boolean', required: true, default: false },
    custom_fields_by_lua: customFieldsByLua,
  },
};
