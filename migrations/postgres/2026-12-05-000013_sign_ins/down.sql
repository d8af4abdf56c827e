ALTER TABLE pending_registrations DROP COLUMN browser_hash;
DELETE FROM authorization_codes;
ALTER TABLE authorization_codes DROP COLUMN sign_in_id;
ALTER TABLE authorization_codes ADD COLUMN auth_time TIMESTAMP NOT NULL;
ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMP;
UPDATE sessions SET auth_time = (SELECT auth_time FROM sign_ins WHERE sign_ins.id = sessions.sign_in_id);
DROP INDEX sessions_sign_in_id;
ALTER TABLE sessions DROP COLUMN sign_in_id;
CREATE TABLE browser_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id);
INSERT INTO browser_sessions (token_hash, user_id, auth_time, expires_at)
SELECT token_hash, user_id, auth_time, expires_at FROM sign_ins
WHERE token_hash IS NOT NULL AND ended_at IS NULL AND due IS NULL;
DROP TABLE sign_ins;
