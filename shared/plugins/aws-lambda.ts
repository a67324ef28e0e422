// aws-lambda: invoke an AWS Lambda function instead of proxying upstream (Kong 3.x config and defaults).
import * as t from '../schema/typedefs.js';
import type { Field } from '../schema/types.js';
import type { PluginSchema } from './types.js';

/** Kong's typedefs.url. */
export const urlField: Field = {
  type: 'string',
  custom: (v: string) => {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(v);
    if (!m) return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(v) ? 'missing host in url' : 'missing scheme in url';
    const host = m[2].replace(/^[^@]*@/, '').replace(/:\d*$/, '');
    return host === '' ? 'missing host in url' : undefined;
  },
};

const bool = (d: boolean): Field => ({ type: 'boolean', default: d });

export const awsLambda: PluginSchema = {
  name: 'aws-lambda',
  version: '3.9.0',
  priority: 750,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    timeout: { type: 'number', required: true, default: 60000 },
    keepalive: { type: 'number', required: true, default: 60000 },
    aws_key: { type: 'string', secret: true },
    aws_secret: { type: 'string', secret: true },
    aws_assume_role_arn: { type: 'string' },
    aws_role_session_name: { type: 'string', default: 'kong' },
    aws_sts_endpoint_url: urlField,
    aws_region: t.host,
    function_name: { type: 'string' },
    qualifier: { type: 'string' },
    invocation_type: { type: 'string', required: true, default: 'RequestResponse', one_of: ['RequestResponse', 'Event', 'DryRun'] },
    log_type: { type: 'string', required: true, default: 'Tail', one_of: ['Tail', 'None'] },
    host: t.host,
    port: { ...t.port, default: 443 },
    disable_https: bool(false),
    unhandled_status: { type: 'integer', between: [100, 999] },
    forward_request_method: bool(false),
    forward_request_uri: bool(false),
    forward_request_headers: bool(false),
    forward_request_body: bool(false),
    is_proxy_integration: bool(false),
    awsgateway_compatible: bool(false),
    proxy_url: urlField,
    skip_large_bodies: bool(true),
    base64_encode_body: bool(true),
    aws_imds_protocol_version: { type: 'string', required: true, default: 'v1', one_of: ['v1', 'v2'] },
    empty_arrays_mode: { type: 'string', required: true, default: 'legacy', one_of: ['legacy', 'correct'] },
    // Beyond Kong: Amazon API Gateway's own Lambda proxy integration, event, response and error
    // mapping as AWS documents them ("1.0": REST API, "2.0": HTTP API). Unset: Kong's behaviour
    // (awsgateway_compatible selects Kong's serializer). Setting it switches the mode on by itself.
    awsgateway_compatible_payload_version: { type: 'string', one_of: ['1.0', '2.0'] },
  },
  plugin_checks: [
    (p) => {
      const c = p.config;
      if (!c || typeof c !== 'object') return undefined;
      const set = (v: unknown) => v !== null && v !== undefined;
      if (set(c.aws_key) !== set(c.aws_secret)) return "all or none of these fields must be set: 'config.aws_key', 'config.aws_secret'";
      if (typeof c.proxy_url === 'string') {
        const scheme = /^([^:]+):\/\//.exec(c.proxy_url)?.[1];
        if (scheme && scheme !== 'http') return 'proxy_url scheme must be http';
      }
      return undefined;
    },
  ],
};
