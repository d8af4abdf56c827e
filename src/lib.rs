//! authd: a small OAuth 2.0 / OpenID Connect authorization server.

pub mod accounts;
pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod i18n;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod passwords;
pub mod sealing;
pub mod signin;
pub mod state;
pub mod storage;
pub mod tokens;

pub use app::Application;
pub use config::Config;
