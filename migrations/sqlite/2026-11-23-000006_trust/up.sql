-- Trust boundaries (see README "Security model").

-- A resource server may introspect other clients' tokens (RFC 7662 section 4); others only
-- their own.
ALTER TABLE clients ADD COLUMN can_introspect BOOLEAN NOT NULL DEFAULT 0;

-- When the user behind a session last proved their password (login, or the sign-in behind
-- an authorization code); sensitive changes without the password need a recent one.
ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMP;
CREATE INDEX sessions_client_id ON sessions (client_id);

-- The session a redeemed code opened, so that replaying the code ends it (RFC 6749 4.1.2).
ALTER TABLE authorization_codes ADD COLUMN session_id TEXT;

-- A pending registration that replaced another for the same address: whoever verifies it
-- gets an account without a password, and chooses one through the link.
ALTER TABLE pending_registrations ADD COLUMN contested BOOLEAN NOT NULL DEFAULT 0;

-- What a single-use token carries besides its subject (the old address, for the link that
-- undoes an email change).
ALTER TABLE one_time_tokens ADD COLUMN payload TEXT;
