// Every plugin this build ships: adding one is a schema file plus one line here
// (and its handler in data-plane/plugins/registry.ts).
import type { PluginSchema } from './types.js';
import { acl } from './acl.js';
import { awsLambda } from './aws-lambda.js';
import { basicAuth } from './basic-auth.js';
import { correlationId } from './correlation-id.js';
import { cors } from './cors.js';
import { fileLog } from './file-log.js';
import { httpLog } from './http-log.js';
import { ipRestriction } from './ip-restriction.js';
import { jwt } from './jwt.js';
import { keyAuth } from './key-auth.js';
import { proxyCache } from './proxy-cache.js';
import { rateLimiting } from './rate-limiting.js';
import { prometheus } from './prometheus.js';
import { requestSizeLimiting } from './request-size-limiting.js';
import { requestTermination } from './request-termination.js';
import { requestTransformer } from './request-transformer.js';
import { responseTransformer } from './response-transformer.js';

const schemas: PluginSchema[] = [
  acl,
  awsLambda,
  basicAuth,
  correlationId,
  cors,
  fileLog,
  httpLog,
  ipRestriction,
  jwt,
  keyAuth,
  proxyCache,
  rateLimiting,
  prometheus,
  requestSizeLimiting,
  requestTermination,
  requestTransformer,
  responseTransformer,
];

export const pluginSchemas: ReadonlyMap<string, PluginSchema> = new Map(schemas.map((s) => [s.name, s]));

export function getPluginSchema(name: unknown): PluginSchema | undefined {
  return typeof name === 'string' ? pluginSchemas.get(name) : undefined;
}
