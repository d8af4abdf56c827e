ALTER TABLE sessions DROP COLUMN resource;
ALTER TABLE authorization_codes DROP COLUMN resource;
DROP TABLE resources;
