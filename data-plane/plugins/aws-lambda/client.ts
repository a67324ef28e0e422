// Lambda Invoke through @aws-sdk/client-lambda: one LambdaClient per distinct connection config
// (region, credentials, endpoint, timeouts), kept across snapshots in an LRU like Kong's service
// cache, so a config push does not drop the keep-alive connections to Lambda. The SDK (~20 MB of
// memory) is imported on first use: a data plane without an aws-lambda plugin never loads it.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { LRUCache } from 'lru-cache';
import { credentialsFor, type CredentialConfig } from './credentials.js';

export interface LambdaConnectionConfig extends CredentialConfig {
  host: string | null;
  port: number | null;
  disable_https: boolean;
  timeout: number;
  keepalive: number;
  /** http:// proxy: plain requests in absolute form, https through a CONNECT tunnel (Kong's proxy_url). */
  proxy_url: string | null;
}

export interface InvokeResult {
  status: number;
  /** Lambda's response headers (lower-case names) as received. */
  headers: Record<string, string>;
  payload: Buffer;
  functionError: string | undefined;
}

const RAW = Symbol('silverback.rawResponse');
type RawResponse = { statusCode?: number; headers?: Record<string, string> };

/**
 * The endpoint Kong would call: `host` (default lambda.<region>.amazonaws.com), `port`, https unless
 * disable_https. Undefined when that is the SDK's own default, so AWS_ENDPOINT_URL_LAMBDA applies.
 */
