// A traditional node's data plane follows the control plane of its own process, whatever port its
// cluster listener is on and whatever `cluster_control_plane` says: two nodes on one machine each
// proxy only their own routes, even when one is told the other's cluster address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilverback, waitFor, type SilverbackProcess } from '../helpers/processes.js';
import { startUpstream } from '../helpers/upstream.js';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let a: SilverbackProcess;
let b: SilverbackProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  a = await startSilverback({ timeoutMs: 90_000 }); // cluster_listen on a random port; cluster_control_plane left at its default
  b = await startSilverback({ env: { SILVERBACK_CLUSTER_CONTROL_PLANE: a.clusterAddr }, timeoutMs: 90_000 });
}, 200_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
});

async function addRoute(node: SilverbackProcess, name: string, path: string): Promise<void> {
  const post = (p: string, body: string) =>
    fetch(`${node.adminUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  expect((await post('/services', `name=${name}&url=${upstream.url}`)).status).toBe(201);
  expect((await post(`/services/${name}/routes`, `paths[]=${path}`)).status).toBe(201);
}

const statusOf = async (node: SilverbackProcess, path: string) => (await fetch(`${node.proxyUrl}${path}`)).status;

describe('traditional nodes', () => {
  it('each data plane loads its own node configuration, over its own cluster port', async () => {
    await addRoute(a, 'alpha', '/alpha');
    await addRoute(b, 'beta', '/beta');
    await waitFor(async () => (await statusOf(a, '/alpha/request')) === 200, 15_000);
    await waitFor(async () => (await statusOf(b, '/beta/request')) === 200, 15_000);
    expect(await statusOf(a, '/beta/request')).toBe(404);
    expect(await statusOf(b, '/alpha/request')).toBe(404);
    const connectedTo = (node: SilverbackProcess) =>
      node.logLines().find((l) => l.msg === 'sync: connected to the control plane')?.control_plane;
    expect(connectedTo(a)).toBe(a.clusterAddr);
    expect(connectedTo(b)).toBe(b.clusterAddr);
  }, 60_000);
});
