DROP TABLE ended_sessions;
DROP INDEX sessions_logout_due;
ALTER TABLE sessions DROP COLUMN logout_next_at;
ALTER TABLE sessions DROP COLUMN logout_attempts;
ALTER TABLE sessions DROP COLUMN logout_notified_at;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
