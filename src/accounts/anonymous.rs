//! Anonymous users: real users without email or password, who may register later and keep
//! their id.

use super::{AccountError, TokenResponse};
use crate::domain::{Role, UserId};
use crate::signin::{self, ClientMeta, Proof};
use crate::state::AppState;
use crate::storage::{UserRow, users};

pub async fn create_anonymous(
    state: &AppState,
    meta: ClientMeta,
) -> Result<TokenResponse, AccountError> {
    let now = state.clock.now_naive();
    let user = UserRow {
        id: UserId::new().to_string(),
        email: None,
        email_normalized: None,
        pending_email: None,
        username: None,
        full_name: None,
        first_name: None,
        last_name: None,
        phone: None,
        password_hash: None,
        role: Role::Customer.as_str().to_owned(),
        is_email_verified: false,
        is_active: true,
        is_anonymous: true,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    };
    users::insert_user(&state.db, &user, &[]).await?;
    let issued = signin::complete_in_session(
        state,
        Proof::anonymous(user, now),
        super::first_party_grant(),
        meta,
    )
    .await?;
    Ok(issued.into())
}
