// aws-lambda credentials without keys in the plugin config, through the real SDK chain against
// local stand-ins: environment, shared credentials file + profile, ECS container credentials, EC2
// instance metadata (IMDSv2 and v1, aws_imds_protocol_version), and aws_assume_role_arn through
// STS AssumeRole (source credentials from the chain or the config, via proxy_url, refreshed).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../../shared/snapshot.js';
import { handlers } from '../../data-plane/plugins/registry.js';
import { closeLambdaClients } from '../../data-plane/plugins/aws-lambda/client.js';
import type { Proxy } from '../../data-plane/proxy/index.js';
import { startLambdaServer, type LambdaServer } from '../helpers/lambda-server.js';
import { startCredentialsServer, IMDS_ROLE, type CredentialsServer } from '../helpers/aws-credentials-server.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js';
import { startProxy } from '../proxy/fixtures.js';
import { pluginRow, request, route, snapshot } from './helpers.js';

const ENV_KEYS = [
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_EC2_METADATA_DISABLED', 'AWS_EC2_METADATA_SERVICE_ENDPOINT', 'AWS_EC2_METADATA_V1_DISABLED', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_ENDPOINT_URL_STS', 'AWS_CA_BUNDLE',
];
const savedEnv: Record<string, string | undefined> = {};
const ROLE = 'arn:aws:iam::123456789012:role/lambda-invoker';

