// aws-lambda: Kong 3.x behaviour through the real proxy and the real AWS SDK, against a local Lambda
// Invoke API (test/helpers/lambda-server.ts): payload shapes, status and header pass-through,
// function errors, API errors and timeouts, proxy integration, serviceless routes, client reuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { VIA_VALUE } from '../../data-plane/proxy/version.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, rejection, request, route, service, snapshot } from './helpers.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE'];
const savedEnv: Record<string, string | undefined> = {};

describe('aws-lambda schema', () => {
  it('fills Kong defaults', () => {
    expect(pluginRow('aws-lambda', { aws_region: 'ap-northeast-1', function_name: 'f' }).config).toMatchObject({
      timeout: 60000, keepalive: 60000, port: 443, invocation_type: 'RequestResponse', log_type: 'Tail',
      forward_request_method: false, forward_request_uri: false, forward_request_headers: false, forward_request_body: false,
      is_proxy_integration: false, awsgateway_compatible: false, skip_large_bodies: true, base64_encode_body: true,
      aws_key: null, aws_secret: null, unhandled_status: null, host: null, disable_https: false,
    });
  });
  it('requires aws_key and aws_secret together', () => {
    expect(rejection('aws-lambda', { function_name: 'f', aws_key: 'AKIA' }).message).toContain("all or none of these fields must be set: 'config.aws_key', 'config.aws_secret'");
  });
});

