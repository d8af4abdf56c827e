-- OAuth clients. Lists are space-separated (redirect URIs never contain spaces).
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    first_party BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- The built-in public client of authd's own account API.
INSERT INTO clients (id, name, client_type, secret_hash, redirect_uris, grant_types, scopes, first_party, created_at)
VALUES ('authd-web', 'authd web', 'public', NULL, '', 'password refresh_token',
        'openid profile email offline_access', TRUE, (now() AT TIME ZONE 'utc'));

-- Authorization codes: single use, short-lived, stored as hashes, bound to client, redirect
-- URI and PKCE challenge.
CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    code_challenge TEXT,
    nonce TEXT,
    auth_time TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    consumed_at TIMESTAMP
);
