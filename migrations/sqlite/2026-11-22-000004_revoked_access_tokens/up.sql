-- Access tokens revoked before their expiry (RFC 7009), by `jti`, kept until they expire.
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