describe('aws-lambda behaviour', () => {
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
    lambda = await startLambdaServer({
      functions: {
        emptyArrays: () => ({ items: [], nested: { a: [ ] }, s: '[]', esc: 'q\\"[]', full: [1, []] }),
        proxyEmptyArray: () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"list": []}' }),
      },
    });

    const svc = service({ name: 'unused', port: 9 });
    const routes: Row[] = [];
    const plugins: Row[] = [];
    const base = { aws_region: 'us-east-1', host: '127.0.0.1', port: lambda.port, disable_https: true };
    const add = (path: string, config: Row, routeFields: Row = {}) => {
      const r = route({ paths: [path], ...routeFields });
      routes.push(r);
      plugins.push(pluginRow('aws-lambda', { ...base, ...config }, { route: r }));
    };
    add('/echo', { function_name: 'functionEcho' });
    add('/with-service', { function_name: 'functionEcho' }, { service: { id: svc.id } });
    add('/forward', { function_name: 'functionEcho', forward_request_method: true, forward_request_uri: true, forward_request_headers: true, forward_request_body: true });
    add('/forward-method', { function_name: 'functionEcho', forward_request_method: true });
    add('/forward-raw', { function_name: 'functionEcho', forward_request_body: true, base64_encode_body: false });
    add('~/apigw/(?<kind>[a-z]+)/(?<id>\\d+)$', { function_name: 'functionEcho', awsgateway_compatible: true }, { strip_path: false });
    add('/apigw-plain', { function_name: 'functionEcho', awsgateway_compatible: true, base64_encode_body: false });
    add('/event', { function_name: 'functionEcho', invocation_type: 'Event' });
    add('/dryrun', { function_name: 'functionEcho', invocation_type: 'DryRun' });
    add('/nolog', { function_name: 'functionEcho', log_type: 'None' });
    add('/qualifier', { function_name: 'functionEcho', qualifier: '7' });
    add('/keys', { function_name: 'functionEcho', aws_key: 'AKIDCONFIG', aws_secret: 'config-secret', aws_region: 'eu-west-3' });
    add('/unhandled', { function_name: 'functionWithUnhandledError' });
    add('/unhandled-412', { function_name: 'functionWithUnhandledError', unhandled_status: 412 });
    add('/missing', { function_name: 'missingFunction' });
    add('/slow', { function_name: 'functionSlow', timeout: 300 });
    add('/noregion', { function_name: 'functionEcho', aws_region: null });
    add('/proxy-base64', { function_name: 'functionWithBase64EncodedResponse', is_proxy_integration: true });
    add('/proxy-notbase64', { function_name: 'functionWithNotBase64EncodedResponse', is_proxy_integration: true });
    add('/proxy-illegal', { function_name: 'functionWithIllegalBase64EncodedResponse', is_proxy_integration: true });
    add('/proxy-multi', { function_name: 'functionWithMultiValueHeadersResponse', is_proxy_integration: true });
    add('/proxy-badjson', { function_name: 'functionWithBadJSON', is_proxy_integration: true });
    add('/proxy-empty', { function_name: 'functionWithNoResponse', is_proxy_integration: true });
    add('/proxy-unhandled', { function_name: 'functionWithUnhandledError', is_proxy_integration: true, unhandled_status: 412 });
    add('/proxy-echo', { function_name: 'functionProxyEcho', is_proxy_integration: true, awsgateway_compatible: true });
    add('/badjson', { function_name: 'functionWithBadJSON' });
    add('/empty-legacy', { function_name: 'emptyArrays' });
    // a row stored before awsgateway_compatible_payload_version existed: Kong's behaviour
    add('/old-row', { function_name: 'functionEcho' });
    delete (plugins[plugins.length - 1].config as Row).awsgateway_compatible_payload_version;
    add('/empty-correct', { function_name: 'emptyArrays', empty_arrays_mode: 'correct' });
    add('/empty-proxy', { function_name: 'proxyEmptyArray', is_proxy_integration: true });

    ({ proxy, url } = await startProxy(snapshot({ services: [svc], routes, plugins }), { registry: handlers }));
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

  describe('invoking', () => {
    it('signs with SigV4 from the default credential chain and answers on a serviceless route', async () => {
      const res = await call('/echo');
      expect(res.status).toBe(200);
      expect(res.body).toBe('{}');
      const inv = lambda.last();
      expect(inv).toMatchObject({ functionName: 'functionEcho', accessKeyId: 'AKIDENVIRONMENT', region: 'us-east-1', invocationType: 'RequestResponse', logType: 'Tail', qualifier: null });
    });

    it("passes Lambda's headers through, adds Via, and drops Lambda's framing", async () => {
      const res = await call('/echo');
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['x-amz-executed-version']).toBe('$LATEST');
      expect(Buffer.from(String(res.headers['x-amz-log-result']), 'base64').toString()).toContain('START RequestId:');
      expect(res.headers.via).toBe(VIA_VALUE);
      expect(res.headers['content-length']).toBe('2');
      expect(res.headers['x-amz-function-error']).toBeUndefined();
      expect((await call('/nolog')).headers['x-amz-log-result']).toBeUndefined();
      expect(lambda.last().logType).toBe('None');
    });

    it('runs a row without awsgateway_compatible_payload_version (stored before it existed) as Kong', async () => {
      const res = await call('/old-row?a=1');
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ a: '1' });
    });

    it('uses the plugin keys and region when configured', async () => {
      expect((await call('/keys')).status).toBe(200);
      expect(lambda.last()).toMatchObject({ accessKeyId: 'AKIDCONFIG', region: 'eu-west-3' });
    });

    it('sends the qualifier', async () => {
      const res = await call('/qualifier');
      expect(lambda.last().qualifier).toBe('7');
      expect(res.headers['x-amz-executed-version']).toBe('7');
    });

    it('answers instead of the service when the route has one (the service is never contacted)', async () => {
      const res = await call('/with-service/anything');
      expect(res.status).toBe(200);
      expect(res.body).toBe('{}');
    });

    it('reuses one keep-alive connection to Lambda', async () => {
      const before = lambda.connections;
      for (let i = 0; i < 5; i++) expect((await call('/echo')).status).toBe(200);
      expect(lambda.connections - before).toBeLessThanOrEqual(1);
    });

    it('answers 202 for Event and 204 for DryRun invocations', async () => {
      const ev = await call('/event?x=1');
      expect(ev.status).toBe(202);
      expect(ev.body).toBe('');
      expect(lambda.last()).toMatchObject({ invocationType: 'Event', event: { x: '1' } });
      const dry = await call('/dryrun');
      expect(dry.status).toBe(204);
      expect(lambda.last().invocationType).toBe('DryRun');
    });
  });

  describe('legacy payload', () => {
    it('is the query arguments (valueless → true, repeated → array)', async () => {
      await call('/echo?foo=bar&flag&n=1&n=2&sp=a+b%21');
      expect(lambda.last().event).toEqual({ foo: 'bar', flag: true, n: ['1', '2'], sp: 'a b!' });
    });

    it('merges form, JSON and multipart body arguments over the query', async () => {
      await call('/echo?a=0&q=1', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
      expect(lambda.last().event).toEqual({ a: '1', b: '2', q: '1' });
      await call('/echo?a=0', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":{"nested":[1,2]},"c":null}' });
      expect(lambda.last().event).toEqual({ a: { nested: [1, 2] }, c: null });
      const boundary = 'XyZ';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n--${boundary}--\r\n`;
      await call('/echo', { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
      expect(lambda.last().event).toEqual({ field: 'value' });
    });

    it('ignores bodies it cannot parse', async () => {
      await call('/echo?a=1', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      expect(lambda.last().event).toEqual({ a: '1' });
      await call('/echo?a=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' });
      expect(lambda.last().event).toEqual({ a: '1' });
    });
  });

  describe('forward_request_* payload', () => {
    it('carries method, uri, uri args, headers, raw body and body args', async () => {
      await call('/forward/x?k=v&k=w', { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-multi': 'a', 'x-other': 'b' }, body: '{"j":1}' });
      const ev = lambda.last().event;
      expect(ev.request_method).toBe('PATCH');
      expect(ev.request_uri).toBe('/forward/x?k=v&k=w');
      expect(ev.request_uri_args).toEqual({ k: ['v', 'w'] });
      expect(ev.request_headers).toMatchObject({ 'content-type': 'application/json', 'x-multi': 'a', 'x-other': 'b' });
      expect(ev.request_body).toBe('{"j":1}');
      expect(ev.request_body_args).toEqual({ j: 1 });
      expect(ev.request_body_base64).toBeUndefined();
    });

    it('takes __proto__ and constructor as plain header names', async () => {
      expect((await call('/forward', { headers: { ['__proto__']: 'p', constructor: ['c1', 'c2'] } as any })).status).toBe(200);
      const hs = JSON.parse(lambda.last().raw).request_headers;
      expect(Object.getOwnPropertyDescriptor(hs, '__proto__')?.value).toBe('p');
      expect(Object.getOwnPropertyDescriptor(hs, 'constructor')?.value).toEqual(['c1', 'c2']);
    });

    it('lists repeated request headers as arrays', async () => {
      // node:http sends an array value as one header line per element
      await call('/forward', { headers: { 'x-multi': ['a', 'b'] } });
      expect(lambda.last().event.request_headers['x-multi']).toEqual(['a', 'b']);
    });

    it('base64-encodes bodies of unknown types, keeps text/plain as text', async () => {
      await call('/forward', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 1, 2, 255]) });
      let ev = lambda.last().event;
      expect(ev).toMatchObject({ request_body: 'AAEC/w==', request_body_base64: true, request_body_args: {} });
      await call('/forward', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'plain text' });
      ev = lambda.last().event;
      expect(ev).toMatchObject({ request_body: 'plain text', request_body_args: {} });
      expect(ev.request_body_base64).toBeUndefined();
      await call('/forward-raw', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'raw' });
      expect(lambda.last().event).toEqual({ request_body: 'raw', request_body_args: {} });
    });

    it('sends only the fields asked for', async () => {
      await call('/forward-method/x?y=1', { method: 'DELETE' });
      expect(lambda.last().event).toEqual({ request_method: 'DELETE' });
    });
  });

  describe('awsgateway_compatible payload (API Gateway REST 1.0)', () => {
    it('builds the proxy event with path parameters, multi-value headers and query, base64 body, request context', async () => {
      const started = Date.now();
      await call('/apigw/users/42?tag=a&tag=b&one=1', {
        method: 'POST',
        headers: { host: 'api.example.com:8000', 'user-agent': 'curl/8.0', 'content-type': 'application/json' },
        body: '{"x":1}',
      });
      const ev = lambda.last().event;
      expect(ev).toMatchObject({
        version: '1.0',
        resource: '/apigw/(?<kind>[a-z]+)/(?<id>\\d+)$',
        path: '/apigw/users/42',
        httpMethod: 'POST',
        pathParameters: { kind: 'users', id: '42' },
        queryStringParameters: { tag: 'a', one: '1' },
        multiValueQueryStringParameters: { tag: ['a', 'b'], one: ['1'] },
        body: Buffer.from('{"x":1}').toString('base64'),
        isBase64Encoded: true,
      });
      expect(ev.headers).toMatchObject({ host: 'api.example.com:8000', 'user-agent': 'curl/8.0', 'content-type': 'application/json' });
      expect(ev.multiValueHeaders['user-agent']).toEqual(['curl/8.0']);
      expect(ev.requestContext).toMatchObject({
        path: '/apigw/users/42',
        resourcePath: '/apigw/users/42',
        protocol: 'HTTP/1.1',
        httpMethod: 'POST',
        domainName: 'api.example.com',
        domainPrefix: 'api',
        identity: { sourceIp: '127.0.0.1', userAgent: 'curl/8.0' },
      });
      expect(ev.requestContext.requestId).toMatch(/^[0-9a-f]+$/);
      expect(ev.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(started - 5);
      expect(ev.requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    });

    it('uses the stripped upstream path, and a plain body without base64_encode_body', async () => {
      await call('/apigw-plain/sub?x', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hi' });
      const ev = lambda.last().event;
      expect(ev).toMatchObject({ resource: '/apigw-plain', path: '/sub', body: 'hi', isBase64Encoded: false, queryStringParameters: { x: true }, pathParameters: {} });
    });

    it('sends an empty body marked base64 for a request without one, as Kong', async () => {
      await call('/apigw/items/1');
      expect(lambda.last().event).toMatchObject({ body: '', isBase64Encoded: true, httpMethod: 'GET' });
    });
  });

  describe('function errors, API errors and timeouts', () => {
    it('answers 200 with the error payload and X-Amz-Function-Error for an unhandled function error', async () => {
      const res = await call('/unhandled');
      expect(res.status).toBe(200);
      expect(res.headers['x-amz-function-error']).toBe('Unhandled');
      expect(res.json()).toMatchObject({ errorMessage: 'boom', errorType: 'Error' });
    });

    it('answers unhandled_status when set', async () => {
      const res = await call('/unhandled-412');
      expect(res.status).toBe(412);
      expect(res.headers['x-amz-function-error']).toBe('Unhandled');
    });

    it('answers 500 for an Invoke API error', async () => {
      const res = await call('/missing');
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ message: 'An unexpected error occurred' });
      expect(lambda.last().functionName).toBe('missingFunction');
    });

    it('answers 500 when the function outlives the timeout', async () => {
      const t0 = Date.now();
      const res = await call('/slow');
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ message: 'An unexpected error occurred' });
      expect(Date.now() - t0).toBeLessThan(1400);
      // the proxy still answers normally afterwards
      expect((await call('/echo')).status).toBe(200);
    });

    it('answers 500 without a region in the config or the environment', async () => {
      const before = lambda.invocations.length;
      const res = await call('/noregion');
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ message: 'An unexpected error occurred' });
      expect(lambda.invocations.length).toBe(before);
    });

    it("answers 500 when Lambda refuses an event over its 6 MB limit, as Kong", async () => {
      const res = await call('/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ big: 'x'.repeat(6_500_000) }) });
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ message: 'An unexpected error occurred' });
    });

    it('passes a non-JSON function result through without proxy integration', async () => {
      const res = await call('/badjson');
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"foo":"bar"');
    });
  });

  describe('empty_arrays_mode', () => {
    const sent = JSON.stringify({ items: [], nested: { a: [] }, s: '[]', esc: 'q\\"[]', full: [1, []] });

    it('legacy (default) answers empty arrays of a JSON result as {}, strings untouched', async () => {
      expect(pluginRow('aws-lambda', { function_name: 'f' }).config.empty_arrays_mode).toBe('legacy');
      const res = await call('/empty-legacy');
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"items":{},"nested":{"a":{}},"s":"[]","esc":"q\\\\\\"[]","full":[1,{}]}');
      expect(res.json().esc).toBe('q\\"[]');
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
    });

    it('correct keeps [] as the function returned it', async () => {
      const res = await call('/empty-correct');
      expect(res.body).toBe(sent);
      expect(res.json().items).toEqual([]);
    });

    it('leaves a proxy-integration body (a string to Kong) alone', async () => {
      expect((await call('/empty-proxy')).body).toBe('{"list": []}');
    });
  });

  describe('is_proxy_integration', () => {
    it('decodes a base64 body; keeps a body not marked base64', async () => {
      const res = await call('/proxy-base64');
      expect(res.status).toBe(200);
      expect(res.body).toBe('test');
      expect(res.headers['content-length']).toBe('4');
      expect((await call('/proxy-notbase64')).body).toBe('dGVzdA=');
    });

    it('maps statusCode, headers and multiValueHeaders over Lambda headers, dropping hop-by-hop ones', async () => {
      const multi = await call('/proxy-multi');
      expect(multi.status).toBe(200);
      expect(multi.headers.age).toBe('3600');
      expect(multi.headers['access-control-allow-origin']).toBe('site1.com, site2.com');
      expect(multi.body).toBe('');
      const res = await call('/proxy-echo/p?q=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"in":true}' });
      expect(res.status).toBe(201);
      expect(res.headers['x-function']).toBe('proxy-echo');
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expect(res.headers['x-amzn-requestid']).toBeDefined();
      expect(res.json()).toMatchObject({ httpMethod: 'POST', path: '/p', queryStringParameters: { q: '1' }, body: Buffer.from('{"in":true}').toString('base64') });
    });

    it('answers 502 Bad Gateway when the result is not a proxy response', async () => {
      const cases: [string, string][] = [
        ['/proxy-empty', 'Expected value but found T_END at character 1'],
        ['/proxy-illegal', 'isBase64Encoded must be a boolean'],
        ['/proxy-unhandled', 'statusCode validation failed'],
      ];
      for (const [path, error] of cases) {
        const res = await call(path);
        expect(res.status).toBe(502);
        expect(res.json()).toEqual({ message: 'Bad Gateway', error: `could not JSON decode Lambda function response: ${error}` });
      }
      const bad = await call('/proxy-badjson');
      expect(bad.status).toBe(502);
      expect(bad.json().error).toMatch(/^could not JSON decode Lambda function response: ./);
    });
  });
});