describe('aws-lambda credentials', () => {
  let dir: string;
  let lambda: LambdaServer;
  let aws: CredentialsServer;
  let fwd: ForwardProxy;
  let proxy: Proxy;
  let url: string;
  let files = 0;
  const routes: Row[] = [];
  const plugins: Row[] = [];

  /** A fresh environment: nothing from the machine, no IMDS unless a test points at the local one. */
  const resetEnv = () => {
    for (const k of ENV_KEYS) delete process.env[k];
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'none-credentials');
    process.env.AWS_CONFIG_FILE = join(dir, 'none-config');
    closeLambdaClients();
  };

  beforeAll(async () => {
    for (const k of ENV_KEYS) savedEnv[k] = process.env[k];
    dir = mkdtempSync(join(tmpdir(), 'sb-lambda-creds-'));
    lambda = await startLambdaServer();
    aws = await startCredentialsServer();
    fwd = await startForwardProxy();
    const add = (path: string, config: Row = {}) => {
      const r = route({ paths: [path] });
      routes.push(r);
      plugins.push(pluginRow('aws-lambda', { aws_region: 'eu-central-1', host: '127.0.0.1', port: lambda.port, disable_https: true, function_name: 'functionEcho', ...config }, { route: r }));
    };
    add('/chain');
    add('/imds-v2', { aws_imds_protocol_version: 'v2' });
    add('/role', { aws_assume_role_arn: ROLE, aws_role_session_name: 'silverback-dp', aws_sts_endpoint_url: aws.url });
    add('/role-default-name', { aws_assume_role_arn: ROLE, aws_sts_endpoint_url: aws.url });
    add('/role-keys', { aws_assume_role_arn: ROLE, aws_sts_endpoint_url: aws.url, aws_key: 'AKIDCONFIG', aws_secret: 'config-secret' });
    add('/role-proxy', { aws_assume_role_arn: ROLE, aws_sts_endpoint_url: aws.url, proxy_url: fwd.url });
    add('/role-denied', { aws_assume_role_arn: 'arn:aws:iam::123456789012:role/denied', aws_sts_endpoint_url: aws.url });
    add('/role-denied-2.0', { aws_assume_role_arn: 'arn:aws:iam::123456789012:role/denied', aws_sts_endpoint_url: aws.url, awsgateway_compatible_payload_version: '2.0' });
    ({ proxy, url } = await startProxy(snapshot({ routes, plugins }), { registry: handlers }));
  });

  afterEach(() => resetEnv());

  afterAll(async () => {
    await proxy?.close();
    closeLambdaClients();
    await lambda?.close();
    await aws?.close();
    await fwd?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  const call = (path: string) => request(`${url}${path}`);
  const signedWith = () => ({ key: lambda.last().accessKeyId, token: lambda.last().headers['x-amz-security-token'] });

  describe('the default chain (no keys in the config)', () => {
    beforeAll(() => resetEnv());

    it('environment variables, with a session token', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDENV';
      process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
      process.env.AWS_SESSION_TOKEN = 'env-session';
      expect((await call('/chain')).status).toBe(200);
      expect(signedWith()).toEqual({ key: 'AKIDENV', token: 'env-session' });
      expect(lambda.last().region).toBe('eu-central-1');
    });

    it('the shared credentials file, profile from AWS_PROFILE', async () => {
      const file = join(dir, `credentials-${++files}`);
      writeFileSync(file, '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n[gateway]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = p\n');
      process.env.AWS_SHARED_CREDENTIALS_FILE = file;
      expect((await call('/chain')).status).toBe(200);
      expect(signedWith().key).toBe('AKIDDEFAULT');
      closeLambdaClients();
      process.env.AWS_PROFILE = 'gateway';
      expect((await call('/chain')).status).toBe(200);
      expect(signedWith().key).toBe('AKIDPROFILE');
    });

    it('ECS/EKS container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)', async () => {
      process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${aws.url}/container-credentials`;
      const before = aws.containerRequests;
      expect((await call('/chain')).status).toBe(200);
      expect(signedWith().key).toMatch(/^ASIACONTAINER\d+$/);
      expect(signedWith().token).toMatch(/^ASIACONTAINER-token-/);
      // cached: a second call does not fetch again
      expect((await call('/chain')).status).toBe(200);
      expect(aws.containerRequests - before).toBe(1);
    });

    it('the EC2 instance role from instance metadata (IMDSv2 session token)', async () => {
      delete process.env.AWS_EC2_METADATA_DISABLED;
      process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = aws.url;
      aws.imdsRequests.length = 0;
      expect((await call('/chain')).status).toBe(200);
      expect(signedWith().key).toMatch(/^ASIAIMDS\d+$/);
      expect(aws.imdsRequests).toEqual([
        'PUT /latest/api/token',
        'GET /latest/meta-data/iam/security-credentials/ (token)',
        `GET /latest/meta-data/iam/security-credentials/${IMDS_ROLE} (token)`,
      ]);
    });

    it('aws_imds_protocol_version: v1 falls back to IMDSv1 where v2 is refused; v2 does not', async () => {
      delete process.env.AWS_EC2_METADATA_DISABLED;
      process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = aws.url;
      aws.imdsV1Only = true;
      try {
        expect((await call('/chain')).status).toBe(200);
        expect(signedWith().key).toMatch(/^ASIAIMDS\d+$/);
        expect(aws.imdsRequests).toContain(`GET /latest/meta-data/iam/security-credentials/${IMDS_ROLE} (no token)`);
        const before = lambda.invocations.length;
        const res = await call('/imds-v2');
        expect(res.status).toBe(500);
        expect(res.json()).toMatchObject({ message: 'An unexpected error occurred' });
        expect(lambda.invocations.length).toBe(before);
      } finally {
        aws.imdsV1Only = false;
      }
    });

    it('EKS IRSA web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, STS via AWS_ENDPOINT_URL_STS)', async () => {
      const tokenFile = join(dir, `web-identity-${++files}`);
      writeFileSync(tokenFile, 'eks-projected-service-account-token');
      process.env.AWS_WEB_IDENTITY_TOKEN_FILE = tokenFile;
      process.env.AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/eks-pod-role';
      process.env.AWS_ROLE_SESSION_NAME = 'pod-session';
      process.env.AWS_ENDPOINT_URL_STS = aws.url;
      try {
        aws.assumeRoleCalls.length = 0;
        expect((await call('/chain')).status).toBe(200);
        expect(aws.assumeRoleCalls).toMatchObject([{ roleArn: 'arn:aws:iam::123456789012:role/eks-pod-role', sessionName: 'pod-session', webIdentityToken: 'eks-projected-service-account-token' }]);
        expect(signedWith().key).toMatch(/^ASIASTS\d+$/);
      } finally {
        delete process.env.AWS_ROLE_SESSION_NAME;
        delete process.env.AWS_ENDPOINT_URL_STS;
      }
    });

    it('no credentials anywhere: 500, nothing sent', async () => {
      const before = lambda.invocations.length;
      expect((await call('/chain')).status).toBe(500);
      expect(lambda.invocations.length).toBe(before);
    });
  });

  describe('region and endpoint from the environment', () => {
    beforeAll(() => resetEnv());

    it('AWS_REGION, else AWS_DEFAULT_REGION; AWS_ENDPOINT_URL when the config names no host', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDENV';
      process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
      process.env.AWS_ENDPOINT_URL = lambda.url;
      const apply = (path: string) => {
        const r = route({ paths: [path] });
        routes.push(r);
        plugins.push(pluginRow('aws-lambda', { function_name: 'functionEcho' }, { route: r }));
        proxy.applySnapshot(snapshot({ routes, plugins }));
      };
      process.env.AWS_DEFAULT_REGION = 'ap-south-1';
      apply('/env-default-region');
      expect((await call('/env-default-region')).status).toBe(200);
      expect(lambda.last()).toMatchObject({ region: 'ap-south-1', accessKeyId: 'AKIDENV' });
      process.env.AWS_REGION = 'sa-east-1';
      apply('/env-region');
      expect((await call('/env-region')).status).toBe(200);
      expect(lambda.last().region).toBe('sa-east-1');
    });
  });

  describe('aws_assume_role_arn', () => {
    beforeAll(() => resetEnv());

    it('assumes the role once with the chain credentials and signs with the temporary ones', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDMASTER';
      process.env.AWS_SECRET_ACCESS_KEY = 'master-secret';
      aws.assumeRoleCalls.length = 0;
      for (let i = 0; i < 3; i++) expect((await call('/role')).status).toBe(200);
      expect(aws.assumeRoleCalls).toEqual([{ accessKeyId: 'AKIDMASTER', region: 'eu-central-1', sessionToken: undefined, roleArn: ROLE, sessionName: 'silverback-dp' }]);
      expect(signedWith().key).toMatch(/^ASIASTS\d+$/);
      expect(signedWith().token).toMatch(/^ASIASTS-token-/);

      await call('/role-default-name');
      expect(aws.assumeRoleCalls[1].sessionName).toBe('kong');
    });

    it('uses aws_key/aws_secret as the source credentials when configured', async () => {
      aws.assumeRoleCalls.length = 0;
      expect((await call('/role-keys')).status).toBe(200);
      expect(aws.assumeRoleCalls).toMatchObject([{ accessKeyId: 'AKIDCONFIG', roleArn: ROLE }]);
      expect(signedWith().key).toMatch(/^ASIASTS\d+$/);
    });

    it('renews the temporary credentials before they expire', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDMASTER';
      process.env.AWS_SECRET_ACCESS_KEY = 'master-secret';
      // 2 s of use before the 5-minute renewal margin is reached
      aws.lifetimeMs = 5 * 60_000 + 2000;
      try {
        aws.assumeRoleCalls.length = 0;
        expect((await call('/role')).status).toBe(200);
        const first = signedWith().key;
        const calls = aws.assumeRoleCalls.length;
        expect(calls).toBeGreaterThanOrEqual(1);
        await new Promise((r) => setTimeout(r, 2200));
        expect((await call('/role')).status).toBe(200);
        expect(aws.assumeRoleCalls.length).toBeGreaterThan(calls);
        expect(signedWith().key).not.toBe(first);
      } finally {
        aws.lifetimeMs = 3600_000;
      }
    });

    it('reaches STS through proxy_url as well', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDMASTER';
      process.env.AWS_SECRET_ACCESS_KEY = 'master-secret';
      fwd.requests.length = 0;
      expect((await call('/role-proxy')).status).toBe(200);
      expect(fwd.requests).toEqual([`POST ${aws.url}/`, `POST http://127.0.0.1:${lambda.port}/2015-03-31/functions/functionEcho/invocations`]);
    });

    it('a refused AssumeRole is a 500 (Kong) or API Gateway\'s 500, nothing invoked', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDMASTER';
      process.env.AWS_SECRET_ACCESS_KEY = 'master-secret';
      const before = lambda.invocations.length;
      const kong = await call('/role-denied');
      expect(kong.status).toBe(500);
      expect(kong.json()).toMatchObject({ message: 'An unexpected error occurred' });
      const v2 = await call('/role-denied-2.0');
      expect(v2.status).toBe(500);
      expect(v2.json()).toEqual({ message: 'Internal Server Error' });
      expect(lambda.invocations.length).toBe(before);
    });
  });
});
