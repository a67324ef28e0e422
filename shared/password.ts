// basic-auth password hashes. New passwords are stored as scrypt (node:crypto) in a PHC-like
// string `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (base64, no padding); Kong's own format,
// hex SHA1(password .. consumer_id), is accepted as stored so users migrated from Kong keep working.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const LN = 14;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const PREFIX = '$scrypt$';
const SCRYPT_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const KONG_SHA1_RE = /^[0-9a-f]{40}$/;

/** Whether `value` is already a stored hash (ours or Kong's), not a clear password. */
export function isPasswordHash(value: string): boolean {
  return KONG_SHA1_RE.test(value) || (value.startsWith(PREFIX) && SCRYPT_RE.test(value));
}

/**
 * scrypt hash of a clear password (synchronous: Admin API writes and declarative loads only). The
 * salt is derived from `saltSeed` (the credential id, unique per credential) when given, so that
 * the same declarative file always loads to the same config hash; random otherwise.
 */
export function hashPassword(password: string, saltSeed?: string): string {
  const salt = saltSeed === undefined ? randomBytes(16) : createHash('sha256').update(`silverback basic-auth salt\0${saltSeed}`).digest().subarray(0, 16);
  const key = scryptSync(password, salt, KEY_LEN, { N: 2 ** LN, r: R, p: P });
  return `${PREFIX}ln=${LN},r=${R},p=${P}$${salt.toString('base64').replace(/=+$/, '')}$${key.toString('base64').replace(/=+$/, '')}`;
}

function scryptAsync(password: string, salt: Buffer, len: number, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, len, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Whether `password` matches `stored` (a scrypt string, or Kong's SHA1 salted with `consumerId`).
 * Never throws: an unusable stored value matches nothing. scrypt runs off the event loop.
 */
export async function verifyPassword(password: string, stored: unknown, consumerId: string): Promise<boolean> {
  if (typeof stored !== 'string') return false;
  if (KONG_SHA1_RE.test(stored)) {
    const given = createHash('sha1').update(password + consumerId).digest();
    return timingSafeEqual(given, Buffer.from(stored, 'hex'));
  }
  const m = SCRYPT_RE.exec(stored);
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 1 || ln > 20 || r < 1 || p < 1 || r * p >= 64) return false;
  const expected = Buffer.from(m[5], 'base64');
  if (expected.length < 16) return false;
  try {
    const key = await scryptAsync(password, Buffer.from(m[4], 'base64'), expected.length, 2 ** ln, r, p);
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}
