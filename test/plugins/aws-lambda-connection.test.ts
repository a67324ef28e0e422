// aws-lambda connections: proxy_url (a real local forward proxy: absolute-form HTTP and CONNECT
// tunnels to an HTTPS Lambda endpoint), AWS_CA_BUNDLE for a private CA, certificate verification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, snapshot } from './helpers.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE', 'AWS_CA_BUNDLE'];
const savedEnv: Record<string, string | undefined> = {};

describe('aws-lambda proxy_url schema', () => {
  it('takes an http proxy only, as Kong', () => {
    expect(pluginRow('aws-lambda', { function_name: 'f', proxy_url: 'http://127.0.0.1:3128' }).config.proxy_url).toBe('http://127.0.0.1:3128');
    expect(rejection('aws-lambda', { function_name: 'f', proxy_url: 'https://127.0.0.1:3128' }).message).toContain('proxy_url scheme must be http');
  });
});

describe('aws-lambda through proxy_url and over verified HTTPS', () => {
  let dir: string;
  let caFile: string;
  let plain: LambdaServer;
  let secure: LambdaServer;
  let fwd: ForwardProxy;
  let proxy: Proxy;
  let url: string;

  beforeAll(async () => {
    for (const k of ENV_KEYS) {
      savedEnv[k] = process.env[k];
      delete process.env[k];
    }
    process.env.AWS_ACCESS_KEY_ID = 'AKIDENVIRONMENT';
    process.env.AWS_SECRET_ACCESS_KEY = 'environment-secret';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    dir = mkdtempSync(join(tmpdir(), 'sb-lambda-tls-'));
    caFile = join(dir, 'lambda.crt');
    const keyFile = join(dir, 'lambda.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    plain = await startLambdaServer();
    secure = await startLambdaServer({ tls: { cert: readFileSync(caFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } });
    fwd = await startForwardProxy();

    const routes: Row[] = [];
    const plugins: Row[] = [];
    const add = (path: string, config: Row) => {
      const r = route({ paths: [path] });
      routes.push(r);
      plugins.push(pluginRow('aws-lambda', { aws_region: 'us-east-1', host: '127.0.0.1', function_name: 'functionEcho', ...config }, { route: r }));
    };
    add('/http-via-proxy', { port: plain.port, disable_https: true, proxy_url: fwd.url });
    add('/https-via-proxy', { port: secure.port, proxy_url: fwd.url });
    add('/https-direct', { port: secure.port });
    add('/https-via-proxy-2.0', { port: secure.port, proxy_url: fwd.url, awsgateway_compatible_payload_version: '2.0' });
    ({ proxy, url } = await startProxy(snapshot({ routes, plugins }), { registry: handlers }));
  });

  afterAll(async () => {
    await proxy?.close();
    closeLambdaClients();
    await plain?.close();
    await secure?.close();
    await fwd?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  const call = (path: string) => request(`${url}${path}?via=${encodeURIComponent(path)}`);

  it('sends plain-HTTP Invoke calls to the proxy in absolute form', async () => {
    fwd.requests.length = 0;
    const res = await call('/http-via-proxy');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ via: '/http-via-proxy' });
    expect(fwd.requests).toEqual([`POST http://127.0.0.1:${plain.port}/2015-03-31/functions/functionEcho/invocations`]);
    expect(plain.last().accessKeyId).toBe('AKIDENVIRONMENT');
    const before = fwd.connections;
    for (let i = 0; i < 3; i++) expect((await call('/http-via-proxy')).status).toBe(200);
    expect(fwd.connections - before).toBeLessThanOrEqual(1);
    expect(fwd.requests).toHaveLength(4);
  });

  it('refuses an HTTPS endpoint whose certificate is not trusted (500, nothing sent)', async () => {
    const before = secure.invocations.length;
    const res = await call('/https-direct');
    expect(res.status).toBe(500);
    expect(res.json()).toMatchObject({ message: 'An unexpected error occurred' });
    expect(secure.invocations.length).toBe(before);
  });

  it('tunnels HTTPS through CONNECT, trusts AWS_CA_BUNDLE, and keeps the tunnel alive', async () => {
    process.env.AWS_CA_BUNDLE = caFile;
    try {
      fwd.requests.length = 0;
      for (let i = 0; i < 3; i++) {
        const res = await call('/https-via-proxy');
        expect(res.status).toBe(200);
        expect(res.json()).toEqual({ via: '/https-via-proxy' });
      }
      expect(fwd.requests).toEqual([`CONNECT 127.0.0.1:${secure.port}`]);
      expect(secure.last()).toMatchObject({ functionName: 'functionEcho', accessKeyId: 'AKIDENVIRONMENT' });
      expect((await call('/https-direct')).status).toBe(200);

      const v2 = await call('/https-via-proxy-2.0');
      expect(v2.status).toBe(200);
      expect(v2.json()).toMatchObject({ version: '2.0', rawPath: '/', rawQueryString: 'via=%2Fhttps-via-proxy-2.0' });
    } finally {
      delete process.env.AWS_CA_BUNDLE;
    }
  });
});
