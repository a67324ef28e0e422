// Request ids: 32 hex characters like Kong's, unique per process (random prefix + counter) without
// paying for crypto randomness on every request.
import { randomBytes } from 'node:crypto';

let prefix = randomBytes(8).toString('hex');
let counter = 0;

export function nextRequestId(): string {
  counter++;
  if (counter > 0xffffffff) {
    prefix = randomBytes(8).toString('hex');
    counter = 1;
  }
  const c = counter.toString(16);
  return prefix + '0000000000000000'.slice(c.length) + c;
}