export function endpointOf(c: LambdaConnectionConfig): string | undefined {
  const port = c.port ?? 443;
  if (!c.host && !c.disable_https && port === 443) return undefined;
  const scheme = c.disable_https ? 'http' : 'https';
  const host = c.host || `lambda.${c.region}.amazonaws.com`;
  return `${scheme}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

type LambdaSdk = typeof import('@aws-sdk/client-lambda');
let sdk: LambdaSdk | null = null;
let sdkLoading: Promise<LambdaSdk> | null = null;

/** Imports the SDK once; called when an aws-lambda plugin is configured, so the first request does not wait for it. */
export function loadLambdaSdk(): Promise<LambdaSdk> {
  if (sdk) return Promise.resolve(sdk);
  sdkLoading ??= import('@aws-sdk/client-lambda').then(
    (m) => (sdk = m),
    (err) => {
      sdkLoading = null;
      throw err;
    },
  );
  return sdkLoading;
}

/**
 * AWS_CA_BUNDLE (the AWS CLI's and SDKs' setting): a PEM bundle that replaces the default trust
 * store for HTTPS to AWS, for endpoints and TLS-intercepting proxies with a private CA.
 */
function caBundle(): { path: string; pem: string } | undefined {
  const path = process.env.AWS_CA_BUNDLE;
  return path ? { path, pem: readFileSync(path, 'utf8') } : undefined;
}

/**
 * CONNECT tunnels to HTTPS endpoints. HttpsProxyAgent takes TLS options per request only, so the
 * CA bundle is added here; and it drops the host before the TLS upgrade, so an IP endpoint would be
 * checked against "localhost": the certificate is checked against the endpoint's host instead.
 * Tunnels are kept alive and reused like direct connections.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: string,
    private readonly ca: string | undefined,
    opts: http.AgentOptions,
  ) {
    super(proxy, opts);
  }
  /** Only ever the https agent: without this the keep-alive pool files a freed tunnel under an http name and never reuses it. */
  override isSecureEndpoint(): boolean {
    return true;
  }
  override connect(req: http.ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    const host = String(opts.host ?? '');
    const extra = { checkServerIdentity: (_: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(host, cert), ...(this.ca === undefined ? {} : { ca: this.ca }) };
    return super.connect(req, { ...opts, ...extra } as typeof opts);
  }
}

/** Keep-alive agents for http and https endpoints, through proxy_url when configured. */
export function agents(c: Pick<LambdaConnectionConfig, 'keepalive' | 'proxy_url'>): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const ca = caBundle()?.pem;
  const agentOptions = { keepAlive: true, timeout: c.keepalive > 0 ? c.keepalive : undefined, maxSockets: Infinity };
  const tlsOptions = ca === undefined ? agentOptions : { ...agentOptions, ca };
  if (c.proxy_url) {
    return {
      httpAgent: new HttpProxyAgent(c.proxy_url, agentOptions),
      httpsAgent: new TunnelAgent(c.proxy_url, ca, agentOptions) as unknown as https.Agent,
    };
  }
  return { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(tlsOptions) };
}

function createClient({ LambdaClient }: LambdaSdk, c: LambdaConnectionConfig): LambdaClient {
  const connection = agents(c);
  const client = new LambdaClient({
    region: c.region,
    endpoint: endpointOf(c),
    credentials: credentialsFor(c, connection),
    // Kong makes one attempt; the client's retries would multiply the configured timeout.
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: c.timeout,
      requestTimeout: c.timeout,
      // without it the SDK only logs a warning when requestTimeout passes (platform-notes.md)
      throwOnRequestTimeout: true,
      ...connection,
    },
  });
  // Keep Lambda's raw response headers (x-amzn-RequestId, X-Amz-Log-Result...) for the client response.
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const output = result.output as object | undefined;
      if (output && typeof output === 'object') Object.defineProperty(output, RAW, { value: result.response, enumerable: false });
      return result;
    },
    { step: 'initialize', name: 'silverbackRawLambdaResponse' },
  );
  return client;
}

const clients = new LRUCache<string, LambdaClient>({
  max: 1000,
  dispose: (client) => client.destroy(),
});

/** Keys already computed for a plugin instance's connection config (hashing per request is waste). */
const keys = new WeakMap<LambdaConnectionConfig, { ca: string | undefined; key: string }>();

function cacheKey(c: LambdaConnectionConfig): string {
  const ca = process.env.AWS_CA_BUNDLE;
  const known = keys.get(c);
  if (known !== undefined && known.ca === ca) return known.key;
  const fields = [
    c.region, c.aws_key, c.aws_secret, c.aws_assume_role_arn, c.aws_role_session_name, c.aws_sts_endpoint_url, c.aws_imds_protocol_version,
    c.host, c.port, c.disable_https, c.timeout, c.keepalive, c.proxy_url, ca ?? null,
  ];
  const key = createHash('sha256').update(JSON.stringify(fields)).digest('base64');
  keys.set(c, { ca, key });
  return key;
}

export async function lambdaClient(c: LambdaConnectionConfig): Promise<LambdaClient> {
  const key = cacheKey(c);
  let client = clients.get(key);
  if (client === undefined) {
    const lib = sdk ?? (await loadLambdaSdk());
    client = clients.get(key); // another request may have created it meanwhile
    if (client !== undefined) return client;
    client = createClient(lib, c);
    clients.set(key, client);
  }
  return client;
}

/** Close every cached client (tests, shutdown). */
export function closeLambdaClients(): void {
  clients.clear();
}

export interface InvokeInput {
  functionName: string;
  invocationType: 'RequestResponse' | 'Event' | 'DryRun';
  logType: 'Tail' | 'None';
  qualifier: string | null;
  payload: string;
}

/** One Invoke call. Throws on API errors (status ≥ 400), timeouts and network failures. */
export async function invoke(client: LambdaClient, input: InvokeInput): Promise<InvokeResult> {
  const { InvokeCommand } = sdk ?? (await loadLambdaSdk());
  const out: InvokeCommandOutput = await client.send(
    new InvokeCommand({
      FunctionName: input.functionName,
      InvocationType: input.invocationType,
      LogType: input.logType,
      Qualifier: input.qualifier ?? undefined,
      Payload: Buffer.from(input.payload, 'utf8'),
    }),
  );
  const raw = (out as unknown as Record<symbol, RawResponse | undefined>)[RAW];
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw?.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  return {
    status: out.StatusCode ?? raw?.statusCode ?? 200,
    headers,
    payload: out.Payload ? Buffer.from(out.Payload.buffer, out.Payload.byteOffset, out.Payload.byteLength) : Buffer.alloc(0),
    functionError: out.FunctionError,
  };
}
