// The seed walkthrough's proxy results (shared/reference/seed-walkthrough.md §2–§4), end to end:
// rows exactly as the Admin API stores them, the real proxy, the real AWS SDK reaching a local
// Lambda Invoke API through AWS_ENDPOINT_URL_LAMBDA with credentials from the default chain, and a
// Cognito-like RS256 issuer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInsert, prepareUpdate, present } from '../../shared/schema/entity.js';
import { consumers, jwt_secrets, plugins, routes, services } from '../../shared/schema/entities/index.js';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { keyPair, nowSec, sign } from '../helpers/jwt-keys.js';
import { startProxy } from '../proxy/fixtures.js';
import { request, snapshot } from './helpers.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE'];
const savedEnv: Record<string, string | undefined> = {};
const ISS = 'https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbCdEfGhI';

const row = (schema: typeof services, input: Row) => present(schema, prepareInsert(schema, input));

describe('seed walkthrough: Lambda behind the gateway, then Cognito ID tokens', () => {
  let lambda: LambdaServer;
  let proxy: Proxy;
  let url: string;
  const svc = row(services, { name: 'lambda1', url: 'http://localhost:8000' });
  const rt = row(routes, { paths: ['/lambda1'], service: { id: svc.id } });
  const lambdaPlugin = row(plugins, { name: 'aws-lambda', service: { id: svc.id }, config: { aws_region: 'ap-northeast-1', function_name: 'seedEcho' } });

  beforeAll(async () => {
    for (const k of ENV_KEYS) {
      savedEnv[k] = process.env[k];
      delete process.env[k];
    }
    lambda = await startLambdaServer();
    // the machine's credentials and endpoint come from the environment, none in the plugin config
    process.env.AWS_ACCESS_KEY_ID = 'AKIDINSTANCEROLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'instance-role-secret';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
    ({ proxy, url } = await startProxy(snapshot({ services: [svc], routes: [rt], plugins: [lambdaPlugin] }), { registry: handlers }));
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

  it('§2: the plugin config carries Kong defaults', () => {
    expect(lambdaPlugin.config).toMatchObject({
      aws_region: 'ap-northeast-1', function_name: 'seedEcho', timeout: 60000, keepalive: 60000, port: 443,
      invocation_type: 'RequestResponse', log_type: 'Tail', is_proxy_integration: false, awsgateway_compatible: false,
    });
  });

  it('§2: curl /lambda1/ → {"statusCode": 200, "body": "{}"}', async () => {
    const res = await request(`${url}/lambda1/`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"statusCode": 200, "body": "{}"}');
    expect(lambda.last()).toMatchObject({ functionName: 'seedEcho', region: 'ap-northeast-1', accessKeyId: 'AKIDINSTANCEROLE', raw: '{}' });
  });

  it("§2: curl '/lambda1/?foo=bar' → the event is the query arguments", async () => {
    const res = await request(`${url}/lambda1/?foo=bar`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"statusCode": 200, "body": "{\\"foo\\": \\"bar\\"}"}');
  });

  describe('§3–§4 with jwt on the service and the route, an RS256 credential keyed by the issuer', () => {
    let pair: Awaited<ReturnType<typeof keyPair>>;
    const consumer = row(consumers, { custom_id: '1' });
    const serviceJwt = row(plugins, { name: 'jwt', service: { id: svc.id } });
    let routeJwt = row(plugins, { name: 'jwt', route: { id: rt.id } });
    let credential: Row;

    const apply = () =>
      proxy.applySnapshot(
        snapshot({ services: [svc], routes: [rt], plugins: [lambdaPlugin, serviceJwt, routeJwt], consumers: [consumer], jwt_secrets: [credential] }),
      );

    beforeAll(async () => {
      pair = await keyPair('RS256', 'cognito');
      credential = row(jwt_secrets, { consumer: { id: consumer.id }, algorithm: 'RS256', rsa_public_key: `${pair.publicPem}\n`, key: ISS });
      apply();
    });

    const idToken = (claims: Row = {}) =>
      sign({ sub: 'a-user', iss: ISS, token_use: 'id', aud: 'client-id', auth_time: nowSec(), iat: nowSec(), exp: nowSec() + 3600, ...claims }, pair, { kid: 'cognito-kid', typ: undefined });

    it('§3: the jwt config echoes Kong defaults and the credential has a generated secret', () => {
      expect(serviceJwt.config).toMatchObject({
        secret_is_base64: false, run_on_preflight: true, uri_param_names: ['jwt'], key_claim_name: 'iss', header_names: ['authorization'],
        maximum_expiration: 0, anonymous: null, claims_to_verify: null, cookie_names: [], realm: null,
      });
      expect(credential).toMatchObject({ key: ISS, algorithm: 'RS256', consumer: { id: consumer.id } });
      expect(typeof credential.secret).toBe('string');
    });

    it('§4: no token → 401 {"message":"Unauthorized"}', async () => {
      const before = lambda.invocations.length;
      const res = await request(`${url}/lambda1`);
      expect(res.status).toBe(401);
      expect(res.body).toBe('{"message":"Unauthorized"}');
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(lambda.invocations.length).toBe(before);
    });

    it('§4: a valid ID token → 200 {"statusCode": 200, "body": "{}"}', async () => {
      const res = await request(`${url}/lambda1`, { headers: { Authorization: `Bearer ${await idToken()}` } });
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"statusCode": 200, "body": "{}"}');
    });

    it('§4: Bearer hogehoge → 401 {"message":"Bad token; invalid JSON"}', async () => {
      const res = await request(`${url}/lambda1`, { headers: { Authorization: 'Bearer hogehoge' } });
      expect(res.status).toBe(401);
      expect(res.body).toBe('{"message":"Bad token; invalid JSON"}');
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('§3: after PATCH config.claims_to_verify=exp an expired token → 401 {"exp":"token expired"}', async () => {
      const expired = await idToken({ iat: nowSec() - 7200, exp: nowSec() - 3600 });
      // before: Kong verifies no registered claim by default
      expect((await request(`${url}/lambda1`, { headers: { Authorization: `Bearer ${expired}` } })).status).toBe(200);

      routeJwt = present(plugins, prepareUpdate(plugins, routeJwt, { config: { claims_to_verify: ['exp'] } }));
      apply();
      const res = await request(`${url}/lambda1`, { headers: { Authorization: `Bearer ${expired}` } });
      expect(res.status).toBe(401);
      expect(res.body).toBe('{"exp":"token expired"}');
      expect((await request(`${url}/lambda1`, { headers: { Authorization: `Bearer ${await idToken()}` } })).status).toBe(200);
    });
  });
});
