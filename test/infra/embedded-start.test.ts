// `silverback start` with nothing configured: the embedded PostgreSQL is created, migrated and
// served; a restart on the same prefix keeps the data.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removePrefix, startSilverback } from '../helpers/processes.js';

// 0700 like a user's own folder: as root the embedded server runs as `postgres`, who cannot enter it
const prefix = mkdtempSync(join(tmpdir(), 'sb-embedded-start-'));

afterAll(() => removePrefix(prefix));

describe('embedded database start', () => {
  it('creates, migrates and serves, and keeps the data across a restart', async () => {
    const first = await startSilverback({ prefix, timeoutMs: 90_000 });
    try {
      const created = await fetch(`${first.adminUrl}/services`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=kept&url=http://example.com/x',
      });
      expect(created.status).toBe(201);
      expect(first.logs()).toContain('Database is up-to-date');
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const second = await startSilverback({ prefix, timeoutMs: 90_000 });
    try {
      const res = await fetch(`${second.adminUrl}/services/kept`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: 'kept', host: 'example.com', path: '/x', protocol: 'http', port: 80 });
      const root = (await (await fetch(`${second.adminUrl}/status`)).json()) as any;
      expect(root.database.reachable).toBe(true);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 200_000);
});
