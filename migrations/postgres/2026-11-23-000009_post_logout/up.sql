-- Where a client may send a person after RP-initiated logout (space-separated, exact).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
