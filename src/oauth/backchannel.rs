//! OpenID Connect Back-Channel Logout 1.0, the sending side: when a session ends, the client
//! it belongs to gets a signed logout token POSTed to its `backchannel_logout_uri`, so a
//! relying party with its own session (a CV frontend's backend, say) ends it too.
//!
//! Sent by a worker in every instance, never from the request that ended the session: a slow
//! or dead relying party holds no logout. Each notice is tried up to [`MAX_ATTEMPTS`] times
//! with back-off; the relying party must answer 2xx (section 2.8).

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::domain::SigningAlg;
use crate::state::AppState;
use crate::storage::logout_notices::{self, DueNotice};
use crate::tokens::jwt::{self, BACKCHANNEL_LOGOUT_EVENT, LogoutTokenClaims};

/// How long one POST may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries per notice before giving up (1 s, 2 s, 4 s, ... apart).
pub const MAX_ATTEMPTS: i32 = 6;
/// How long a logout token is valid: long enough to arrive, short enough not to replay.
const TOKEN_LIFETIME_SECS: i64 = 120;

/// The HTTP client notices go out through: no redirects followed (a logout URI is exact).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("authd back-channel logout")
        .build()
        .expect("an HTTP client with rustls")
}

/// Sends every due notice; returns how many were claimed.
pub async fn deliver_due(
    state: &AppState,
    http: &reqwest::Client,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<usize, crate::storage::StorageError> {
    let now = state.clock.now_naive();
    let lease = chrono::Duration::from_std(SEND_TIMEOUT * 3).expect("a short lease");
    let due = logout_notices::claim_due(&state.db, now, lease, 16).await?;
    let claimed = due.len();
    for notice in due {
        if *stop.borrow() {
            // Claimed but not sent: due again when the lease ends, on any instance.
            break;
        }
        let outcome = send(state, http, &notice).await;
        let now = state.clock.now_naive();
        match outcome {
            Ok(()) => logout_notices::settle(&state.db, &notice, now).await?,
            Err(e) if notice.attempts >= MAX_ATTEMPTS => {
                tracing::error!(client_id = %notice.client_id, error = %e, attempts = notice.attempts, "giving up on a back-channel logout");
                logout_notices::settle(&state.db, &notice, now).await?;
            }
            Err(e) => {
                tracing::warn!(client_id = %notice.client_id, error = %e, attempts = notice.attempts, "back-channel logout failed; will retry");
                let next: NaiveDateTime =
                    now + chrono::Duration::seconds(1 << (notice.attempts - 1).clamp(0, 10));
                logout_notices::retry_at(&state.db, &notice, next).await?;
            }
        }
    }
    Ok(claimed)
}

async fn send(state: &AppState, http: &reqwest::Client, notice: &DueNotice) -> anyhow::Result<()> {
    let iat = state.clock.now().timestamp();
    let claims = LogoutTokenClaims {
        iss: state.config.issuer.clone(),
        aud: notice.client_id.clone(),
        iat,
        exp: iat + TOKEN_LIFETIME_SECS,
        jti: uuid::Uuid::new_v4().to_string(),
        sub: notice.user_id.clone(),
        sid: notice.session_id.clone(),
        events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
    };
    let alg = notice.alg.as_deref().and_then(SigningAlg::parse);
    let token = jwt::sign_logout_token(&state.keys, &claims, alg)?;
    let response = http
        .post(&notice.uri)
        .header("cache-control", "no-store")
        .form(&[("logout_token", token)])
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST failed: {}", e.without_url()))?;
    if !response.status().is_success() {
        anyhow::bail!("the relying party answered {}", response.status());
    }
    Ok(())
}
