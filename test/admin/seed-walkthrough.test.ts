// The seed walkthrough's Admin API calls (reference/seed-walkthrough.md), sent the way curl sends
// them (--data → form-urlencoded bodies joined with '&' and not escaped, -F → multipart with a file
// part), answering as shown there.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FilePart, UUID_RE, useAdmin } from './admin-helpers.js';

const t = useAdmin('seed');
const FORM = 'application/x-www-form-urlencoded';

describe('seed walkthrough', () => {
  const ids: Record<string, string> = {};

  it('GET / lists the installed plugins', async () => {
    const r = await t.call('GET', '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers.server).toMatch(/^silverback\/\d+\.\d+\.\d+/);
    expect(r.body.plugins.available_on_server.jwt).toEqual({ version: expect.any(String), priority: 1450 });
    expect(r.body.plugins.available_on_server['aws-lambda']).toEqual({ version: expect.any(String), priority: 750 });
    expect(r.body.plugins.enabled_in_cluster).toEqual([]);
  });

  it('POST /services name=lambda1 url=http://localhost:8000', async () => {
    const r = await t.call('POST', '/services', { raw: 'name=lambda1&url=http://localhost:8000', contentType: FORM });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(UUID_RE),
      name: 'lambda1',
      host: 'localhost',
      port: 8000,
      protocol: 'http',
      path: null,
      retries: 5,
      connect_timeout: 60000,
      read_timeout: 60000,
      write_timeout: 60000,
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
      tags: null,
      client_certificate: null,
      tls_verify: null,
      tls_verify_depth: null,
      ca_certificates: null,
      enabled: true,
    });
    expect(Number.isInteger(r.body.created_at)).toBe(true);
    expect(Math.abs(r.body.created_at - Date.now() / 1000)).toBeLessThan(60);
    ids.service = r.body.id;
  });

  it('POST /services/lambda1/routes paths[1]=/lambda1', async () => {
    const r = await t.call('POST', '/services/lambda1/routes', { raw: 'paths[1]=/lambda1', contentType: FORM });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      paths: ['/lambda1'],
      protocols: ['http', 'https'],
      strip_path: true,
      preserve_host: false,
      regex_priority: 0,
      https_redirect_status_code: 426,
      path_handling: 'v0',
      service: { id: ids.service },
      methods: null,
      hosts: null,
      headers: null,
      snis: null,
      sources: null,
      destinations: null,
      name: null,
      tags: null,
    });
    ids.route = r.body.id;
  });

  it('POST /services/lambda1/plugins name=aws-lambda with config.*', async () => {
    const r = await t.call('POST', '/services/lambda1/plugins', {
      raw: 'name=aws-lambda&config.aws_region=ap-northeast-1&config.function_name=my-function',
      contentType: FORM,
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'aws-lambda', service: { id: ids.service }, route: null, consumer: null, enabled: true });
    expect(r.body.config).toEqual({
      timeout: 60000,
      keepalive: 60000,
      aws_key: null,
      aws_secret: null,
      aws_assume_role_arn: null,
      aws_role_session_name: 'kong',
      aws_sts_endpoint_url: null,
      aws_region: 'ap-northeast-1',
      function_name: 'my-function',
      qualifier: null,
      invocation_type: 'RequestResponse',
      log_type: 'Tail',
      host: null,
      port: 443,
      disable_https: false,
      unhandled_status: null,
      forward_request_method: false,
      forward_request_uri: false,
      forward_request_headers: false,
      forward_request_body: false,
      is_proxy_integration: false,
      awsgateway_compatible: false,
      proxy_url: null,
      skip_large_bodies: true,
      base64_encode_body: true,
      aws_imds_protocol_version: 'v1',
      empty_arrays_mode: 'legacy',
      awsgateway_compatible_payload_version: null,
    });
  });

  it('POST /services/lambda1/plugins name=jwt echoes the default config', async () => {
    const r = await t.call('POST', '/services/lambda1/plugins', { raw: 'name=jwt', contentType: FORM });
    expect(r.status).toBe(201);
    expect(r.body.config).toEqual({
      secret_is_base64: false,
      run_on_preflight: true,
      uri_param_names: ['jwt'],
      key_claim_name: 'iss',
      header_names: ['authorization'],
      maximum_expiration: 0,
      anonymous: null,
      claims_to_verify: null,
      cookie_names: [],
      realm: null,
    });
    ids.servicePlugin = r.body.id;
  });

  it('POST /routes/<id>/plugins/ (trailing slash) name=jwt: a second, route-scoped jwt plugin', async () => {
    const r = await t.call('POST', `/routes/${ids.route}/plugins/`, { raw: 'name=jwt', contentType: FORM });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'jwt', route: { id: ids.route }, service: null });
    ids.routePlugin = r.body.id;
  });

  it('POST /consumers/ custom_id=1', async () => {
    const r = await t.call('POST', '/consumers/', { raw: 'custom_id=1', contentType: FORM });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ custom_id: '1', created_at: expect.any(Number), updated_at: expect.any(Number), id: expect.stringMatching(UUID_RE), tags: null, username: null });
    ids.consumer = r.body.id;
  });

  it('POST /consumers/<id>/jwt -F algorithm=RS256 -F rsa_public_key=@jwt.pem -F key=<issuer>', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const key = 'https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_example';
    const r = await t.call('POST', `/consumers/${ids.consumer}/jwt`, {
      body: { algorithm: 'RS256', rsa_public_key: new FilePart(publicKey, 'jwt.pem'), key },
      contentType: 'multipart/form-data',
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(UUID_RE),
      key,
      algorithm: 'RS256',
      rsa_public_key: publicKey,
      secret: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      consumer: { id: ids.consumer },
      created_at: expect.any(Number),
      tags: null,
    });
    expect(r.body.rsa_public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    // reachable by its key under the consumer and through the flat collection
    const byKey = await t.call('GET', `/consumers/${ids.consumer}/jwt/${encodeURIComponent(key)}`);
    expect(byKey.status).toBe(200);
    expect(byKey.body.id).toBe(r.body.id);
  });

  it('PATCH /plugins/<jwt id> config.claims_to_verify=exp → ["exp"]', async () => {
    const r = await t.call('PATCH', `/plugins/${ids.servicePlugin}`, { raw: 'config.claims_to_verify=exp', contentType: FORM });
    expect(r.status).toBe(200);
    expect(r.body.config.claims_to_verify).toEqual(['exp']);
    // the rest of the config is kept
    expect(r.body.config.uri_param_names).toEqual(['jwt']);
    expect(r.body.name).toBe('jwt');
  });

  it('GET / shows the plugins in use', async () => {
    const r = await t.call('GET', '/');
    expect([...r.body.plugins.enabled_in_cluster].sort()).toEqual(['aws-lambda', 'jwt']);
  });
});
