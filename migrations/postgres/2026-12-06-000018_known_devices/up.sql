-- The browsers and devices an account has signed in from (the hash of the browser's id
-- cookie, or of the device_id a frontend sends): a sign-in from one not seen before is told
-- to the account's address.
CREATE TABLE known_devices (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);
