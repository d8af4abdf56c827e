-- How a client's ID and logout tokens are signed (`clients create --id-token-alg`):
-- RS256, ES256 or EdDSA; NULL: AUTHD_SIGNING_ALG.
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;
