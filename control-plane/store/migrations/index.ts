// Every migration, in order. Append only: an executed migration's name and SQL never change.
import * as m000 from './000_base.js';
import * as m001 from './001_clustering_data_planes.js';
import * as m002 from './002_keyauth_expires_at.js';
import * as m003 from './003_jwt_jwks.js';

export interface Migration {
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [m000, m001, m002, m003];
