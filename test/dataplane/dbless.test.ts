// DB-less mode end to end: `silverback start` with database=off serves a declarative file,
// reloads it on SIGHUP while traffic flows, and keeps the old config when the new file is invalid.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let node: SilverbackProcess;
const dir = mkdtempSync(join(tmpdir(), 'sb-dbless-'));
const file = join(dir, 'kong.yml');

const config = (paths: string[]) => `_format_version: "3.0"
services:
- name: echo
  url: ${upstream.url}
  routes:
  - name: main
    paths: [${paths.map((p) => JSON.stringify(p)).join(', ')}]
`;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(file, config(['/one']));
  node = await startSilverback({ env: { SILVERBACK_DATABASE: 'off', SILVERBACK_DECLARATIVE_CONFIG: file }, waitFor: ['proxy', 'status'] });
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

describe('DB-less data plane', () => {
  it('serves the declarative file and reports ready', async () => {
    const res = await fetch(`${node.proxyUrl}/one/request?x=1`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.path ?? body.uri).toContain('/request');
    const ready = await fetch(`${node.statusUrl}/status/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ message: 'ready' });
    const status = (await (await fetch(`${node.statusUrl}/status`)).json()) as any;
    expect(status.configuration_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(status.configuration_hash).not.toBe('00000000000000000000000000000000');
  });

  it('reloads on SIGHUP and keeps the old config when the new file is invalid', async () => {
    writeFileSync(file, config(['/two']));
    node.proc.kill('SIGHUP');
    await waitFor(async () => (await fetch(`${node.proxyUrl}/two/request`)).status === 200, 10_000);
    expect((await fetch(`${node.proxyUrl}/one/request`)).status).toBe(404);

    writeFileSync(file, config(['no-slash']));
    node.proc.kill('SIGHUP');
    await waitFor(() => node.logs().includes('declarative reload failed'), 10_000);
    expect((await fetch(`${node.proxyUrl}/two/request`)).status).toBe(200);
  });

  it('answers unknown paths with Kong\'s 404 body', async () => {
    const res = await fetch(`${node.proxyUrl}/nothing-here`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as any;
    expect(body.message).toBe('no Route matched with those values');
  });
});
