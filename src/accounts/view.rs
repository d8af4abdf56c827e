//! What account flows answer with: the user object and the token response of the contract.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;

use crate::storage::UserRow;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub role: String,
    pub is_email_verified: bool,
    pub is_active: bool,
    pub is_anonymous: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    /// A new address waiting for its confirmation link to be followed (present only then):
    /// `email` stays the old one until it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
    /// Said by a profile update that left something waiting (an email change to confirm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            username: u.username.clone(),
            full_name: u.full_name.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            phone: u.phone.clone(),
            role: u.role.clone(),
            is_email_verified: u.is_email_verified,
            is_active: u.is_active,
            is_anonymous: u.is_anonymous,
            created_at: rfc3339(u.created_at),
            last_login_at: u.last_login_at.map(rfc3339),
            pending_email: u.pending_email.clone(),
            message: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub user: UserView,
}
