// aws-lambda with awsgateway_compatible_payload_version "1.0": API Gateway REST API's Lambda proxy
// integration (event, response and error mapping as AWS documents them, unlike Kong's serializer),
// through the real proxy and SDK against the local Lambda Invoke API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import { javaDate } from '../../data-plane/plugins/aws-lambda/apigw-event.js';
import { setLambdaLog } from '../../data-plane/plugins/aws-lambda/log.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { keyPair, sign } from '../helpers/jwt-keys.js';
import { startProxy } from '../proxy/fixtures.js';
import { prepareInsert } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets } from '../../shared/schema/entities/index.js';
import { request as undiciRequest } from 'undici';
import { pluginRow, request, route, snapshot } from './helpers.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE'];
const savedEnv: Record<string, string | undefined> = {};
const ISS = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123';

describe('aws-lambda: API Gateway REST API (payload 1.0)', () => {
  let lambda: LambdaServer;
  let proxy: Proxy;
  let url: string;
  let pair: Awaited<ReturnType<typeof keyPair>>;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    for (const k of ENV_KEYS) {
      savedEnv[k] = process.env[k];
      delete process.env[k];
    }
    process.env.AWS_ACCESS_KEY_ID = 'AKIDENVIRONMENT';
    process.env.AWS_SECRET_ACCESS_KEY = 'environment-secret';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    setLambdaLog({ error: (obj) => void logs.push(obj) });
    lambda = await startLambdaServer({
      functions: {
        // what serverless-express answers: multiValueHeaders only
        express: () => ({ statusCode: 200, multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'], 'x-powered-by': ['Express'] }, body: 'ok', isBase64Encoded: false }),
        merged: () => ({ statusCode: 203, headers: { 'X-A': 'single', 'X-B': 'only' }, multiValueHeaders: { 'X-A': ['m1', 'm2'] }, body: 'merged' }),
        png: () => ({ statusCode: 200, headers: { 'Content-Type': 'image/png' }, body: Buffer.from([137, 80, 78, 71]).toString('base64'), isBase64Encoded: true }),
        plainObject: () => ({ hello: 'world' }),
        thrower: () => {
          throw new Error('boom');
        },
        binEcho: (ev) => ({ statusCode: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: ev.body ?? '', isBase64Encoded: ev.isBase64Encoded }),
        huge: () => ({ statusCode: 200, body: 'x'.repeat(6_300_000) }),
      },
    });

    pair = await keyPair('RS256', 'cognito');
    const consumer = prepareInsert(consumers, { username: 'jane' });
    const credential = prepareInsert(jwt_secrets, { consumer: { id: consumer.id }, algorithm: 'RS256', rsa_public_key: `${pair.publicPem}\n`, key: ISS });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const base = { aws_region: 'us-east-1', host: '127.0.0.1', port: lambda.port, disable_https: true, awsgateway_compatible_payload_version: '1.0' };
    const add = (fields: Row, config: Row, extra: Row[] = []) => {
      const r = route(fields);
      routes.push(r);
      plugins.push(pluginRow('aws-lambda', { ...base, ...config }, { route: r }));
      for (const p of extra) plugins.push({ ...p, route: { id: r.id } });
    };
    add({ paths: ['~/orders/(?<id>\\d+)$'], strip_path: false }, { function_name: 'functionEcho' });
    add({ paths: ['/echo'] }, { function_name: 'functionEcho' });
    add({ paths: ['/secure'] }, { function_name: 'functionProxyEcho' }, [pluginRow('jwt', {})]);
    for (const name of ['express', 'merged', 'png', 'plainObject', 'thrower', 'throttledFunction', 'missingFunction', 'functionProxyEcho', 'binEcho', 'huge']) {
      add({ paths: [`/fn/${name}`] }, { function_name: name });
    }
    add({ paths: ['/fn/slow'] }, { function_name: 'functionSlow', timeout: 300 });
    ({ proxy, url } = await startProxy(snapshot({ routes, plugins, consumers: [consumer], jwt_secrets: [credential] }), { registry: handlers }));
  });

  afterAll(async () => {
    setLambdaLog(null);
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
    it('has the REST fields: last value wins in single-value maps, every value in multiValue maps, no version', async () => {
      await call('/orders/42?x=1&x=2&e=', { headers: { Host: 'abc123defg.execute-api.eu-west-1.amazonaws.com', Accept: '*/*', 'User-Agent': 'curl/8.5.0', 'X-Multi': ['a', 'b'] } });
      const ev = lambda.last().event;
      expect(ev).not.toHaveProperty('version');
      expect(ev).toMatchObject({
        resource: '/orders/{id}',
        path: '/orders/42',
        httpMethod: 'GET',
        queryStringParameters: { x: '2', e: '' },
        multiValueQueryStringParameters: { x: ['1', '2'], e: [''] },
        pathParameters: { id: '42' },
        stageVariables: null,
        body: null,
        isBase64Encoded: false,
      });
      expect(ev.headers).toMatchObject({ Host: 'abc123defg.execute-api.eu-west-1.amazonaws.com', Accept: '*/*', 'User-Agent': 'curl/8.5.0', 'X-Multi': 'b' });
      expect(ev.multiValueHeaders).toMatchObject({ Accept: ['*/*'], 'X-Multi': ['a', 'b'] });
      const rc = ev.requestContext;
      expect(rc).toMatchObject({
        resourcePath: '/orders/{id}',
        httpMethod: 'GET',
        path: '/orders/42',
        protocol: 'HTTP/1.1',
        domainName: 'abc123defg.execute-api.eu-west-1.amazonaws.com',
        domainPrefix: 'abc123defg',
        requestId: rc.extendedRequestId,
      });
      expect(rc.identity).toEqual({
        cognitoIdentityPoolId: null, accountId: null, cognitoIdentityId: null, caller: null, apiKey: null, apiKeyId: null, accessKey: null,
        cognitoAuthenticationType: null, cognitoAuthenticationProvider: null, userArn: null, user: null, principalOrgId: null, clientCert: null,
        sourceIp: '127.0.0.1', userAgent: 'curl/8.5.0',
      });
      expect(rc).not.toHaveProperty('authorizer');
      expect(rc.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(typeof rc.requestTimeEpoch).toBe('number');
    });

    it('takes __proto__ and constructor as plain header and query names', async () => {
      const res = await call('/fn/functionProxyEcho?constructor=1&__proto__=2&constructor=3', { headers: { ['__proto__']: 'h' } as any });
      expect(res.status).toBe(201);
      const ev = JSON.parse(res.body);
      expect(Object.getOwnPropertyDescriptor(ev.queryStringParameters, 'constructor')?.value).toBe('3');
      expect(Object.getOwnPropertyDescriptor(ev.multiValueQueryStringParameters, 'constructor')?.value).toEqual(['1', '3']);
      expect(Object.getOwnPropertyDescriptor(ev.multiValueQueryStringParameters, '__proto__')?.value).toEqual(['2']);
      expect(Object.getOwnPropertyDescriptor(ev.multiValueHeaders, '__proto__')?.value).toEqual(['h']);
    });

    it('null maps without a query or path parameters; text bodies as text, binary as base64', async () => {
      await call('/echo/x', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
      let ev = lambda.last().event;
      expect(ev).toMatchObject({ resource: '/echo', path: '/x', queryStringParameters: null, multiValueQueryStringParameters: null, pathParameters: null, body: 'a=1&b=2', isBase64Encoded: false });
      const bin = Buffer.from([0, 255, 1]);
      await call('/echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bin });
      ev = lambda.last().event;
      expect(ev).toMatchObject({ body: bin.toString('base64'), isBase64Encoded: true });
    });

    it("gives the jwt plugin's claims as authorizer.claims: strings, exp/iat as Java dates", async () => {
      const iat = 1767953472;
      const token = await sign({ sub: 'u-1', iss: ISS, aud: 'client', token_use: 'id', email_verified: true, auth_time: iat, iat, exp: iat + 3600 }, pair, { kid: 'k' });
      expect((await call('/secure', { headers: { authorization: `Bearer ${token}` } })).status).toBe(201);
      expect(lambda.last().event.requestContext.authorizer).toEqual({
        claims: { sub: 'u-1', iss: ISS, aud: 'client', token_use: 'id', email_verified: 'true', auth_time: String(iat), iat: 'Fri Jan 09 10:11:12 UTC 2026', exp: 'Fri Jan 09 11:11:12 UTC 2026' },
      });
      expect(javaDate(1680633579)).toBe('Tue Apr 04 18:39:39 UTC 2023');
    });
  });

  describe('the response', () => {
    it('honours multiValueHeaders without headers (serverless-express), adds Content-Type and x-amzn-RequestId', async () => {
      const res = await call('/fn/express');
      expect(res.status).toBe(200);
      expect(res.body).toBe('ok');
      expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(res.headers['x-powered-by']).toBe('Express');
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f]+$/);
    });

    it('merges headers and multiValueHeaders, multiValueHeaders winning', async () => {
      const res = await call('/fn/merged');
      expect(res.status).toBe(203);
      expect(res.headers['x-a']).toBe('m1, m2');
      expect(res.headers['x-b']).toBe('only');
    });

    it('carries a 3 MB binary body both ways', async () => {
      const bin = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) & 0xff;
      const res = await undiciRequest(`${url}/fn/binEcho`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bin });
      expect(res.statusCode).toBe(200);
      expect(Buffer.from(await res.body.arrayBuffer()).equals(bin)).toBe(true);
    });

    it('decodes a base64 body', async () => {
      const res = await call('/fn/png');
      expect(res.headers['content-type']).toBe('image/png');
      expect(Buffer.from(res.body, 'latin1').length).toBe(4);
      expect(res.headers['content-length']).toBe('4');
    });

    it('passes the event through a function that echoes it (functionProxyEcho)', async () => {
      const res = await call('/fn/functionProxyEcho?q=1');
      expect(res.status).toBe(201);
      expect(res.json()).toMatchObject({ resource: '/fn/functionProxyEcho', queryStringParameters: { q: '1' } });
    });
  });

  describe('errors as REST APIs answer them', () => {
    const expectError = async (path: string, status: number, body: string, cause: RegExp) => {
      logs.length = 0;
      const res = await call(path);
      expect(res.status).toBe(status);
      expect(res.body).toBe(body);
      expect(res.headers['content-type']).toBe('application/json');
      expect(logs).toHaveLength(1);
      expect(String(logs[0].cause)).toMatch(cause);
    };

    it('function error and a result without statusCode: 502 Internal server error', async () => {
      await expectError('/fn/thrower', 502, '{"message": "Internal server error"}', /function error \(Unhandled\): Error: boom/);
      await expectError('/fn/plainObject', 502, '{"message": "Internal server error"}', /no statusCode/);
    });

    it('a refused Invoke (throttled or not found) is 500: REST does not pass throttling on', async () => {
      await expectError('/fn/throttledFunction', 500, '{"message": "Internal server error"}', /^TooManyRequestsException/);
      await expectError('/fn/missingFunction', 500, '{"message": "Internal server error"}', /^ResourceNotFoundException/);
    });

    it('a response over 6 MB is 502, an event over 6 MB is 413 without invoking', async () => {
      await expectError('/fn/huge', 502, '{"message": "Internal server error"}', /Function.ResponseSizeTooLarge/);
      const before = lambda.invocations.length;
      logs.length = 0;
      const res = await call('/fn/binEcho', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(5 * 1024 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body).toBe('{"message": "Request Entity Too Large"}');
      expect(String(logs[0]?.cause)).toMatch(/payload limit/);
      expect(lambda.invocations.length).toBe(before);
    });

    it('a timeout is 504 Endpoint request timed out', async () => {
      await expectError('/fn/slow', 504, '{"message": "Endpoint request timed out"}', /^TimeoutError/);
    });
  });
});
