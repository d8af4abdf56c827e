-- Outgoing email, recorded with the write that causes it and sent by a worker that retries
-- (every instance runs one; a row is claimed for a while before sending, so only one sends
-- it). A row is deleted once sent: its message holds a live link.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until TIMESTAMP,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
