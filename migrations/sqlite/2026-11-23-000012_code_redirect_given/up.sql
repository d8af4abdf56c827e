-- Whether the authorization request named its redirect_uri: only then must the token request
-- repeat it (RFC 6749 section 4.1.3).
ALTER TABLE authorization_codes ADD COLUMN redirect_uri_given BOOLEAN NOT NULL DEFAULT TRUE;
