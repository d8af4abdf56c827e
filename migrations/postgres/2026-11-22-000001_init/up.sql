-- Ids are UUID text and times are UTC `TIMESTAMP` in both dialects, so one diesel schema
-- serves PostgreSQL and SQLite alike.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT,
    email_normalized TEXT UNIQUE,
    pending_email TEXT,
    username TEXT UNIQUE,
    full_name TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT UNIQUE,
    password_hash TEXT,
    role TEXT NOT NULL DEFAULT 'CUSTOMER',
    is_email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);

-- A sign-up waiting for its email to be verified. No user exists until then.
CREATE TABLE pending_registrations (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    username TEXT,
    full_name TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    anonymous_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Single-use tokens sent by email (verification, password reset), stored as SHA-256 hashes.
-- `subject` is the pending registration or user the token acts on.
CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    consumed_at TIMESTAMP
);
CREATE INDEX one_time_tokens_subject ON one_time_tokens (subject, purpose);

-- One login on one device.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    device_id TEXT,
    user_agent TEXT,
    ip TEXT,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Opaque refresh tokens, stored as SHA-256 hashes. A retired token keeps its successor sealed
-- under a key derived from the retired token itself, so only its holder can open it.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    successor_sealed TEXT
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
