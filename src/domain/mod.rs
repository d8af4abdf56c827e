//! Pure types and rules of authd: parsed, valid values and nothing else.
//! No axum, no diesel: everything here is testable in isolation.

mod audit;
mod authn;
mod email;
mod names;
mod password;
mod phone;
mod scopes;
mod signing_alg;
mod user;
mod username;

pub use audit::{Actor, AuditKind, device_in_words};
pub use authn::{Level, Method, Methods};
pub use email::EmailAddress;
pub use names::{FullName, PersonName};
pub use password::Password;
pub use phone::PhoneNumber;
pub use scopes::{USER_SCOPES, without_user_scopes};
pub use signing_alg::SigningAlg;
pub use user::{Role, UserId};
pub use username::Username;
