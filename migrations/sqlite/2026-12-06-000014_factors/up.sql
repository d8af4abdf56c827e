-- Second factors: an authenticator app (TOTP: its secret sealed under the instance secret,
-- the last time step it was used at, so no code is taken twice) or a passkey (WebAuthn: its
-- credential). A factor is active once proved (a first code; a completed registration).
CREATE TABLE factors (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret TEXT,
    credential TEXT,
    last_step BIGINT,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX factors_user_id ON factors (user_id);

-- Single-use recovery codes, stored as SHA-256 hashes; a new set replaces the old one.
CREATE TABLE recovery_codes (
    code_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);

-- A client whose sign-ins need a second factor (`clients create --require-mfa`).
ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
