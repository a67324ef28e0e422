// The product version, read once from the package.json above this module (sources or dist/).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'silverback' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // keep looking upwards
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const SILVERBACK_VERSION = findVersion();

/**
 * The Kong release whose Admin API, schemas and plugins Silverback follows. `GET /` reports it as
 * `version` so Kong tooling (decK, go-kong) picks the right format; SILVERBACK_VERSION is reported
 * beside it.
 */
export const KONG_COMPAT_VERSION = '3.9.0';
