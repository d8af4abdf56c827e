//! The HTTP edge: router, extractors, middleware, handlers. Handlers parse, call a flow,
//! and render; they hold no queries and no rules of their own.

mod account_pages;
mod account_security;
mod accounts;
mod api_docs;
mod authorize;
pub mod connections;
pub mod cookies;
mod cors;
pub mod extract;
mod factors;
mod language;
mod logout;
pub mod metrics;
mod oauth;
pub mod openapi;
pub mod pages;
pub mod requests;
mod router;
mod routes;
mod upstream;
mod users;
mod wellknown;

pub use metrics::metrics_router;
pub use router::build_router;
