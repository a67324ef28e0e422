// Local stand-ins for where AWS credentials come from, on 127.0.0.1 and a random port:
//   STS (query protocol): POST / Action=AssumeRole → temporary credentials (XML), SigV4 required;
//     RoleArn containing "denied" → 403 AccessDenied; Action=AssumeRoleWithWebIdentity (unsigned, EKS IRSA)
//   EC2 instance metadata (IMDS): PUT /latest/api/token (IMDSv2; refused with 403 when `imdsV1Only`),
//     GET /latest/meta-data/iam/security-credentials/ and …/<role>
//   ECS/EKS container credentials: GET /container-credentials (Authorization checked when a token is set)
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export interface AssumeRoleCall {
  accessKeyId: string;
  region: string;
  sessionToken: string | undefined;
  roleArn: string | null;
  sessionName: string | null;
  /** AssumeRoleWithWebIdentity: the token presented. */
  webIdentityToken?: string | null;
}

export interface CredentialsServer {
  url: string;
  assumeRoleCalls: AssumeRoleCall[];
  /** IMDS requests: "PUT /latest/api/token", "GET … (token|no token)". */
  imdsRequests: string[];
  containerRequests: number;
  /** Lifetime of the temporary credentials handed out (ms). */
  lifetimeMs: number;
  imdsV1Only: boolean;
  close(): Promise<void>;
}

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/sts\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;
export const IMDS_ROLE = 'gateway-instance-role';
export const IMDS_TOKEN = 'imds-session-token';

export async function startCredentialsServer(): Promise<CredentialsServer> {
  const sockets = new Set<Socket>();
  let serial = 0;
  const state: CredentialsServer = {
    url: '',
    assumeRoleCalls: [],
    imdsRequests: [],
    containerRequests: 0,
    lifetimeMs: 3600_000,
    imdsV1Only: false,
    close: async () => undefined,
  };
  const expiration = () => new Date(Date.now() + state.lifetimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const creds = (prefix: string) => ({ AccessKeyId: `${prefix}${++serial}`, SecretAccessKey: `${prefix.toLowerCase()}-secret`, Token: `${prefix}-token-${serial}`, Expiration: expiration() });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const json = (status: number, v: unknown) => {
        const body = typeof v === 'string' ? v : JSON.stringify(v);
        res.writeHead(status, { 'content-type': typeof v === 'string' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (url.startsWith('/latest/')) {
        const token = req.headers['x-aws-ec2-metadata-token'];
        if (req.method === 'PUT' && url === '/latest/api/token') {
          state.imdsRequests.push('PUT /latest/api/token');
          return state.imdsV1Only ? json(403, 'Forbidden') : json(200, IMDS_TOKEN);
        }
        state.imdsRequests.push(`GET ${url} (${token === IMDS_TOKEN ? 'token' : 'no token'})`);
        if (token !== undefined && token !== IMDS_TOKEN) return json(401, 'Unauthorized');
        if (url === '/latest/meta-data/iam/security-credentials/') return json(200, IMDS_ROLE);
        if (url === `/latest/meta-data/iam/security-credentials/${IMDS_ROLE}`) {
          const c = creds('ASIAIMDS');
          return json(200, { Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC', ...c });
        }
        return json(404, 'Not Found');
      }
      if (url === '/container-credentials') {
        state.containerRequests++;
        const c = creds('ASIACONTAINER');
        return json(200, { AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, Token: c.Token, Expiration: c.Expiration });
      }
      // STS
      const auth = SIGV4.exec(String(req.headers.authorization ?? ''));
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const xml = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      const error = (status: number, code: string, message: string) =>
        xml(status, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
      const action = form.get('Action');
      const web = action === 'AssumeRoleWithWebIdentity';
      if (req.method !== 'POST' || (!auth && !web)) return error(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      if (action !== 'AssumeRole' && !web) return error(400, 'InvalidAction', `Could not find operation ${action}`);
      const roleArn = form.get('RoleArn');
      const sessionName = form.get('RoleSessionName');
      state.assumeRoleCalls.push({
        accessKeyId: auth?.[1] ?? '',
        region: auth?.[2] ?? '',
        sessionToken: req.headers['x-amz-security-token'] as string | undefined,
        roleArn,
        sessionName,
        ...(web ? { webIdentityToken: form.get('WebIdentityToken') } : {}),
      });
      if (roleArn?.includes('denied')) return error(403, 'AccessDenied', `User: ${auth[1]} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      const c = creds('ASIASTS');
      xml(
        200,
        `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>` +
          `<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:${sessionName}</AssumedRoleId><Arn>${roleArn}/${sessionName}</Arn></AssumedRoleUser>` +
          `<Credentials><AccessKeyId>${c.AccessKeyId}</AccessKeyId><SecretAccessKey>${c.SecretAccessKey}</SecretAccessKey><SessionToken>${c.Token}</SessionToken><Expiration>${c.Expiration}</Expiration></Credentials>` +
          `</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
      );
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}
