// Follows a spawned `silverback start` process through its JSON log lines: when each config
// version was applied, when it connected to the control plane, and the last output for errors.
import { performance } from 'node:perf_hooks';

export function followNode(proc) {
  const node = { proc, applied: [], waiters: [], connectedAt: [], tail: '', exited: false };
  let buffer = '';
  proc.stdout.on('data', (d) => {
    const at = performance.now();
    buffer += d.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      node.tail = (node.tail + line + '\n').slice(-4000);
      if (!line.startsWith('{')) continue;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      if (e.msg === 'configuration applied') {
        node.applied.push({ version: e.version, at, logTime: Date.parse(e.time) });
        node.waiters = node.waiters.filter((w) => (e.version >= w.version ? (w.resolve(at), false) : true));
      } else if (e.msg === 'sync: connected to the control plane') node.connectedAt.push(Date.parse(e.time));
    }
  });
  proc.stderr.on('data', (d) => (node.tail = (node.tail + d.toString()).slice(-4000)));
  node.exit = new Promise((r) => proc.once('exit', (code) => ((node.exited = true), r(code))));
  node.appliedVersion = () => (node.applied.length ? node.applied[node.applied.length - 1].version : -1);
  node.whenApplied = (version) =>
    node.appliedVersion() >= version ? Promise.resolve(performance.now()) : new Promise((resolve) => node.waiters.push({ version, resolve }));
  return node;
}
