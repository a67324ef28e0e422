// The credentials a Lambda client signs with, as Kong resolves them: aws_key/aws_secret when given,
// else the SDK's standard chain (environment, shared files, SSO, credential_process, web identity,
// ECS/EKS container credentials, EC2 instance metadata — IMDSv2 only when aws_imds_protocol_version
// is "v2"); then, with aws_assume_role_arn, STS AssumeRole with those as the source credentials,
// refreshed before they expire. STS is reached like Lambda (proxy_url, timeouts, keep-alive).
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { STSClient } from '@aws-sdk/client-sts';
import type http from 'node:http';
import type https from 'node:https';

export interface CredentialConfig {
  region: string;
  aws_key: string | null;
  aws_secret: string | null;
  aws_assume_role_arn: string | null;
  aws_role_session_name: string | null;
  aws_sts_endpoint_url: string | null;
  aws_imds_protocol_version: 'v1' | 'v2';
  timeout: number;
}

/** Temporary credentials are renewed this long before they expire (the SDK's own margin). */
const REFRESH_MARGIN_MS = 5 * 60_000;

type StsSdk = typeof import('@aws-sdk/client-sts');
let sts: Promise<StsSdk> | null = null;
const loadSts = () =>
  (sts ??= import('@aws-sdk/client-sts').catch((err) => {
    sts = null;
    throw err;
  }));

/** The SDK's default chain, with IMDSv1 fallback disabled for "v2". */
function defaultChain(c: CredentialConfig): AwsCredentialIdentityProvider {
  let provider: Promise<AwsCredentialIdentityProvider> | null = null;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) =>
      defaultProvider(c.aws_imds_protocol_version === 'v2' ? { ec2MetadataV1Disabled: true } : {}),
    );
    return (await provider)();
  };
}

/** AssumeRole, single-flight, cached until REFRESH_MARGIN_MS before expiry. */
export function assumeRoleProvider(client: () => Promise<{ sts: STSClient; sdk: StsSdk }>, roleArn: string, sessionName: string): AwsCredentialIdentityProvider {
  let cached: AwsCredentialIdentity | null = null;
  let pending: Promise<AwsCredentialIdentity> | null = null;
  const fresh = (c: AwsCredentialIdentity | null): c is AwsCredentialIdentity =>
    c !== null && (c.expiration === undefined || c.expiration.getTime() - Date.now() > REFRESH_MARGIN_MS);
  return () => {
    if (fresh(cached)) return Promise.resolve(cached);
    pending ??= client()
      .then(({ sts, sdk }) => sts.send(new sdk.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName })))
      .then((out) => {
        const k = out.Credentials;
        if (!k?.AccessKeyId || !k.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
        cached = { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey, sessionToken: k.SessionToken, expiration: k.Expiration };
        return cached;
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };
}

/** Undefined: let the Lambda client use the SDK's default chain as it is (v1, no role). */
export function credentialsFor(c: CredentialConfig, agents: { httpAgent: http.Agent; httpsAgent: https.Agent }): AwsCredentialIdentityProvider | AwsCredentialIdentity | undefined {
  const base = c.aws_key && c.aws_secret ? { accessKeyId: c.aws_key, secretAccessKey: c.aws_secret } : undefined;
  const source = base ?? (c.aws_imds_protocol_version === 'v2' || c.aws_assume_role_arn ? defaultChain(c) : undefined);
  if (!c.aws_assume_role_arn) return source;
  let client: Promise<{ sts: STSClient; sdk: StsSdk }> | null = null;
  const stsClient = () =>
    (client ??= loadSts().then((sdk) => ({
      sdk,
      sts: new sdk.STSClient({
        region: c.region,
        endpoint: c.aws_sts_endpoint_url ?? undefined,
        credentials: source,
        maxAttempts: 1,
        requestHandler: { connectionTimeout: c.timeout, requestTimeout: c.timeout, throwOnRequestTimeout: true, ...agents },
      }),
    })));
  return assumeRoleProvider(stsClient, c.aws_assume_role_arn, c.aws_role_session_name || 'kong');
}
