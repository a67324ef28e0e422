// aws-lambda (priority 750): answer the request by invoking an AWS Lambda function instead of
// proxying upstream (works on serviceless routes). Kong 3.x behaviour: Lambda's status and headers
// passed through (202 for Event, 204 for DryRun), function errors answered 200 unless
// unhandled_status, Invoke API failures and timeouts are 500s, and is_proxy_integration maps the
// function's {statusCode, headers, body} onto the response (502 when it is not that shape).
// awsgateway_compatible_payload_version (beyond Kong) runs API Gateway's own proxy integration
// instead: its events (apigw-event.ts), response mapping and error answers (apigw-response.ts).
import type { PluginHandler, PluginResponse, RequestContext } from '../types.js';
import { VIA_VALUE } from '../../proxy/version.js';
import { invoke, lambdaClient, loadLambdaSdk, type LambdaConnectionConfig } from './client.js';
import { buildPayload, usesForwarding, type PayloadConfig } from './payload.js';
import { extractProxyResponse } from './proxy-response.js';
import { httpApiEvent, restApiEvent } from './apigw-event.js';
import { errorAnswer, HTTP_API, invokeFailure, proxyResponse, REST_API, type Mapped } from './apigw-response.js';
import { lambdaLog } from './log.js';
import { emptyArraysAsObjects, isJsonType } from './empty-arrays.js';

/** Lambda's synchronous invocation payload limit (6 MB): a larger event is refused before the call. */
export const PAYLOAD_LIMIT = 6 * 1024 * 1024;

export interface AwsLambdaConfig extends PayloadConfig {
  timeout: number;
  keepalive: number;
  aws_key: string | null;
  aws_secret: string | null;
  aws_assume_role_arn: string | null;
  aws_role_session_name: string | null;
  aws_sts_endpoint_url: string | null;
  aws_imds_protocol_version: 'v1' | 'v2';
  aws_region: string | null;
  function_name: string | null;
  qualifier: string | null;
  invocation_type: 'RequestResponse' | 'Event' | 'DryRun';
  log_type: 'Tail' | 'None';
  host: string | null;
  port: number | null;
  disable_https: boolean;
  unhandled_status: number | null;
  is_proxy_integration: boolean;
  proxy_url: string | null;
  empty_arrays_mode: 'legacy' | 'correct';
  awsgateway_compatible_payload_version: '1.0' | '2.0' | null;
}

interface AwsLambdaState {
  /** null: no region in the config or the environment (every request is a 500, as in Kong). */
  connection: LambdaConnectionConfig | null;
}

/** Lambda response headers not passed on: the proxy sets its own framing, date and connection. */
const DROPPED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'proxy-connection', 'upgrade']);

function envRegion(): string | null {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || null;
}

function headerValue(headers: Record<string, string | string[]>, lower: string): string | string[] | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Case-insensitive header merge: later sources replace earlier ones. */
function mergeHeaders(...sources: Record<string, string | string[]>[]): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  const names = new Map<string, string>();
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      const lower = k.toLowerCase();
      if (DROPPED.has(lower)) continue;
      const prev = names.get(lower);
      if (prev !== undefined) delete out[prev];
      names.set(lower, k);
      out[k] = v;
    }
  }
  return out;
}

