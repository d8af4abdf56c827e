ALTER TABLE sign_ins DROP COLUMN ceremony;
DROP INDEX factors_credential_id;
ALTER TABLE factors DROP COLUMN credential_id;
