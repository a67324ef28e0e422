import { X509Certificate, createPrivateKey, createPublicKey, createHash } from 'node:crypto';
import * as t from '../typedefs.js';
import type { EntitySchema } from '../types.js';
import { validateWildcardHost } from './routes.js';

function parseCert(pem: string): X509Certificate | string {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    return `invalid certificate: ${(e as Error).message}`;
  }
}

const certField = (required: boolean) => ({
  type: 'string' as const,
  required,
  custom: (v: string) => {
    const c = parseCert(v);
    return typeof c === 'string' ? c : undefined;
  },
});
const keyField = (required: boolean) => ({
  type: 'string' as const,
  required,
  secret: true,
  custom: (v: string) => {
    try {
      createPrivateKey(v);
      return undefined;
    } catch (e) {
      return `invalid key: ${(e as Error).message}`;
    }
  },
});

function keyType(keyPem: string): string | undefined {
  try {
    return createPrivateKey(keyPem).asymmetricKeyType;
  } catch {
    return undefined;
  }
}

function matches(certPem: string, keyPem: string): boolean {
  try {
    const c = new X509Certificate(certPem);
    const pub = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    return c.publicKey.export({ type: 'spki', format: 'der' }).equals(pub);
  } catch {
    return false;
  }
}

export const certificates: EntitySchema = {
  name: 'certificates',
  primary_key: ['id'],
  fields: {
    id: t.id,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    cert: certField(true),
    key: keyField(true),
    cert_alt: certField(false),
    key_alt: keyField(false),
    tags: t.tags,
    snis: { type: 'array', transient: true, elements: { type: 'string', custom: validateWildcardHost } },
  },
  entity_checks: [
    { mutually_required: ['cert_alt', 'key_alt'] },
    {
      custom: (c) => {
        if (!matches(c.cert, c.key)) return 'certificate does not match key';
        if (c.cert_alt && c.key_alt) {
          if (!matches(c.cert_alt, c.key_alt)) return 'alternative certificate does not match key';
          if (keyType(c.key) === keyType(c.key_alt))
            return 'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type';
        }
        return undefined;
      },
      fields: ['cert', 'key', 'cert_alt', 'key_alt'],
    },
  ],
};

export const snis: EntitySchema = {
  name: 'snis',
  primary_key: ['id'],
  endpoint_key: 'name',
  no_foreign_endpoint: true,
  fields: {
    id: t.id,
    name: { type: 'string', required: true, unique: true, custom: validateWildcardHost },
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    tags: t.tags,
    certificate: { ...t.foreign('certificates'), required: true },
  },
};

export function certDigest(pem: string): string | undefined {
  const c = parseCert(pem);
  return typeof c === 'string' ? undefined : createHash('sha256').update(c.raw).digest('hex');
}

export const ca_certificates: EntitySchema = {
  name: 'ca_certificates',
  primary_key: ['id'],
  fields: {
    id: t.id,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    cert: {
      type: 'string',
      required: true,
      custom: (v: string) => {
        if ((v.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > 1) return 'please submit only one certificate at a time';
        const c = parseCert(v);
        if (typeof c === 'string') return c;
        if (!c.ca) return 'certificate does not appear to be a CA because it is missing the "CA" basic constraint';
        if (new Date(c.validTo).getTime() < Date.now()) return 'certificate expired, "Not After" time is in the past';
        return undefined;
      },
    },
    cert_digest: { type: 'string', unique: true },
    tags: t.tags,
  },
  transform: (row) => ({ ...row, cert_digest: certDigest(row.cert) ?? row.cert_digest ?? null }),
};
