// A Node HTTP app written for API Gateway behind serverless-http (a widely used adapter), run
// unchanged as the Lambda function behind Silverback in both API Gateway modes (REST 1.0, HTTP 2.0).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import serverless from 'serverless-http';
import { request as undiciRequest } from 'undici';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, request, route, snapshot } from './helpers.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE'];
const savedEnv: Record<string, string | undefined> = {};
const PNG = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 255]);

/** An ordinary Node request listener: what a team runs behind API Gateway today. */
function app(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://app');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => {
    if (req.method === 'GET' && url.pathname === '/api/hello') {
      res.setHeader('Set-Cookie', ['session=abc; HttpOnly', 'theme=dark']);
      res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'yes' });
      res.end(JSON.stringify({ hello: url.searchParams.get('name'), tags: url.searchParams.getAll('tag'), cookie: req.headers.cookie ?? null, ua: req.headers['user-agent'] }));
    } else if (req.method === 'POST' && url.pathname === '/api/upload') {
      const body = Buffer.concat(chunks);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes: body.length, first: body[0], last: body[body.length - 1], type: req.headers['content-type'] }));
    } else if (url.pathname === '/api/logo.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no route for ${req.method} ${url.pathname}`);
    }
  });
}

describe('serverless-http app behind Silverback', () => {
  let lambda: LambdaServer;
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
    const handler = serverless(app, { binary: ['image/*', 'application/octet-stream'] });
    lambda = await startLambdaServer({ functions: { app: (event) => handler(event, {}) } });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    for (const v of ['1.0', '2.0']) {
      const r = route({ paths: ['/api'], hosts: [`v${v}.example.com`], strip_path: false });
      routes.push(r);
      plugins.push(
        pluginRow('aws-lambda', { aws_region: 'us-east-1', host: '127.0.0.1', port: lambda.port, disable_https: true, function_name: 'app', awsgateway_compatible_payload_version: v }, { route: r }),
      );
    }
    ({ proxy, url } = await startProxy(snapshot({ routes, plugins }), { registry: handlers }));
  });

  afterAll(async () => {
    await proxy?.close();
    closeLambdaClients();
    await lambda?.close();
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  for (const v of ['1.0', '2.0']) {
    describe(`payload ${v}`, () => {
      const host = `v${v}.example.com`;

      it('routes, reads query, cookies and headers, and sets several cookies', async () => {
        const res = await request(`${url}/api/hello?name=jane&tag=a&tag=b`, { headers: { host, cookie: 'a=1; b=2', 'user-agent': 'curl/8.5.0' } });
        expect(res.status).toBe(200);
        expect(res.json()).toEqual({ hello: 'jane', tags: ['a', 'b'], cookie: 'a=1; b=2', ua: 'curl/8.5.0' });
        expect(res.headers['set-cookie']).toEqual(['session=abc; HttpOnly', 'theme=dark']);
        expect(res.headers['x-app']).toBe('yes');
        expect(res.headers['content-type']).toBe('application/json');
      });

      it('receives a binary upload and answers a binary body', async () => {
        const bin = Buffer.alloc(256 * 1024, 7);
        bin[0] = 0;
        bin[bin.length - 1] = 255;
        const up = await request(`${url}/api/upload`, { method: 'POST', headers: { host, 'content-type': 'application/octet-stream' }, body: bin });
        expect(up.status).toBe(201);
        expect(up.json()).toEqual({ bytes: bin.length, first: 0, last: 255, type: 'application/octet-stream' });
        const img = await undiciRequest(`${url}/api/logo.png`, { headers: { host } });
        expect(img.statusCode).toBe(200);
        expect(img.headers['content-type']).toBe('image/png');
        expect(Buffer.from(await img.body.arrayBuffer()).equals(PNG)).toBe(true);
      });

      it("passes the app's own 404 through", async () => {
        const res = await request(`${url}/api/nothing`, { method: 'DELETE', headers: { host } });
        expect(res.status).toBe(404);
        expect(res.body).toBe('no route for DELETE /api/nothing');
      });
    });
  }
});
