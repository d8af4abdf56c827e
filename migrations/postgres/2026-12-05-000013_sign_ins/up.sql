-- The authentication record: who signed in, when (auth_time), how (amr: RFC 8176 method
-- values, space-separated) and at what level (acr). A browser that holds the sign-in keeps its
-- cookie (stored here as a hash); every session (`sessions`) names the sign-in it came from.
-- `due` names the factors still to prove when the sign-in is not complete yet (a password
-- checked, a code due): such a sign-in opens nothing.
CREATE TABLE sign_ins (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT UNIQUE,
    auth_time TIMESTAMP NOT NULL,
    amr TEXT NOT NULL,
    acr TEXT NOT NULL,
    due TEXT,
    ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX sign_ins_user_id ON sign_ins (user_id);

-- The sign-ins of authd's own pages become records (with a password, the only way there was).
INSERT INTO sign_ins (id, user_id, token_hash, auth_time, amr, acr, created_at, expires_at)
SELECT gen_random_uuid()::text, user_id, token_hash, auth_time, 'pwd', 'aal1', auth_time, expires_at
FROM browser_sessions;
DROP TABLE browser_sessions;

-- Each earlier session gets a record of its own, under its own id.
ALTER TABLE sessions ADD COLUMN sign_in_id TEXT;
INSERT INTO sign_ins (id, user_id, auth_time, amr, acr, ip, user_agent, created_at, expires_at, ended_at)
SELECT s.id, s.user_id, COALESCE(s.auth_time, s.created_at),
       CASE WHEN u.is_anonymous THEN '' ELSE 'pwd' END,
       CASE WHEN u.is_anonymous THEN '0' ELSE 'aal1' END,
       s.ip, s.user_agent, s.created_at, s.expires_at, s.revoked_at
FROM sessions s JOIN users u ON u.id = s.user_id;
UPDATE sessions SET sign_in_id = id;
ALTER TABLE sessions ALTER COLUMN sign_in_id SET NOT NULL;
ALTER TABLE sessions DROP COLUMN auth_time;
CREATE INDEX sessions_sign_in_id ON sessions (sign_in_id);

-- A code names the sign-in it was granted under (codes live a minute: none is carried over).
DELETE FROM authorization_codes;
ALTER TABLE authorization_codes DROP COLUMN auth_time;
ALTER TABLE authorization_codes ADD COLUMN sign_in_id TEXT NOT NULL;

-- The browser a hosted sign-up was made in (a hash of its cookie): following the emailed link
-- in that same browser signs the person in, as the sign-up proved the password there.
ALTER TABLE pending_registrations ADD COLUMN browser_hash TEXT;
