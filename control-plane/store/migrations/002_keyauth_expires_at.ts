// key-auth credentials created with a `ttl` keep their expiry (epoch seconds) so that data planes
// refuse an expired key (Kong enforces the ttl; before this it was only echoed).
export const name = '002_keyauth_expires_at';

export const sql = `
ALTER TABLE "keyauth_credentials" ADD COLUMN "expires_at" bigint;
`;
