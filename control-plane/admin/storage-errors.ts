// Values the schema accepts but PostgreSQL cannot store (NUL characters in text, integers beyond
// bigint, index rows over the size limit) are the client's fault: 400, not Kong's 500.
import { ERR, KongError } from '../../shared/errors.js';
import { DatabaseError } from '../store/db.js';

// 22xxx data exceptions (22P05 untranslatable character, 22003 out of range, 22021 bad byte
// sequence, 22P02 invalid text representation), 54000 program limit exceeded (index row size).
const CLIENT_CAUSED = /^(22|54)/;

export function storageError(err: unknown): { error: KongError; cause: string } | undefined {
  if (!(err instanceof DatabaseError)) return undefined;
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code !== 'string' || !CLIENT_CAUSED.test(cause.code)) return undefined;
  const msg = `value cannot be stored: ${String(cause.message ?? 'invalid value')}`;
  return { error: new KongError(ERR.SCHEMA_VIOLATION, `schema violation (${msg})`, { '@entity': [msg] }), cause: String(cause.message) };
}
