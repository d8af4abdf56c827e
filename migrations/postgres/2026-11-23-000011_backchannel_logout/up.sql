-- OpenID Connect Back-Channel Logout 1.0: where a client wants a logout token POSTed when a
-- session of its ends, and, per ended session, whether that was done (a sender in every
-- instance claims due notices; see oauth::backchannel).
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE sessions ADD COLUMN logout_notified_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN logout_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN logout_next_at TIMESTAMP;
-- Sessions ended before this are not announced.
UPDATE sessions SET logout_notified_at = revoked_at WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_logout_due ON sessions (revoked_at)
    WHERE revoked_at IS NOT NULL AND logout_notified_at IS NULL;

-- Sessions of a deleted user, whose rows went with the user, still owed a logout token.
CREATE TABLE ended_sessions (
    session_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    ended_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TIMESTAMP
);
