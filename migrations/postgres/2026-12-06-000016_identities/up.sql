-- Identities at upstream providers ("Continue with ..."), linked to an account: the
-- provider's id from the configuration and its subject for the person, unique together.
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX identities_provider_subject ON identities (provider, subject);
CREATE INDEX identities_user_id ON identities (user_id);
