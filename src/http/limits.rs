//! Rate limits on the routes that guess or cost: per client address, and per account for
//! logins. Counted in the database, so several instances enforce one limit.

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::accounts::ClientMeta;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::rate_limits;

/// Counts a request of `meta`'s client to `route`.
pub async fn per_client(
    state: &AppState,
    route: &'static str,
    meta: &ClientMeta,
) -> Result<(), ApiError> {
    let limit = state.config.rate_limit_per_minute;
    hit(
        state,
        route,
        meta.ip.as_deref().unwrap_or("unknown"),
        limit,
        Duration::minutes(1),
    )
    .await
}

/// Counts a login attempt on one account name, whoever makes it: the same per-minute budget,
/// spread over ten minutes.
pub async fn per_account(state: &AppState, identifier: &str) -> Result<(), ApiError> {
    let limit = state.config.rate_limit_per_minute;
    hit(
        state,
        "login-account",
        &identifier.trim().to_lowercase(),
        limit,
        Duration::minutes(10),
    )
    .await
}

async fn hit(
    state: &AppState,
    scope: &str,
    key: &str,
    limit: u32,
    window: Duration,
) -> Result<(), ApiError> {
    if limit == 0 {
        return Ok(());
    }
    // Keys are hashed: the table holds no addresses or account names.
    let digest = Sha256::digest(format!("{scope}\0{key}").as_bytes());
    let bucket: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    match rate_limits::hit(&state.db, &bucket, limit, window, state.clock.now_naive()).await? {
        None => Ok(()),
        Some(wait) => Err(ApiError::TooManyRequests {
            retry_after_secs: wait.num_seconds().max(1) as u64,
        }),
    }
}
