ALTER TABLE one_time_tokens DROP COLUMN payload;
ALTER TABLE pending_registrations DROP COLUMN contested;
ALTER TABLE authorization_codes DROP COLUMN session_id;
DROP INDEX sessions_client_id;
ALTER TABLE sessions DROP COLUMN auth_time;
ALTER TABLE clients DROP COLUMN can_introspect;
