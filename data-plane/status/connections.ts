// Connection and request counters for /status (Kong's `server` block).
import type { Server } from 'node:http';

export function trackConnections() {
  const c = { accepted: 0, active: 0, requests: 0 };
  return {
    attach(server: Server): void {
      server.on('connection', (socket) => {
        c.accepted++;
        c.active++;
        socket.once('close', () => c.active--);
      });
      server.on('request', () => c.requests++);
    },
    stats: () => ({
      connections_accepted: c.accepted,
      connections_handled: c.accepted,
      connections_active: c.active,
      total_requests: c.requests,
    }),
  };
}
