//! Remembered consent: what a user allowed a third-party client, so that the consent page is
//! not shown again for the same scopes (and `prompt=none` can succeed), until withdrawn.

use serde::Serialize;

use super::AccountError;
use super::view::rfc3339;
use crate::state::AppState;
use crate::storage::consents;

/// Whether `user_id` has already allowed `client_id` every scope of `scope`.
pub async fn covers(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    scope: &str,
) -> Result<bool, AccountError> {
    let Some(allowed) = consents::find_consent(&state.db, user_id, client_id).await? else {
        return Ok(false);
    };
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    Ok(scope.split_whitespace().all(|s| allowed.contains(&s)))
}

/// Remembers that `user_id` allowed `client_id` `scope`, beside what it allowed before.
pub async fn remember(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    scope: &str,
) -> Result<(), AccountError> {
    let before = consents::find_consent(&state.db, user_id, client_id)
        .await?
        .unwrap_or_default();
    let mut all: Vec<&str> = before
        .split_whitespace()
        .chain(scope.split_whitespace())
        .collect();
    all.sort_unstable();
    all.dedup();
    let now = state.clock.now_naive();
    consents::save_consent(&state.db, user_id, client_id, &all.join(" "), now).await?;
    Ok(())
}

/// An application a user has allowed, as `/api/users/me/consents` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub granted_at: String,
}

pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<ConsentView>, AccountError> {
    Ok(consents::list_consents(&state.db, user_id)
        .await?
        .into_iter()
        .map(|(client_id, client_name, scope, granted_at)| ConsentView {
            client_id,
            client_name,
            scopes: scope.split_whitespace().map(str::to_owned).collect(),
            granted_at: rfc3339(granted_at),
        })
        .collect())
}

/// Withdraws a consent; the client's sessions for the user end with it.
pub async fn revoke(state: &AppState, user_id: &str, client_id: &str) -> Result<(), AccountError> {
    let now = state.clock.now_naive();
    if consents::revoke_consent(&state.db, user_id, client_id, now).await? {
        Ok(())
    } else {
        Err(AccountError::NotFound("Consent not found"))
    }
}
