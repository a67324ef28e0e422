// `Expect: 100-continue`: the proxy sends 100 Continue only once rewrite/access let the request
// through and its body is going to be read; a rejection is the first and only answer (no 100 before
// it) and closes the connection, since the client never sends the body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { gateway, pluginRow, route, type Gateway } from '../plugins/helpers.js';

let gw: Gateway;
let port: number;

beforeAll(async () => {
  gw = await gateway(() => {
    const limited = route({ paths: ['/limited'] });
    const denied = route({ paths: ['/denied'] });
    const transformed = route({ paths: ['/transformed'] });
    const open = route({ paths: ['/open'] });
    return {
      routes: [limited, denied, transformed, open],
      plugins: [
        pluginRow('request-size-limiting', { allowed_payload_size: 10, size_unit: 'bytes' }, { route: limited }),
        pluginRow('ip-restriction', { deny: ['127.0.0.0/8'], status: 401, message: 'Unauthorized' }, { route: denied }),
        pluginRow('request-transformer', { add: { body: ['added:yes'] } }, { route: transformed }),
      ],
    };
  });
  port = Number(new URL(gw.url).port);
});
afterAll(() => gw?.close());

/** A raw HTTP/1.1 client connection: what the server wrote, byte for byte. */
class RawClient {
  text = '';
  closed = false;
  private readonly socket: net.Socket;
  constructor() {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => (this.text += d));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => {});
  }
  write(s: string): void {
    this.socket.write(s);
  }
  async waitFor(cond: () => boolean, ms = 3000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out; received so far: ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  /** The final (non-1xx) response once it is complete (Content-Length framed), else null. */
  final(): { status: number; headers: Record<string, string>; body: string } | null {
    let rest = this.text;
    while (/^HTTP\/1\.1 1\d\d /.test(rest)) {
      const end = rest.indexOf('\r\n\r\n');
      if (end < 0) return null;
      rest = rest.slice(end + 4);
    }
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const lines = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const body = rest.slice(end + 4);
    if (Buffer.byteLength(body, 'latin1') < Number(headers['content-length'] ?? 0)) return null;
    return { status: Number(lines[0].split(' ')[1]), headers, body };
  }
  destroy(): void {
    this.socket.destroy();
  }
}

function head(path: string, headers: Record<string, string | number>): string {
  let s = `POST ${path} HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

describe('Expect: 100-continue', () => {
  it('an oversized Content-Length gets 417 with no 100 before it, and the connection closes', async () => {
    const before = gw.up.requests;
    const c = new RawClient();
    try {
      c.write(head('/limited/request', { 'Content-Length': 20 }));
      await c.waitFor(() => c.final() !== null);
      expect(c.text.startsWith('HTTP/1.1 417 ')).toBe(true);
      expect(c.text).not.toContain('HTTP/1.1 100');
      const res = c.final()!;
      expect(JSON.parse(res.body)).toEqual({ message: 'Request size limit exceeded', request_id: res.headers['x-kong-request-id'] });
      expect(res.headers.connection).toBe('close');
      await c.waitFor(() => c.closed);
      expect(gw.up.requests).toBe(before);
    } finally {
      c.destroy();
    }
  });

  it('an access-phase rejection (401) comes without a 100', async () => {
    const c = new RawClient();
    try {
      c.write(head('/denied/request', { 'Content-Length': 5 }));
      await c.waitFor(() => c.final() !== null);
      expect(c.text.startsWith('HTTP/1.1 401 ')).toBe(true);
      expect(c.text).not.toContain('HTTP/1.1 100');
      expect(JSON.parse(c.final()!.body).message).toBe('Unauthorized');
      await c.waitFor(() => c.closed);
    } finally {
      c.destroy();
    }
  });

  it('no matching route: 404 without a 100', async () => {
    const c = new RawClient();
    try {
      c.write(head('/nowhere', { 'Content-Length': 5 }));
      await c.waitFor(() => c.final() !== null);
      expect(c.text.startsWith('HTTP/1.1 404 ')).toBe(true);
      expect(c.text).not.toContain('HTTP/1.1 100');
    } finally {
      c.destroy();
    }
  });

  it('an allowed request gets 100, then its body is proxied and answered', async () => {
    const c = new RawClient();
    try {
      c.write(head('/limited/request', { 'Content-Length': 5 }));
      await c.waitFor(() => c.text.includes('\r\n\r\n'));
      expect(c.text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      c.write('hello');
      await c.waitFor(() => c.final() !== null);
      const res = c.final()!;
      expect(res.status).toBe(200);
      const echoed = JSON.parse(res.body);
      expect(echoed.body).toBe('hello');
      expect(echoed.headers.expect).toBeUndefined();
      // the connection is still usable
      expect(res.headers.connection).toBe('keep-alive');
    } finally {
      c.destroy();
    }
  });

  it('a body buffered for a plugin (request-transformer) is read after the 100', async () => {
    const c = new RawClient();
    try {
      c.write(head('/transformed/request', { 'Content-Length': 11, 'Content-Type': 'application/json' }));
      await c.waitFor(() => c.text.includes('\r\n\r\n'));
      expect(c.text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      c.write('{"a":"one"}');
      await c.waitFor(() => c.final() !== null);
      const res = c.final()!;
      expect(res.status).toBe(200);
      expect(JSON.parse(JSON.parse(res.body).body)).toEqual({ a: 'one', added: 'yes' });
    } finally {
      c.destroy();
    }
  });

  it('a chunked body over the limit after the 100 is refused with 417 while streaming', async () => {
    const c = new RawClient();
    try {
      c.write(head('/limited/request', { 'Transfer-Encoding': 'chunked' }));
      await c.waitFor(() => c.text.includes('\r\n\r\n'));
      expect(c.text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      c.write('8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n');
      await c.waitFor(() => c.final() !== null);
      expect(c.final()!.status).toBe(417);
      expect(JSON.parse(c.final()!.body).message).toBe('Request size limit exceeded');
    } finally {
      c.destroy();
    }
  });

  it('without a body (Content-Length: 0) the request is proxied without a 100', async () => {
    const c = new RawClient();
    try {
      c.write(head('/open/request', { 'Content-Length': 0 }));
      await c.waitFor(() => c.final() !== null);
      expect(c.text.startsWith('HTTP/1.1 200 ')).toBe(true);
      expect(JSON.parse(c.final()!.body).bodyLength).toBe(0);
    } finally {
      c.destroy();
    }
  });
});
