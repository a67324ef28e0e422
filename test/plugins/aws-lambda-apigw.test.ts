// aws-lambda with awsgateway_compatible_payload_version: Amazon API Gateway's own Lambda proxy
// integration (HTTP API payload 2.0), through the real proxy and the real AWS SDK against the local
// Lambda Invoke API, with JavaScript functions written for API Gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { keyPair, nowSec, sign } from '../helpers/jwt-keys.js';
import { startProxy } from '../proxy/fixtures.js';
import { prepareInsert } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets } from '../../shared/schema/entities/index.js';
import { setLambdaLog } from '../../data-plane/plugins/aws-lambda/log.js';
import { resourceTemplate } from '../../data-plane/plugins/aws-lambda/apigw-event.js';
import { request as undiciRequest } from 'undici';
import { randomBytes } from 'node:crypto';
import { pluginRow, rejection, request, route, snapshot } from './helpers.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE'];
const savedEnv: Record<string, string | undefined> = {};
const ISS = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123';

/** A function written for API Gateway HTTP APIs: a hand-written router on rawPath and the method. */
function router(event: any): unknown {
  const { method } = event.requestContext.http;
  if (event.rawPath === '/orders' && method === 'GET') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ id: 1 }]) };
  }
  const m = /^\/orders\/(\d+)$/.exec(event.rawPath);
  if (m && method === 'PUT') {
    const input = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: ['seen=1; Path=/', 'lang=en'], body: JSON.stringify({ id: Number(m[1]), ...input }) };
  }
  return { statusCode: 404, body: 'no route' };
}

describe('API Gateway resource templates from route paths', () => {
  it('turns named groups into {name} and greedy ones into {name+}; other regexes stay as written', () => {
    expect(resourceTemplate('/items/(?<kind>[a-z]+)/(?<id>\\d+)$')).toBe('/items/{kind}/{id}');
    expect(resourceTemplate('^/files/(?<path>.*)')).toBe('/files/{path+}');
    expect(resourceTemplate('/v(?<n>(1|2))/x')).toBe('/v{n}/x');
    expect(resourceTemplate('/plain')).toBe('/plain');
    expect(resourceTemplate('/a/(\\d+)/(?<id>\\w+)')).toBe('/a/(\\d+)/(?<id>\\w+)');
    expect(resourceTemplate('/a/(?<id>[0-9]+')).toBe('/a/(?<id>[0-9]+');
  });
});

describe('aws-lambda schema: awsgateway_compatible_payload_version', () => {
  it('is unset by default and accepts "1.0" and "2.0"', () => {
    expect(pluginRow('aws-lambda', { function_name: 'f' }).config.awsgateway_compatible_payload_version).toBeNull();
    expect(pluginRow('aws-lambda', { function_name: 'f', awsgateway_compatible_payload_version: '2.0' }).config.awsgateway_compatible_payload_version).toBe('2.0');
    expect(rejection('aws-lambda', { function_name: 'f', awsgateway_compatible_payload_version: '3.0' }).fields).toEqual({ config: { awsgateway_compatible_payload_version: 'expected one of: 1.0, 2.0' } });
  });
});

