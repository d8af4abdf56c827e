-- Resource servers (RFC 8707): an access token asked for with `resource=IDENTIFIER` is for that
-- server alone (`aud`), with its scopes only.
CREATE TABLE resources (
    identifier TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- The resource an authorization code, and the session it opens, are for.
ALTER TABLE authorization_codes ADD COLUMN resource TEXT;
ALTER TABLE sessions ADD COLUMN resource TEXT;
