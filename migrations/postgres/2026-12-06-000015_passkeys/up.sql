-- Passkeys: a registered credential's id, unique across accounts (one credential, one
-- account), found by it when a passkey signs in without a name typed first.
ALTER TABLE factors ADD COLUMN credential_id TEXT;
CREATE UNIQUE INDEX factors_credential_id ON factors (credential_id);

-- A sign-in waiting for its second step keeps the passkey ceremony it offered (WebAuthn's
-- challenge and options), so any instance can check the assertion; gone with the step.
ALTER TABLE sign_ins ADD COLUMN ceremony TEXT;
