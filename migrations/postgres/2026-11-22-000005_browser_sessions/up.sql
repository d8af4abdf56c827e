-- A sign-in on authd's own login page, kept in an HttpOnly cookie (stored here as a hash), so
-- that later authorization requests from the same browser need no new login.
CREATE TABLE browser_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id);
