//! Rate limits on the routes that guess or cost, per client address. Counted in the database,
//! so several instances enforce one limit. Password guesses per account are limited where the
//! password is checked (`signin::guard`).

use chrono::Duration;

use super::AccountError;
use crate::domain::{Actor, AuditKind};
use crate::signin::ClientMeta;
use crate::state::AppState;
use crate::storage::audit::AuditEventRow;
use crate::storage::rate_limits;

/// Counts a request of `meta`'s client to `route`.
pub async fn per_client(
    state: &AppState,
    route: &'static str,
    meta: &ClientMeta,
) -> Result<(), AccountError> {
    let limit = state.config.rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let key = meta
        .ip
        .as_deref()
        .map_or_else(|| "unknown".to_owned(), rate_limits::client_key);
    let bucket = rate_limits::bucket(route, &key);
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    let now = state.clock.now_naive();
    let refused = AuditEventRow::new(AuditKind::RateLimited, now)
        .by(Actor::System, None)
        .from(meta.ip.as_deref(), meta.user_agent.as_deref())
        .failed()
        .detail(serde_json::json!({ "limit": route, "per": "client_address" }));
    let window = Duration::minutes(1);
    match rate_limits::hit(&state.db, &bucket, limit, window, now, &refused).await? {
        None => Ok(()),
        Some(wait) => Err(AccountError::TooManyAttempts {
            retry_after_secs: wait.num_seconds().max(1) as u64,
        }),
    }
}
