// A local AWS Lambda Invoke API (POST /2015-03-31/functions/<name>/invocations) in the spirit of
// Kong's mock Lambda, on 127.0.0.1 and a random port. Requests must carry a SigV4 Authorization
// header (403 otherwise). X-Amz-Invocation-Type Event → 202 and DryRun → 204 without a body;
// X-Amz-Log-Type Tail adds X-Amz-Log-Result. The function name selects what the function does:
//   seedEcho                                → Python `{'statusCode': 200, 'body': json.dumps(event)}` (the walkthrough's function)
//   functionEcho (and any unknown name)     → the event itself
//   functionWithUnhandledError              → X-Amz-Function-Error: Unhandled, {"errorMessage":...}
//   functionWithBadJSON                     → `{"foo":"bar"` (not JSON)
//   functionWithNoResponse                  → empty payload
//   functionWithBase64EncodedResponse       → proxy response with body "dGVzdA==" and isBase64Encoded
//   functionWithNotBase64EncodedResponse    → the same body with isBase64Encoded false
//   functionWithIllegalBase64EncodedResponse→ isBase64Encoded "abc"
//   functionWithMultiValueHeadersResponse   → proxy response with headers + multiValueHeaders
//   functionProxyEcho                       → proxy response 201 echoing the event as JSON body, custom headers
//   functionSlow                            → echoes after 1.5 s (timeouts)
//   missingFunction                         → 404 ResourceNotFoundException (an Invoke API error)
//   throttledFunction                       → 429 TooManyRequestsException (Rate Exceeded.)
// `functions` (startLambdaServer option) adds JavaScript handlers: each gets the event and its result
// becomes the JSON payload; a thrown error becomes an Unhandled function error, as the Node runtime.
// Payloads over Lambda's 6 MB limit: request → 413 RequestTooLargeException, response → function
// error Function.ResponseSizeTooLarge.
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export interface Invocation {
  functionName: string;
  qualifier: string | null;
  invocationType: string;
  logType: string | null;
  /** From the SigV4 credential scope. */
  accessKeyId: string;
  region: string;
  /** The raw payload and, when it is JSON, its value. */
  raw: string;
  event: any;
  headers: http.IncomingHttpHeaders;
}

export type LambdaHandler = (event: any, invocation: Invocation) => unknown;

/** Lambda's synchronous payload limits: 6 MB request, and the response limit its error message names. */
export const REQUEST_LIMIT = 6 * 1024 * 1024;
export const RESPONSE_LIMIT = 6291556;

export interface LambdaServer {
  url: string;
  port: number;
  invocations: Invocation[];
  /** TCP connections accepted so far (keep-alive reuse shows as few connections). */
  readonly connections: number;
  last(): Invocation;
  close(): Promise<void>;
}

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/lambda\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;
const PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?(.*))?$/;

/** Python's json.dumps (default separators, ensure_ascii): what the walkthrough's function prints. */
export function pyDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${pyDumps(k)}: ${pyDumps(x)}`)
    .join(', ')}}`;
}

function apiError(res: http.ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ Type: 'User', message });
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function functionResult(name: string, raw: string, event: any): { payload: string; headers?: Record<string, string>; delay?: number } {
  switch (name) {
    case 'seedEcho':
      return { payload: pyDumps({ statusCode: 200, body: pyDumps(event) }) };
    case 'functionWithUnhandledError':
      return { payload: JSON.stringify({ errorMessage: 'boom', errorType: 'Error', stackTrace: [] }), headers: { 'X-Amz-Function-Error': 'Unhandled' } };
    case 'functionWithBadJSON':
      return { payload: '{"foo":"bar"' };
    case 'functionWithNoResponse':
      return { payload: '' };
    case 'functionWithBase64EncodedResponse':
      return { payload: '{"statusCode": 200, "body": "dGVzdA==", "isBase64Encoded": true}' };
    case 'functionWithNotBase64EncodedResponse':
      return { payload: '{"statusCode": 200, "body": "dGVzdA=", "isBase64Encoded": false}' };
    case 'functionWithIllegalBase64EncodedResponse':
      return { payload: '{"statusCode": 200, "body": "dGVzdA=", "isBase64Encoded": "abc"}' };
    case 'functionWithMultiValueHeadersResponse':
      return {
        payload: '{"statusCode": 200, "headers": { "Age": "3600"}, "multiValueHeaders": {"Access-Control-Allow-Origin": ["site1.com", "site2.com"]}}',
      };
    case 'functionProxyEcho':
      return {
        payload: JSON.stringify({
          statusCode: 201,
          headers: { 'Content-Type': 'application/json', 'X-Function': 'proxy-echo', 'Transfer-Encoding': 'chunked' },
          body: JSON.stringify(event),
        }),
      };
    case 'functionSlow':
      return { payload: raw, delay: 1500 };
    default:
      return { payload: raw };
  }
}

