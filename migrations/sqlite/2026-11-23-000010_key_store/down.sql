DROP TABLE instance_settings;
DROP TABLE signing_keys;
