// The node's working directory and its stable id.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../shared/config.js';

/**
 * Creates the prefix directory and fills `node_id` (from the config, else <prefix>/node_id,
 * generated once). The prefix stays world-traversable (0755) because the embedded PostgreSQL runs
 * as the `postgres` user under it; secret files inside are 0600 each.
 */
export function preparePrefix(config: Config): Config & { node_id: string } {
  mkdirSync(config.prefix, { recursive: true, mode: 0o755 });
  if (config.node_id) return { ...config, node_id: config.node_id };
  const file = join(config.prefix, 'node_id');
  let id = '';
  try {
    id = readFileSync(file, 'utf8').trim();
  } catch {
    /* first start */
  }
  if (!/^[0-9a-f-]{36}$/i.test(id)) {
    id = randomUUID();
    writeFileSync(file, `${id}\n`, { mode: 0o644 });
  }
  return { ...config, node_id: id };
}
