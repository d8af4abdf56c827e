//! Sessions of the account API and the token endpoint: rotating a refresh token, ending one
//! session or all of a user's. Sessions are opened by `signin` only.

use chrono::Duration;

use super::view::{TokenResponse, UserView};
use super::{AccountError, FIRST_PARTY_CLIENT};
use crate::domain::AuditKind;
use crate::signin::{self, DpopBinding, Issued, SignIn};
use crate::state::AppState;
use crate::storage::UserRow;
use crate::storage::audit::AuditEventRow;
use crate::storage::sessions::{self as store, Presenter, RotateOutcome, RotationPolicy};
use crate::tokens::jwt::{self, Expiry};
use crate::tokens::{AccessClaims, OpaqueToken};

fn chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

impl From<Issued> for TokenResponse {
    fn from(issued: Issued) -> Self {
        TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.expose().to_owned(),
            user: UserView::from(&issued.user),
        }
    }
}

/// Exchanges a first-party refresh token for new tokens.
pub async fn refresh(
    state: &AppState,
    presented: &str,
    device_id: Option<&str>,
) -> Result<TokenResponse, AccountError> {
    Ok(
        refresh_for(state, presented, device_id, FIRST_PARTY_CLIENT, None)
            .await?
            .into(),
    )
}

/// Exchanges a refresh token of `client_id`'s for new tokens (rotation with a reuse grace
/// window). A token of another client is refused like an unknown one; one bound to a DPoP key
/// needs `dpop` to name that key. The new access token is bound to `dpop`'s key, if any.
pub async fn refresh_for(
    state: &AppState,
    presented: &str,
    device_id: Option<&str>,
    client_id: &str,
    dpop: Option<&DpopBinding>,
) -> Result<Issued, AccountError> {
    let presented =
        OpaqueToken::from_presented(presented).ok_or(AccountError::InvalidRefreshToken)?;
    let policy = RotationPolicy {
        refresh_ttl: chrono(state.config.refresh_token_ttl),
        reuse_grace: chrono(state.config.refresh_reuse_grace),
    };
    let outcome = store::rotate_refresh_token(
        &state.db,
        &presented,
        OpaqueToken::generate(),
        Presenter {
            client_id,
            device_id,
            dpop_jkt: dpop.map(|d| d.jkt.as_str()),
        },
        state.clock.now_naive(),
        policy,
    )
    .await?;
    match outcome {
        RotateOutcome::Rotated {
            session,
            user,
            sign_in,
            token,
        } => Ok(signin::issue(
            state,
            *user,
            *session,
            SignIn::from(&*sign_in),
            token,
            dpop.map(|d| d.jkt.as_str()),
        )?),
        RotateOutcome::Reused { user } => {
            tracing::warn!("a retired refresh token was presented again; its session is ended");
            crate::signin::factors::notice(
                state,
                &user,
                crate::t!("email-device-signed-out-subject"),
                crate::t!("email-device-signed-out-intro"),
            )
            .await?;
            Err(AccountError::InvalidRefreshToken)
        }
        RotateOutcome::Disabled => Err(AccountError::AccountDisabled),
        RotateOutcome::KeyMismatch => Err(AccountError::DpopKeyMismatch),
        RotateOutcome::Invalid | RotateOutcome::DeviceMismatch => {
            Err(AccountError::InvalidRefreshToken)
        }
    }
}

/// Ends the session of a refresh token, or the given session. Unknown tokens are fine:
/// logging out twice is not an error.
pub async fn logout(
    state: &AppState,
    refresh_token: Option<&str>,
    session_id: Option<&str>,
) -> Result<(), AccountError> {
    let now = state.clock.now_naive();
    let ended = AuditEventRow::new(AuditKind::SessionEnded, now)
        .detail(serde_json::json!({"reason": "logout"}));
    if let Some(token) = refresh_token.and_then(OpaqueToken::from_presented) {
        store::revoke_session_by_refresh_token(&state.db, &token, now, &ended).await?;
    }
    if let Some(sid) = session_id {
        store::revoke_session(&state.db, sid, now, Some(&ended)).await?;
    }
    Ok(())
}

pub async fn logout_all(state: &AppState, user_id: &str) -> Result<usize, AccountError> {
    let now = state.clock.now_naive();
    let ended = AuditEventRow::new(AuditKind::SessionEnded, now)
        .user(user_id)
        .detail(serde_json::json!({"reason": "logout_all"}));
    Ok(store::revoke_user_sessions(&state.db, user_id, None, now, Some(&ended)).await?)
}

/// What an access token presented to authd's own endpoints stands for.
pub enum TokenUser {
    /// A live session's user: signature and claims hold, the session is live, its client still
    /// registered, the token not revoked.
    Live {
        user: Box<UserRow>,
        session_id: String,
        claims: Box<AccessClaims>,
        /// Whether the session's client is first-party.
        first_party: bool,
    },
    /// Not authd's, or expired.
    Invalid,
    /// One of authd's ID tokens, presented where its access token belongs.
    IdToken,
    /// A client's own token (`client_credentials`): it has no session and names no user.
    ClientToken,
    /// Its session ended, or its user, client or the token itself is gone.
    Ended,
}

/// Checks an access token as authd's own endpoints do.
pub async fn token_user(state: &AppState, token: &str) -> Result<TokenUser, AccountError> {
    let now = state.clock.now();
    let Ok(claims) = jwt::verify_access_token(
        &state.keys,
        token,
        &state.config.issuer,
        Some(state.audience()),
        now,
        Expiry::Enforce,
    ) else {
        // A mix-up worth naming: the ID token from the same response.
        let id_token = jwt::verify_id_token_hint(&state.keys, token, &state.config.issuer, now);
        return Ok(if id_token.is_ok() {
            TokenUser::IdToken
        } else {
            TokenUser::Invalid
        });
    };
    let Some(session_id) = claims.sid.clone() else {
        return Ok(TokenUser::ClientToken);
    };
    let found = store::find_token_user(
        &state.db,
        &session_id,
        &claims.sub,
        &claims.jti,
        now.naive_utc(),
    )
    .await?;
    Ok(match found {
        Some((user, first_party)) => TokenUser::Live {
            user: Box::new(user),
            session_id,
            claims: Box::new(claims),
            first_party,
        },
        None => TokenUser::Ended,
    })
}
