ALTER TABLE clients DROP COLUMN require_dpop;
ALTER TABLE sessions DROP COLUMN dpop_jkt;
DROP TABLE dpop_proofs;
