DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE one_time_tokens;
DROP TABLE pending_registrations;
DROP TABLE users;
