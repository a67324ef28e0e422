// jwt credentials may name their issuer's JWKS (`jwks_uri`) or carry a JWK/JWKS inline (`jwks`)
// instead of one PEM public key, so key rotation needs no admin action.
export const name = '003_jwt_jwks';

export const sql = `
ALTER TABLE "jwt_secrets" ADD COLUMN "jwks_uri" text;
ALTER TABLE "jwt_secrets" ADD COLUMN "jwks" jsonb;
`;
