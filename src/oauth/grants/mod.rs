//! One file per grant type, each holding its whole flow: parse, client checks, oxide-auth's
//! state machine (over the primitives in `oauth::oxide`) or authd's own logic, issue, answer.
//! Nothing here knows HTTP; the wire types are `oauth::wire`.

pub mod asked;
pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;