export const awsLambda: PluginHandler<AwsLambdaConfig> = {
  name: 'aws-lambda',
  version: '3.9.0',
  priority: 750,

  init(conf): AwsLambdaState {
    const region = conf.aws_region || envRegion();
    // warm the SDK import now rather than on the first request (a failure surfaces there as a 500)
    loadLambdaSdk().catch(() => undefined);
    return {
      connection: region
        ? {
            region,
            aws_key: conf.aws_key,
            aws_secret: conf.aws_secret,
            aws_assume_role_arn: conf.aws_assume_role_arn,
            aws_role_session_name: conf.aws_role_session_name,
            aws_sts_endpoint_url: conf.aws_sts_endpoint_url,
            aws_imds_protocol_version: conf.aws_imds_protocol_version,
            host: conf.host,
            port: conf.port,
            disable_https: conf.disable_https,
            timeout: conf.timeout,
            keepalive: conf.keepalive,
            proxy_url: conf.proxy_url,
          }
        : null,
    };
  },

  bufferRequest(conf) {
    return conf.awsgateway_compatible_payload_version != null || conf.awsgateway_compatible || !usesForwarding(conf) || conf.forward_request_body;
  },

  async access(ctx: RequestContext, conf, st: AwsLambdaState): Promise<PluginResponse> {
    // != null: rows stored before the field existed lack it (Kong's behaviour then)
    if (conf.awsgateway_compatible_payload_version != null) {
      const mapped = await apiGatewayAccess(ctx, conf, st);
      if (mapped.cause !== undefined) {
        lambdaLog().error({ request_id: ctx.requestId, function_name: conf.function_name, status: mapped.response.status, cause: mapped.cause }, 'aws-lambda: API Gateway error answer');
      }
      return mapped.response;
    }
    if (st.connection === null) throw new Error('aws-lambda: no region specified');
    const client = await lambdaClient(st.connection);
    const result = await invoke(client, {
      functionName: conf.function_name ?? '',
      invocationType: conf.invocation_type,
      logType: conf.log_type,
      qualifier: conf.qualifier,
      payload: buildPayload(ctx, conf),
    });

    let status: number | undefined;
    let headers: Record<string, string | string[]> = result.headers;
    let body: Buffer = result.payload;
    if (conf.is_proxy_integration) {
      const extracted = extractProxyResponse(result.payload);
      if ('error' in extracted) {
        return { status: 502, body: { message: 'Bad Gateway', error: `could not JSON decode Lambda function response: ${extracted.error}` } };
      }
      status = extracted.response.status;
      headers = mergeHeaders(headers, extracted.response.headers);
      body = extracted.response.body;
    } else {
      headers = mergeHeaders(headers);
      // Kong re-encodes a JSON result it decoded (not a proxy-integration body, which stays a string)
      if (conf.empty_arrays_mode === 'legacy' && isJsonType(headerValue(headers, 'content-type'))) {
        body = Buffer.from(emptyArraysAsObjects(body.toString('utf8')), 'utf8');
      }
    }

    if (status === undefined) {
      status = conf.unhandled_status != null && result.functionError === 'Unhandled' ? conf.unhandled_status : result.status;
    }
    headers.Via = VIA_VALUE;
    return { status, body, headers };
  },
};

/** API Gateway mode: every outcome, failures included, is an API Gateway answer (no Kong 500). */
async function apiGatewayAccess(ctx: RequestContext, conf: AwsLambdaConfig, st: AwsLambdaState): Promise<Mapped> {
  const rest = conf.awsgateway_compatible_payload_version === '1.0';
  const f = rest ? REST_API : HTTP_API;
  if (st.connection === null) return errorAnswer(f, 'rejected', ctx.requestId, 'no region specified');
  const payload = JSON.stringify(rest ? restApiEvent(ctx) : httpApiEvent(ctx));
  const size = Buffer.byteLength(payload);
  if (size > PAYLOAD_LIMIT) return errorAnswer(f, 'tooLarge', ctx.requestId, `event of ${size} bytes exceeds Lambda's ${PAYLOAD_LIMIT}-byte payload limit`);
  let result;
  try {
    const client = await lambdaClient(st.connection);
    result = await invoke(client, {
      functionName: conf.function_name ?? '',
      invocationType: conf.invocation_type,
      logType: conf.log_type,
      qualifier: conf.qualifier,
      payload,
    });
  } catch (err) {
    return invokeFailure(f, err, ctx.requestId);
  }
  return proxyResponse(f, result, ctx.requestId);
}

export default awsLambda;
