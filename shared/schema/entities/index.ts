// Every entity schema, in dependency order (parents first). The store, the Admin API,
// the declarative loader and the snapshot are all generated from this list.
import type { EntitySchema } from '../types.js';
import { services } from './services.js';
import { routes } from './routes.js';
import { consumers } from './consumers.js';
import { plugins } from './plugins.js';
import { upstreams, targets } from './upstreams.js';
import { certificates, snis, ca_certificates } from './certificates.js';
import { jwt_secrets, keyauth_credentials, basicauth_credentials, acls } from './credentials.js';

export const ENTITIES: EntitySchema[] = [
  ca_certificates,
  certificates,
  snis,
  services,
  routes,
  consumers,
  upstreams,
  targets,
  plugins,
  jwt_secrets,
  keyauth_credentials,
  basicauth_credentials,
  acls,
];

export const entityByName: ReadonlyMap<string, EntitySchema> = new Map(ENTITIES.map((e) => [e.name, e]));

/** Admin API collection name → schema (services, routes, jwts, key-auths, ...). */
export const entityByAdminName: ReadonlyMap<string, EntitySchema> = new Map(ENTITIES.map((e) => [e.admin_name ?? e.name, e]));

export function getEntity(name: string): EntitySchema {
  const e = entityByName.get(name);
  if (!e) throw new Error(`unknown entity ${name}`);
  return e;
}

export { services, routes, consumers, plugins, upstreams, targets, certificates, snis, ca_certificates };
export { jwt_secrets, keyauth_credentials, basicauth_credentials, acls };
