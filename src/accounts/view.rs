//! What account flows answer with: the user object and the token response of the contract.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;

use crate::storage::UserRow;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "id": "0193a7c2-5b1e-7d3a-9f10-2c4e8b6a1d55",
    "email": "ada@example.com",
    "username": null,
    "full_name": "Ada Lovelace",
    "first_name": null,
    "last_name": null,
    "phone": "+442079460958",
    "role": "CUSTOMER",
    "is_email_verified": true,
    "is_active": true,
    "is_anonymous": false,
    "created_at": "2026-12-05T08:40:13Z",
    "last_login_at": "2026-12-05T09:02:51Z"
})))]
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
#[schema(examples(json!({
    "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "<refresh token>",
    "user": {"id": "0193a7c2-5b1e-7d3a-9f10-2c4e8b6a1d55", "email": "ada@example.com", "role": "CUSTOMER"}
})))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub user: UserView,
}
