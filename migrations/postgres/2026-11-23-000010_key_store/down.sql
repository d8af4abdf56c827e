ALTER TABLE outbox DROP COLUMN failed_at;
DROP TABLE instance_settings;
DROP TABLE signing_keys;
