-- Fixed-window request counters, shared by every instance.
CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL
);
