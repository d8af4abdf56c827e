-- The signing keys, shared by every instance. The private key is a PKCS#8 DER sealed with
-- AES-256-GCM under a key derived from AUTHD_SECRET (nonce || ciphertext || tag, the kid as
-- associated data), so a copy of the database alone signs nothing.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    sealed_key BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

-- Facts every instance must agree on, recorded by the first one (the issuer).
CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- An email given up on (the relay refused it, or it could not go out for 24 h): kept, without
-- its message, so `authd mail list` shows it; purged after 30 days.
ALTER TABLE outbox ADD COLUMN failed_at TIMESTAMP;
