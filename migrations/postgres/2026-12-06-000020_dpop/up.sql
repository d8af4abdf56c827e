-- DPoP (RFC 9449): proofs seen (a hash of key and jti), kept until their iat window passed.
CREATE TABLE dpop_proofs (
    id TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
-- The key a public client's session's refresh tokens are bound to.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
-- A client whose token requests must carry a proof (`clients create --require-dpop`).
ALTER TABLE clients ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
