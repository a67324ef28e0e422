// The client's request body: buffered (small bodies, for retries and plugins) or streamed upstream
// through LimitedBody, which enforces a request-size limit and service.write_timeout.
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { PluginResponse } from '../plugins/types.js';
import type { ProxyRequest } from './context.js';
import { gatewayExit } from './respond.js';

export function ignoreStreamError(): void {
  // undici sees the failed body stream itself; this listener only keeps 'error' from being unhandled
}

/** How long the rest of a refused request body is read and dropped before the connection is cut. */
const DISCARD_BODY_MS = 5_000;
const BODY_LIMIT_ERROR = Object.assign(new Error('request body larger than the limit'), { code: 'SB_BODY_LIMIT' });

const WRITE_TIMEOUT_ERROR = Object.assign(new Error('upstream stopped accepting the request body'), { code: 'SB_WRITE_TIMEOUT' });
/** A body with a Content-Length up to this is buffered before dispatch so a connection failure can be retried. */
const REPLAYABLE_BODY_MAX = 64 * 1024;

/**
 * The request body on its way upstream, counted: past `limit` bytes it stops and the proxy answers
 * ctx.requestBodyLimit's response. It also enforces service.write_timeout (nginx proxy_send_timeout):
 * once undici reads it, data left unconsumed by the upstream for writeTimeout ms fails the request.
 */
export class LimitedBody extends Transform {
  private seen = 0;
  /** When a chunk last moved on towards the upstream (only kept while the write timeout is armed). */
  private movedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    readonly ctx: ProxyRequest,
    readonly limit: number,
    readonly writeTimeout: number,
  ) {
    super();
    this.on('error', ignoreStreamError);
    // armed when undici starts reading (connected): the connect phase has its own timeout
    if (writeTimeout > 0) this.once('resume', this.armWriteTimeout);
  }

  private armWriteTimeout(): void {
    if (this.destroyed || this.readableEnded) return;
    this.movedAt = Date.now();
    this.timer = setTimeout(checkWriteTimeout, this.writeTimeout, this);
    this.once('end', this.disarm);
    this.once('close', this.disarm);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Timer tick: fails the body when data has waited for the upstream for writeTimeout ms. */
  checkWriteTimeout(): void {
    this.timer = null;
    if (this.destroyed || this.readableEnded) return;
    const now = Date.now();
    // data waiting in the readable buffer means the upstream (through undici) is not taking it;
    // an empty buffer means the client is the slow side, which is not a write timeout
    if (this.readableLength === 0) this.movedAt = now;
    const idle = now - this.movedAt;
    if (idle >= this.writeTimeout) {
      requestWriteTimedOut(this.ctx, this);
      return;
    }
    this.timer = setTimeout(checkWriteTimeout, this.writeTimeout - idle, this);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.ctx.bodyLimitExceeded) return cb();
    if (this.timer !== null) this.movedAt = Date.now();
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      cb();
      requestBodyTooLarge(this.ctx, this);
      return;
    }
    cb(null, chunk);
  }
}

function checkWriteTimeout(body: LimitedBody): void {
  body.checkWriteTimeout();
}

function cutUnfinishedBody(req: IncomingMessage): void {
  if (!req.complete) req.socket.destroy();
}

export function hasRequestBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && cl !== '0';
}

/** A Content-Length body small enough to buffer for retries (and within a request-size limit, which streams). */
export function isSmallBody(ctx: ProxyRequest): boolean {
  const h = ctx.req.headers;
  if (h['transfer-encoding'] !== undefined) return false;
  const n = Number(h['content-length']);
  if (!(n <= REPLAYABLE_BODY_MAX)) return false;
  return ctx.requestBodyLimit === undefined || n <= ctx.requestBodyLimit.bytes;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client aborted')));
  });
}

/**
 * The streamed request body passed ctx.requestBodyLimit: stop forwarding it, abort the upstream
 * request and answer the limit's response (or cut the connection when the response already began).
 */
export function requestBodyTooLarge(ctx: ProxyRequest, body: LimitedBody): void {
  ctx.bodyLimitExceeded = true;
  const req = ctx.req;
  req.unpipe(body);
  // Drop the rest of the body rather than close at once: a client still sending would get a reset
  // that can swallow the answer. A client that keeps sending is cut after DISCARD_BODY_MS.
  req.resume();
  setTimeout(cutUnfinishedBody, DISCARD_BODY_MS, req).unref();
  if (!ctx.done) {
    if (ctx.res.headersSent) {
      ctx.status = ctx.res.statusCode;
      ctx.res.destroy();
    } else {
      const r = (ctx.requestBodyLimit as { response: PluginResponse }).response;
      gatewayExit(ctx, r.status, r.body, r.headers);
    }
  }
  // undici aborts the upstream request when its body stream fails (now, or once connected)
  body.destroy(BODY_LIMIT_ERROR);
}

/** The upstream took no request body data for service.write_timeout ms: abort, answer 504 (see upstreamFailed). */
export function requestWriteTimedOut(ctx: ProxyRequest, body: LimitedBody): void {
  ctx.writeTimedOut = true;
  const req = ctx.req;
  req.unpipe(body);
  req.resume();
  setTimeout(cutUnfinishedBody, DISCARD_BODY_MS, req).unref();
  const abort = ctx.abortUpstream;
  if (abort !== null) abort(WRITE_TIMEOUT_ERROR);
  body.destroy(WRITE_TIMEOUT_ERROR);
}
