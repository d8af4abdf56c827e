//! Row structs, one per table, as diesel reads and writes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
    pub email_normalized: Option<String>,
    pub pending_email: Option<String>,
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub role: String,
    pub is_email_verified: bool,
    pub is_active: bool,
    pub is_anonymous: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pending_registrations, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PendingRegistrationRow {
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub password_hash: String,
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub anonymous_user_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// Another registration for the same address came before this one (see `accounts::register`).
    pub contested: bool,
    /// The browser the sign-up was made in, as a hash of its cookie (hosted sign-up only).
    pub browser_hash: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OneTimeTokenRow {
    pub token_hash: String,
    pub purpose: String,
    pub subject: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub consumed_at: Option<NaiveDateTime>,
    pub payload: Option<String>,
}

/// An identity at an upstream provider, linked to an account.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = identities, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct IdentityRow {
    pub id: String,
    pub user_id: String,
    /// The provider's id in the configuration (`AUTHD_UPSTREAM_PROVIDERS`).
    pub provider: String,
    /// The provider's `sub` (or GitHub's numeric user id).
    pub subject: String,
    /// The email the provider asserted at the last sign-in, and whether it said verified.
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// The sign-in the session came from (`sign_ins`): when, how and at what level.
    pub sign_in_id: String,
    /// The DPoP key (RFC 7638 thumbprint) the session's refresh tokens are bound to: a public
    /// client that proved one when the session opened must prove it again to refresh.
    pub dpop_jkt: Option<String>,
    /// The resource server (RFC 8707) the session's access tokens are for (`aud`); `None`:
    /// authd itself.
    pub resource: Option<String>,
}

/// The authentication record (see `signin`): who signed in, when, how and at what level.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_ins, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SignInRow {
    pub id: String,
    pub user_id: String,
    /// The hash of the cookie of the browser that holds the sign-in; `None` for a sign-in
    /// through the API (its session holds it) and once the browser signed out.
    pub token_hash: Option<String>,
    pub auth_time: NaiveDateTime,
    /// RFC 8176 method values, space-separated (`pwd`, later `otp`, `hwk`, `fed`).
    pub amr: String,
    pub acr: String,
    /// The factors still to prove; a sign-in with any due opens nothing.
    pub due: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    /// The passkey ceremony a sign-in waiting for its second step offered (webauthn-rs's
    /// state, JSON).
    pub ceremony: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    pub successor_sealed: Option<String>,
}

/// A partial update of a user: `None` leaves a column alone; for nullable columns
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub username: Option<String>,
    pub full_name: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub pending_email: Option<Option<String>>,
    pub password_hash: Option<Option<String>>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub client_type: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub first_party: bool,
    pub created_at: NaiveDateTime,
    pub can_introspect: bool,
    /// Space-separated, matched exactly.
    pub post_logout_redirect_uris: String,
    /// Where a logout token is POSTed when one of the client's sessions ends.
    pub backchannel_logout_uri: Option<String>,
    /// Its sign-ins need a second factor.
    pub require_mfa: bool,
    /// `RS256`, `ES256` or `EdDSA`; `None`: `AUTHD_SIGNING_ALG`.
    pub id_token_signed_response_alg: Option<String>,
    /// Its token requests must carry a DPoP proof (`dpop_bound_access_tokens`).
    pub require_dpop: bool,
}

/// A second factor (see `signin::factors`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = factors, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct FactorRow {
    pub id: String,
    pub user_id: String,
    /// `totp` or `passkey`.
    pub kind: String,
    pub name: String,
    /// A TOTP secret, sealed under the instance secret.
    pub secret: Option<String>,
    /// A passkey's credential, or its registration in progress.
    pub credential: Option<String>,
    /// The last TOTP time step a code was taken for.
    pub last_step: Option<i64>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    /// A passkey's credential id (base64url), unique across accounts.
    pub credential_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuthorizationCodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: NaiveDateTime,
    pub consumed_at: Option<NaiveDateTime>,
    /// The session its redemption opened.
    pub session_id: Option<String>,
    /// Whether the authorization request named `redirect_uri` (then the token request must).
    pub redirect_uri_given: bool,
    /// The sign-in the code was granted under.
    pub sign_in_id: String,
    /// The resource server (RFC 8707) the code's tokens are for.
    pub resource: Option<String>,
}

/// A resource server (RFC 8707, see `oauth::resource`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = resources, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ResourceRow {
    /// What its tokens' `aud` is, and what a request names as `resource`.
    pub identifier: String,
    pub name: String,
    /// Space-separated: the scopes a token for it may carry.
    pub scopes: String,
    pub created_at: NaiveDateTime,
}

/// An email waiting to be sent (see `storage::outbox`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OutboxRow {
    pub id: String,
    pub recipient: String,
    /// The message (`mail::Email` as JSON), sealed under the instance secret.
    pub message: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    /// Given up on: the message is erased, the row kept for `authd mail list`.
    pub failed_at: Option<NaiveDateTime>,
}
