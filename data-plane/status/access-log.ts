// The data plane's access log: one JSON line per request on stdout (pino), written asynchronously
// (buffered, not one write syscall per request) so it never holds a request up.
import { pino } from 'pino';
import type { DestinationStream } from 'pino';

export function createAccessLog(destination?: DestinationStream) {
  const dest = destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino(
    {
      base: { type: 'access' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  // a buffered line must not wait for the next burst of traffic
  const timer = setInterval(() => (dest as { flush?: () => void }).flush?.(), 1000);
  timer.unref();
  return {
    info(obj: object, msg?: string) {
      logger.info(obj, msg);
    },
    flush() {
      clearInterval(timer);
      const d = dest as { flushSync?: () => void };
      try {
        d.flushSync?.();
      } catch {
        // nothing written yet (sonic-boom not ready): nothing to flush
      }
    },
  };
}
