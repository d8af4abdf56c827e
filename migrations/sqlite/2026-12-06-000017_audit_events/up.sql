-- Audit events: what happened to an account or the server, by whom, from where. Written in the
-- transaction of the change they describe; no foreign keys, so an account's history outlives
-- the account (retention: AUTHD_AUDIT_RETENTION). Never a secret, token or hash.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_id TEXT,
    user_id TEXT,
    client_id TEXT,
    session_id TEXT,
    ip TEXT,
    user_agent TEXT,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_user ON audit_events (user_id, at, id);
CREATE INDEX audit_events_client ON audit_events (client_id, at, id);
CREATE INDEX audit_events_kind ON audit_events (kind, at, id);
