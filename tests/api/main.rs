//! The one integration-test binary: the real router, real storage (SQLite and PostgreSQL)
//! and a real SMTP receiver.

mod harness;
mod smtp;
mod standard_clients;

mod abuse;
mod account;
mod admin;
mod anonymous;
mod audit;
mod authorize;
mod bad_input;
mod browser;
mod conformance;
mod discovery;
mod dpop;
mod factors;
mod faults;
mod hardening;
mod instances;
mod keys;
mod languages;
mod login;
mod oauth_token;
mod passkeys;
mod refresh;
mod register;
mod reliability;
mod resources;
mod seeds;
mod sign_in;
mod trust;
mod upstream;
mod upstream_liars;
