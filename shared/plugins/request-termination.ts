// request-termination: answer every request with a fixed status and body (maintenance, stubs, debug echo).
import type { Field } from '../schema/types.js';
import type { PluginSchema } from './types.js';

const HEADER_NAME_RE = /^[A-Za-z0-9_-]+$/;

/** Kong's typedefs.header_name. */
export const headerNameField: Field = {
  type: 'string',
  custom: (v: string) =>
    HEADER_NAME_RE.test(v) ? undefined : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`,
};

const present = (v: unknown) => typeof v === 'string' && v.length > 0;

/** Kong's custom_validator on the config record: the message becomes the `config` field's error. */
function checkConfig(c: Record<string, any>): string | undefined {
  if (present(c.message) && (present(c.content_type) || present(c.body))) return 'message cannot be used with content_type or body';
  if (present(c.content_type) && !present(c.body)) return 'content_type requires a body';
  if (c.echo && (present(c.content_type) || present(c.body))) return 'echo cannot be used with content_type and body';
  return undefined;
}

export const requestTermination: PluginSchema = {
  name: 'request-termination',
  version: '3.9.0',
  priority: 2,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    status_code: { type: 'integer', required: true, default: 503, between: [100, 599] },
    message: { type: 'string' },
    content_type: { type: 'string' },
    body: { type: 'string' },
    echo: { type: 'boolean', required: true, default: false },
    trigger: headerNameField,
  },
  plugin_checks: [
    (p) => {
      const msg = p.config && typeof p.config === 'object' ? checkConfig(p.config) : undefined;
      return msg ? { field: 'config', message: msg } : undefined;
    },
  ],
};
