// An echo upstream in the spirit of Kong's mock_upstream, on 127.0.0.1 and a random port.
//   /request, /anything*   → JSON echo {method, url, path, query, uri_args, headers, body, bodyLength}
//   /status/<code>         → that status, JSON {status}
//   /delay/<ms>            → answers after <ms>
//   /stream/<n>            → n chunked JSON lines, ~5 ms apart
//   /download/<bytes>      → <bytes> of a repeating pattern, streamed in 64 KiB chunks (no content-length with ?chunked)
//   /upload                → consumes the body without buffering: {bytes, sha256}; ?pause=<ms> stops reading
//                            for <ms> after the first chunk (to observe backpressure)
//   /reset                 → sends headers and part of a body, then destroys the socket
//   anything else          → 200 JSON echo as /request
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export interface Upstream {
  url: string;
  host: string;
  port: number;
  /** Requests received so far. */
  requests: number;
  /** Body bytes written by /download so far (all requests). */
  readonly downloadSent: number;
  /** Sockets currently open to this upstream. */
  openSockets(): number;
  close(): Promise<void>;
}

const PATTERN = Buffer.alloc(64 * 1024);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251;

/** The byte at offset i of a /download body (for checking what arrived). */
export function downloadByte(i: number): number {
  return (i % (64 * 1024)) % 251;
}

function echo(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const query = q >= 0 ? url.slice(q + 1) : '';
  const payload = JSON.stringify({
    method: req.method,
    url,
    path: q >= 0 ? url.slice(0, q) : url,
    query,
    uri_args: Object.fromEntries(new URLSearchParams(query)),
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body: body.toString('utf8'),
    bodyLength: body.length,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-upstream': 'echo' });
  res.end(payload);
}

export async function startUpstream(): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const state = { requests: 0, downloadSent: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    let m: RegExpExecArray | null;
    if ((m = /^\/status\/(\d{3})$/.exec(path))) {
      const status = Number(m[1]);
      const payload = JSON.stringify({ status });
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      return;
    }
    if ((m = /^\/delay\/(\d+)$/.exec(path))) {
      const ms = Number(m[1]);
      req.resume();
      const t = setTimeout(() => {
        if (!res.destroyed) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ delayed: ms }));
        }
      }, ms);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if ((m = /^\/stream\/(\d+)$/.exec(path))) {
      const n = Number(m[1]);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i >= n) return void res.end();
        res.write(JSON.stringify({ id: i++ }) + '\n');
        setTimeout(tick, 5);
      };
      tick();
      return;
    }
    if ((m = /^\/download\/(\d+)$/.exec(path))) {
      const total = Number(m[1]);
      const chunked = url.includes('chunked');
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', ...(chunked ? {} : { 'content-length': total }) });
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const n = Math.min(PATTERN.length, total - sent);
          sent += n;
          state.downloadSent += n;
          if (!res.write(n === PATTERN.length ? PATTERN : PATTERN.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (path === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      const pause = Number(/[?&]pause=(\d+)/.exec(url)?.[1] ?? 0);
      req.on('data', (c: Buffer) => {
        if (bytes === 0 && pause > 0) {
          req.pause();
          setTimeout(() => req.resume(), pause);
        }
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        const payload = JSON.stringify({ bytes, sha256: hash.digest('hex'), headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      });
      return;
    }
    if (path === '/reset') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000000 });
      res.write('partial body...');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => echo(req, res, Buffer.concat(chunks)));
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    get requests() {
      return state.requests;
    },
    set requests(v: number) {
      state.requests = v;
    },
    get downloadSent() {
      return state.downloadSent;
    },
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
