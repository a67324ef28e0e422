// Name → handler of every plugin this data plane can run. A snapshot that configures a plugin
// missing here is refused by compileRuntime (Kong refuses configs with unknown plugins too).
import type { PluginHandler } from './types.js';
import { acl } from './acl/index.js';
import { awsLambda } from './aws-lambda/index.js';
import { basicAuth } from './basic-auth/index.js';
import { correlationId } from './correlation-id/index.js';
import { cors } from './cors/index.js';
import { fileLog } from './file-log/index.js';
import { httpLog } from './http-log/index.js';
import { ipRestriction } from './ip-restriction/index.js';
import { jwt } from './jwt/index.js';
import { keyAuth } from './key-auth/index.js';
import { proxyCache } from './proxy-cache/index.js';
import { rateLimiting } from './rate-limiting/index.js';
import { prometheus } from './prometheus/index.js';
import { requestSizeLimiting } from './request-size-limiting/index.js';
import { requestTermination } from './request-termination/index.js';
import { requestTransformer } from './request-transformer/index.js';
import { responseTransformer } from './response-transformer/index.js';

export const handlers: Record<string, PluginHandler> = {
  acl,
  'aws-lambda': awsLambda,
  'basic-auth': basicAuth,
  'correlation-id': correlationId,
  cors,
  'file-log': fileLog,
  'http-log': httpLog,
  'ip-restriction': ipRestriction,
  jwt,
  'key-auth': keyAuth,
  'proxy-cache': proxyCache,
  'rate-limiting': rateLimiting,
  prometheus,
  'request-size-limiting': requestSizeLimiting,
  'request-termination': requestTermination,
  'request-transformer': requestTransformer,
  'response-transformer': responseTransformer,
};
