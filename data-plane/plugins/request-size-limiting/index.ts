// request-size-limiting (priority 951): refuse request bodies above a size. With Content-Length
// the check is immediate; without it (chunked) the proxy counts bytes while streaming
// (ctx.requestBodyLimit) so a huge body is never held in memory just to be measured.
import type { PluginHandler, PluginResponse, RequestContext } from '../types.js';

export interface RequestSizeLimitingConfig {
  allowed_payload_size: number;
  size_unit: 'megabytes' | 'kilobytes' | 'bytes';
  require_content_length: boolean;
}

const UNIT_BYTES = { bytes: 1, kilobytes: 2 ** 10, megabytes: 2 ** 20 } as const;
const TOO_LARGE = 'Request size limit exceeded';

function tooLarge(ctx: RequestContext): PluginResponse {
  const expect = ctx.req.headers.expect;
  const status = typeof expect === 'string' && expect.trim().toLowerCase() === '100-continue' ? 417 : 413;
  return { status, body: { message: TOO_LARGE, request_id: ctx.requestId } };
}

export const requestSizeLimiting: PluginHandler<RequestSizeLimitingConfig> = {
  name: 'request-size-limiting',
  version: '3.9.0',
  priority: 951,

  access(ctx, conf) {
    const limit = conf.allowed_payload_size * UNIT_BYTES[conf.size_unit];
    const cl = ctx.req.headers['content-length'];
    const length = cl !== undefined && /^\s*\d+\s*$/.test(cl) ? Number(cl) : undefined;

    if (conf.require_content_length && length === undefined) {
      return { status: 411, body: { message: 'A valid Content-Length header is required', request_id: ctx.requestId } };
    }
    if (length !== undefined) return length > limit ? tooLarge(ctx) : undefined;
    // Already buffered for another plugin: measure it; otherwise cap the stream.
    if (ctx.upstreamBody !== undefined) return ctx.upstreamBody.length > limit ? tooLarge(ctx) : undefined;
    const prev = ctx.requestBodyLimit;
    if (prev === undefined || prev.bytes > limit) ctx.requestBodyLimit = { bytes: limit, response: tooLarge(ctx) };
    return undefined;
  },
};

export default requestSizeLimiting;
