DROP TABLE authorization_codes;
DROP TABLE clients;
