// cors: answer preflights and add CORS headers to responses.
import type { PluginSchema } from './types.js';

export const CORS_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

function asteriskOrRegex(v: string): string | undefined {
  if (v === '*') return undefined;
  try {
    new RegExp(v);
    return undefined;
  } catch {
    return `'${v}' is not a valid regex`;
  }
}

export const cors: PluginSchema = {
  name: 'cors',
  version: '3.9.0',
  priority: 2000,
  no_consumer: true,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    origins: { type: 'array', elements: { type: 'string', custom: asteriskOrRegex } },
    headers: { type: 'array', elements: { type: 'string' } },
    exposed_headers: { type: 'array', elements: { type: 'string' } },
    methods: { type: 'array', default: [...CORS_METHODS], elements: { type: 'string', one_of: CORS_METHODS } },
    max_age: { type: 'number' },
    credentials: { type: 'boolean', required: true, default: false },
    private_network: { type: 'boolean', required: true, default: false },
    preflight_continue: { type: 'boolean', required: true, default: false },
    allow_origin_absent: { type: 'boolean', required: true, default: true },
  },
};