export async function startLambdaServer(opts: { functions?: Record<string, LambdaHandler>; tls?: { cert: string; key: string } } = {}): Promise<LambdaServer> {
  const invocations: Invocation[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = PATH.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) return apiError(res, 404, 'UnknownOperationException', 'Unknown operation');
      const auth = SIGV4.exec(String(req.headers.authorization ?? ''));
      if (!auth || !req.headers['x-amz-date']) return apiError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      const functionName = decodeURIComponent(m[1]);
      const qualifier = new URLSearchParams(m[2] ?? '').get('Qualifier');
      const bytes = Buffer.concat(chunks);
      if (bytes.length > REQUEST_LIMIT) {
        return apiError(res, 413, 'RequestTooLargeException', `Request must be smaller than ${REQUEST_LIMIT} bytes for the InvokeFunction operation`);
      }
      const raw = bytes.toString('utf8');
      let event: any;
      try {
        event = JSON.parse(raw);
      } catch {
        event = undefined;
      }
      const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      const logType = req.headers['x-amz-log-type'] ? String(req.headers['x-amz-log-type']) : null;
      invocations.push({ functionName, qualifier, invocationType, logType, accessKeyId: auth[1], region: auth[3], raw, event, headers: req.headers });
      if (functionName === 'throttledFunction') {
        const body = JSON.stringify({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User', message: 'Rate Exceeded.' });
        res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException', 'content-length': Buffer.byteLength(body) });
        return res.end(body);
      }
      if (functionName === 'missingFunction') {
        return apiError(res, 404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:${auth[3]}:123456789012:function:${functionName}`);
      }
      const headers: Record<string, string> = {
        'x-amzn-RequestId': randomUUID(),
        'X-Amz-Executed-Version': qualifier ?? '$LATEST',
        'Content-Type': 'application/json',
      };
      if (invocationType === 'Event') {
        res.writeHead(202, { ...headers, 'content-length': 0 });
        return res.end();
      }
      if (invocationType === 'DryRun') {
        res.writeHead(204, headers);
        return res.end();
      }
      const handler = opts.functions?.[functionName];
      const run = handler
        ? Promise.resolve()
            .then(() => handler(event, invocations[invocations.length - 1]))
            .then(
              (v): { payload: string; headers?: Record<string, string> } => ({ payload: v === undefined ? 'null' : JSON.stringify(v) }),
              (err: Error) => ({
                payload: JSON.stringify({ errorType: err?.name ?? 'Error', errorMessage: err?.message ?? String(err), trace: [] }),
                headers: { 'X-Amz-Function-Error': 'Unhandled' },
              }),
            )
        : Promise.resolve(functionResult(functionName, raw, event));
      void run.then((result: { payload: string; headers?: Record<string, string>; delay?: number }) => {
        if (Buffer.byteLength(result.payload) > RESPONSE_LIMIT) {
          result = {
            payload: JSON.stringify({ errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_LIMIT} bytes).`, errorType: 'Function.ResponseSizeTooLarge' }),
            headers: { 'X-Amz-Function-Error': 'Unhandled' },
          };
        }
        if (logType === 'Tail') headers['X-Amz-Log-Result'] = Buffer.from(`START RequestId: ${headers['x-amzn-RequestId']}\nEND\n`).toString('base64');
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(200, { ...headers, ...result.headers, 'content-length': Buffer.byteLength(result.payload) });
          res.end(result.payload);
        };
        if (result.delay) setTimeout(send, result.delay);
        else send();
      });
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, handle) : http.createServer(handle);
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    invocations,
    get connections() {
      return connections;
    },
    last() {
      const inv = invocations[invocations.length - 1];
      if (!inv) throw new Error('no invocation yet');
      return inv;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