describe('aws-lambda: API Gateway HTTP API (payload 2.0)', () => {
  let lambda: LambdaServer;
  let proxy: Proxy;
  let url: string;
  let pair: Awaited<ReturnType<typeof keyPair>>;

  beforeAll(async () => {
    for (const k of ENV_KEYS) {
      savedEnv[k] = process.env[k];
      delete process.env[k];
    }
    process.env.AWS_ACCESS_KEY_ID = 'AKIDENVIRONMENT';
    process.env.AWS_SECRET_ACCESS_KEY = 'environment-secret';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    lambda = await startLambdaServer({
      functions: {
        router,
        plainObject: () => ({ hello: 'world', list: [] }),
        plainString: () => 'Hello from Lambda!',
        thrower: () => {
          throw new TypeError('Cannot read properties of undefined');
        },
        badStatus: () => ({ statusCode: 'abc', body: 'x' }),
        objectBody: () => ({ statusCode: 200, body: { not: 'a string' } }),
        badBase64: () => ({ statusCode: 200, body: '%%%', isBase64Encoded: true }),
        multi: () => ({
          statusCode: 201,
          headers: { 'X-One': 'a', 'Content-Length': '999', 'X-Num': 7 },
          multiValueHeaders: { 'x-two': ['b', 'c'] },
          cookies: ['a=1', 'b=2; HttpOnly'],
          body: 'made',
        }),
        binEcho: (ev) => ({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: ev.body ?? '', isBase64Encoded: ev.isBase64Encoded }),
        huge: () => ({ statusCode: 200, body: 'x'.repeat(6_300_000) }),
      },
    });

    pair = await keyPair('RS256', 'cognito');
    const consumer = prepareInsert(consumers, { username: 'jane' });
    const credential = prepareInsert(jwt_secrets, { consumer: { id: consumer.id }, algorithm: 'RS256', rsa_public_key: `${pair.publicPem}\n`, key: ISS });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const base = { aws_region: 'us-east-1', host: '127.0.0.1', port: lambda.port, disable_https: true, awsgateway_compatible_payload_version: '2.0' };
    const add = (fields: Row, config: Row, extra: Row[] = []) => {
      const r = route(fields);
      routes.push(r);
      plugins.push(pluginRow('aws-lambda', { ...base, ...config }, { route: r }));
      for (const p of extra) plugins.push({ ...p, route: { id: r.id } });
    };
    add({ hosts: ['example.org'], paths: null }, { function_name: 'functionEcho' });
    add({ paths: ['~/items/(?<kind>[a-z]+)/(?<id>\\d+)$'], methods: ['GET', 'POST'], strip_path: false }, { function_name: 'functionEcho' });
    add({ paths: ['/echo'] }, { function_name: 'functionEcho' });
    add({ paths: ['/secure'] }, { function_name: 'functionEcho' }, [pluginRow('jwt', {})]);
    add({ paths: ['/orders'], strip_path: false }, { function_name: 'router' });
    add({ paths: ['/plain-object'] }, { function_name: 'plainObject' });
    add({ paths: ['/plain-string'] }, { function_name: 'plainString' });
    for (const name of ['thrower', 'badStatus', 'objectBody', 'badBase64', 'multi', 'binEcho', 'huge', 'throttledFunction', 'missingFunction', 'functionWithBadJSON']) {
      add({ paths: [`/fn/${name}`] }, { function_name: name });
    }
    add({ paths: ['/fn/slow'] }, { function_name: 'functionSlow', timeout: 300 });
    add({ paths: ['/fn/event'] }, { function_name: 'functionEcho', invocation_type: 'Event' });
    add({ paths: ['/fn/noregion'] }, { function_name: 'functionEcho', aws_region: null });
    ({ proxy, url } = await startProxy(snapshot({ routes, plugins, consumers: [consumer], jwt_secrets: [credential] }), { registry: handlers }));
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

  const call = (path: string, opts: Parameters<typeof request>[1] = {}) => request(`${url}${path}`, opts);

  describe('the event', () => {
    it("matches AWS's documented 2.0 example field by field", async () => {
      const started = Date.now();
      await call('/my/path?parameter1=value1&parameter1=value2&parameter2=value', {
        method: 'POST',
        headers: { host: 'example.org', header1: 'value1', header2: ['value1', 'value2'], cookie: 'cookie1; cookie2', 'user-agent': 'agent', 'content-type': 'text/plain' },
        body: 'Hello from Lambda',
      });
      const ev = lambda.last().event;
      expect(ev).toMatchObject({
        version: '2.0',
        routeKey: '$default',
        rawPath: '/my/path',
        rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
        cookies: ['cookie1', 'cookie2'],
        queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
        body: 'Hello from Lambda',
        isBase64Encoded: false,
      });
      expect(ev.headers).toMatchObject({ header1: 'value1', header2: 'value1,value2', host: 'example.org', 'user-agent': 'agent', 'content-type': 'text/plain' });
      expect(ev.headers.cookie).toBeUndefined();
      expect(ev).not.toHaveProperty('pathParameters');
      expect(ev).not.toHaveProperty('stageVariables');
      expect(ev).not.toHaveProperty('multiValueHeaders');
      expect(ev).not.toHaveProperty('multiValueQueryStringParameters');
      const rc = ev.requestContext;
      expect(rc).toMatchObject({
        domainName: 'example.org',
        domainPrefix: 'example',
        http: { method: 'POST', path: '/my/path', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'agent' },
        routeKey: '$default',
        stage: '$default',
      });
      expect(rc).not.toHaveProperty('authorizer');
      expect(rc.requestId).toMatch(/^[0-9a-f]+$/);
      expect(rc.timeEpoch).toBeGreaterThanOrEqual(started - 5);
      expect(rc.timeEpoch).toBeLessThanOrEqual(Date.now());
      expect(rc.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    });

    it('omits body, cookies and queryStringParameters when absent; rawQueryString stays ""', async () => {
      await call('/echo');
      const ev = lambda.last().event;
      expect(ev.rawQueryString).toBe('');
      expect(ev.isBase64Encoded).toBe(false);
      for (const k of ['body', 'cookies', 'queryStringParameters']) expect(ev).not.toHaveProperty(k);
    });

    it('routeKey names the method and the route path; pathParameters come from named captures', async () => {
      await call('/items/books/42?x=', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
      const ev = lambda.last().event;
      expect(ev.routeKey).toBe('POST /items/{kind}/{id}');
      expect(ev.requestContext.routeKey).toBe(ev.routeKey);
      expect(ev.pathParameters).toEqual({ kind: 'books', id: '42' });
      expect(ev.queryStringParameters).toEqual({ x: '' });
      expect(ev).toMatchObject({ body: '{"a":1}', isBase64Encoded: false, rawPath: '/items/books/42' });
      await call('/echo/sub');
      expect(lambda.last().event).toMatchObject({ routeKey: 'ANY /echo', rawPath: '/sub' });
    });

    it('takes __proto__ and constructor as plain header and query names', async () => {
      const res = await call('/echo?constructor=1&__proto__=2&constructor=3', { headers: { ['__proto__']: 'h', constructor: 'c' } as any });
      expect(res.status).toBe(200);
      const ev = JSON.parse(lambda.last().raw);
      expect(Object.getOwnPropertyDescriptor(ev.queryStringParameters, 'constructor')?.value).toBe('1,3');
      expect(Object.getOwnPropertyDescriptor(ev.queryStringParameters, '__proto__')?.value).toBe('2');
      expect(Object.getOwnPropertyDescriptor(ev.headers, '__proto__')?.value).toBe('h');
      expect(Object.getOwnPropertyDescriptor(ev.headers, 'constructor')?.value).toBe('c');
    });

    it('base64-encodes every body that is not text (no Content-Type, form, binary)', async () => {
      const bin = Buffer.from([0, 1, 2, 250, 255]);
      await call('/echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bin });
      expect(lambda.last().event).toMatchObject({ body: bin.toString('base64'), isBase64Encoded: true });
      await call('/echo', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
      expect(lambda.last().event).toMatchObject({ body: Buffer.from('a=1').toString('base64'), isBase64Encoded: true });
      await call('/echo', { method: 'POST', body: 'untyped' });
      expect(lambda.last().event).toMatchObject({ body: Buffer.from('untyped').toString('base64'), isBase64Encoded: true });
      await call('/echo', { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"é":1}' });
      expect(lambda.last().event).toMatchObject({ body: '{"é":1}', isBase64Encoded: false });
    });

    it('carries the jwt plugin\'s verified claims as authorizer.jwt (string values) and scopes', async () => {
      const iat = nowSec();
      const token = await sign(
        { sub: 'u-1', iss: ISS, client_id: 'app', token_use: 'access', scope: 'orders/read orders/write', 'cognito:groups': ['admin', 'ops'], iat, exp: iat + 3600 },
        pair,
        { kid: 'cognito-kid' },
      );
      const res = await call('/secure', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(lambda.last().event.requestContext.authorizer).toEqual({
        jwt: {
          claims: { sub: 'u-1', iss: ISS, client_id: 'app', token_use: 'access', scope: 'orders/read orders/write', 'cognito:groups': '[admin ops]', iat: String(iat), exp: String(iat + 3600) },
          scopes: ['orders/read', 'orders/write'],
        },
      });
      const before = lambda.invocations.length;
      expect((await call('/secure')).status).toBe(401);
      expect(lambda.invocations.length).toBe(before);
    });
  });

  describe('the response', () => {
    it('a function written for API Gateway (router on rawPath) works unchanged', async () => {
      const list = await call('/orders');
      expect(list.status).toBe(200);
      expect(list.json()).toEqual([{ id: 1 }]);
      const put = await call('/orders/7', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"qty":2}' });
      expect(put.status).toBe(200);
      expect(put.json()).toEqual({ id: 7, qty: 2 });
      expect(put.headers['set-cookie']).toEqual(['seen=1; Path=/', 'lang=en']);
      expect(put.headers['apigw-requestid']).toMatch(/^[0-9a-f]+$/);
      // API Gateway does not pass Lambda's own headers on
      expect(put.headers['x-amz-executed-version']).toBeUndefined();
      expect(put.headers['x-amzn-requestid']).toBeUndefined();
      const none = await call('/orders/7');
      expect(none.status).toBe(404);
      expect(none.body).toBe('no route');
    });

    it('maps headers, multiValueHeaders and cookies; the proxy frames the body itself', async () => {
      const res = await call('/fn/multi');
      expect(res.status).toBe(201);
      expect(res.body).toBe('made');
      expect(res.headers['x-one']).toBe('a');
      expect(res.headers['x-num']).toBe('7');
      expect(res.headers['x-two']).toBe('b, c');
      expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2; HttpOnly']);
      expect(res.headers['content-length']).toBe('4');
    });

    it('infers 200 application/json for JSON without statusCode (a JSON string is the body itself)', async () => {
      const obj = await call('/plain-object');
      expect(obj.status).toBe(200);
      expect(obj.headers['content-type']).toBe('application/json');
      expect(obj.json()).toEqual({ hello: 'world', list: [] });
      const str = await call('/plain-string');
      expect(str.status).toBe(200);
      expect(str.headers['content-type']).toBe('application/json');
      expect(str.body).toBe('Hello from Lambda!');
    });

    it('carries large binary bodies both ways (base64 in the event and in the response)', async () => {
      const bin = randomBytes(1024 * 1024);
      const res = await undiciRequest(`${url}/fn/binEcho`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: bin });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(Buffer.from(await res.body.arrayBuffer()).equals(bin)).toBe(true);
      expect(lambda.last().event.isBase64Encoded).toBe(true);
    });

    it('answers 202 for an Event invocation', async () => {
      const res = await call('/fn/event');
      expect(res.status).toBe(202);
      expect(res.body).toBe('');
    });
  });

  describe('errors, as API Gateway HTTP APIs answer them, with the cause logged', () => {
    const logs: Record<string, unknown>[] = [];
    beforeAll(() => setLambdaLog({ error: (obj) => void logs.push(obj) }));
    afterAll(() => setLambdaLog(null));

    const expectError = async (path: string, status: number, message: string, cause: RegExp, opts: Parameters<typeof request>[1] = {}) => {
      logs.length = 0;
      const res = await call(path, opts);
      expect(res.status).toBe(status);
      expect(res.body).toBe(JSON.stringify({ message }));
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['apigw-requestid']).toMatch(/^[0-9a-f]+$/);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ status, request_id: res.headers['apigw-requestid'] });
      expect(String(logs[0].cause)).toMatch(cause);
      return res;
    };

    it('a function error is 500 Internal Server Error', async () => {
      await expectError('/fn/thrower', 500, 'Internal Server Error', /^function error \(Unhandled\): TypeError: Cannot read properties of undefined$/);
    });

    it('a malformed response is 500 Internal Server Error', async () => {
      await expectError('/fn/badStatus', 500, 'Internal Server Error', /statusCode must be an integer/);
      await expectError('/fn/objectBody', 500, 'Internal Server Error', /body must be a string/);
      await expectError('/fn/badBase64', 500, 'Internal Server Error', /not base64/);
      await expectError('/fn/functionWithBadJSON', 500, 'Internal Server Error', /not JSON/);
    });

    it('a response over 6 MB (Lambda fails the function) is 500', async () => {
      await expectError('/fn/huge', 500, 'Internal Server Error', /Function.ResponseSizeTooLarge/);
    });

    it('a throttled invocation is 429, other Invoke API errors are 500', async () => {
      await expectError('/fn/throttledFunction', 429, 'Too Many Requests', /^TooManyRequestsException: Rate Exceeded\.$/);
      await expectError('/fn/missingFunction', 500, 'Internal Server Error', /^ResourceNotFoundException: Function not found/);
    });

    it('a function outliving the timeout is 503 Service Unavailable', async () => {
      const t0 = Date.now();
      await expectError('/fn/slow', 503, 'Service Unavailable', /^TimeoutError/);
      expect(Date.now() - t0).toBeLessThan(1400);
    });

    it('an event over 6 MB is 413 without invoking the function', async () => {
      const before = lambda.invocations.length;
      await expectError('/fn/binEcho', 413, 'Request Entity Too Large', /exceeds Lambda's 6291456-byte payload limit/, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(5 * 1024 * 1024),
      });
      expect(lambda.invocations.length).toBe(before);
    });

    it('no region is 500 with the cause logged', async () => {
      await expectError('/fn/noregion', 500, 'Internal Server Error', /^no region specified$/);
    });
  });
});
