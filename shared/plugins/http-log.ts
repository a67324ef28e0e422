// http-log: send Kong's serialized log record of every request to an HTTP endpoint, batched.
import type { Field } from '../schema/types.js';
import type { PluginSchema } from './types.js';
import { urlField } from './aws-lambda.js';
import { headerNameField } from './request-termination.js';
import { customFieldsByLua } from './file-log.js';
import { queueField } from './queue.js';

const FORBIDDEN_HEADERS: [RegExp, string][] = [
  [/^host$/i, "cannot contain 'Host' header"],
  [/^content-length$/i, "cannot contain 'Content-Length' header"],
  [/^content-type$/i, "cannot contain 'Content-Type' header"],
];

const headerKey: Field = {
  ...headerNameField,
  custom: (v: string) => headerNameField.custom?.(v) ?? FORBIDDEN_HEADERS.find(([re]) => re.test(v))?.[1],
};

function hasUserinfo(url: string): boolean {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  return m !== null && m[1].includes('@');
}

export const httpLog: PluginSchema = {
  name: 'http-log',
  version: '3.9.0',
  priority: 12,
  protocols: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'],
  config: {
    http_endpoint: { ...urlField, required: true },
    method: { type: 'string', default: 'POST', one_of: ['POST', 'PUT', 'PATCH'] },
    content_type: { type: 'string', default: 'application/json', one_of: ['application/json', 'application/json; charset=utf-8'] },
    timeout: { type: 'number', default: 10000 },
    keepalive: { type: 'number', default: 60000 },
    // deprecated in Kong 3.x (queue.* replaces them); still accepted
    retry_count: { type: 'integer' },
    queue_size: { type: 'integer' },
    flush_timeout: { type: 'number' },
    headers: { type: 'map', keys: headerKey, values: { type: 'string' } },
    queue: queueField,
    custom_fields_by_lua: customFieldsByLua,
  },
  plugin_checks: [
    (p) => {
      const c = p.config;
      if (!c || typeof c !== 'object' || typeof c.http_endpoint !== 'string' || !c.headers || typeof c.headers !== 'object') return undefined;
      if (hasUserinfo(c.http_endpoint) && Object.keys(c.headers).some((h) => h.toLowerCase() === 'authorization')) {
        return { field: 'config', message: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" };
      }
      return undefined;
    },
  ],
};
