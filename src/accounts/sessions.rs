//! Sessions: opening one at login, rotating its refresh token, ending it.

use anyhow::Context as _;
use chrono::Duration;

use super::view::{TokenResponse, UserView};
use super::{AccountError, FIRST_PARTY_CLIENT, FIRST_PARTY_SCOPE};
use crate::state::AppState;
use crate::storage::sessions::{self as store, RotateOutcome, RotationPolicy};
use crate::storage::{RefreshTokenRow, SessionRow, UserRow};
use crate::tokens::{AccessClaims, OpaqueToken, jwt};

/// What a client tells about itself at login.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

fn chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// Which client a session is for, and what it may do.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    pub client_id: String,
    pub scope: String,
    /// When the user proved their password for it, if not now (a code from an earlier sign-in).
    pub auth_time: Option<chrono::NaiveDateTime>,
}

impl SessionGrant {
    /// The built-in client of `/api/auth/*`.
    pub fn first_party() -> Self {
        Self {
            client_id: FIRST_PARTY_CLIENT.to_owned(),
            scope: FIRST_PARTY_SCOPE.to_owned(),
            auth_time: None,
        }
    }
}

/// What opening or refreshing a session produced: the same for `/api/auth/*` and
/// `/oauth/token`, which only shape the answer differently.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: OpaqueToken,
    pub user: UserRow,
    pub session: SessionRow,
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

/// Opens a session for `user` on the first-party client and answers with its tokens.
pub(super) async fn open_session(
    state: &AppState,
    user: &UserRow,
    meta: ClientMeta,
) -> Result<TokenResponse, AccountError> {
    Ok(
        open_session_for(state, user, meta, SessionGrant::first_party())
            .await?
            .into(),
    )
}

/// Opens a session (one login on one device) for `user` with a client, and signs its tokens.
pub async fn open_session_for(
    state: &AppState,
    user: &UserRow,
    meta: ClientMeta,
    grant: SessionGrant,
) -> Result<Issued, AccountError> {
    let now = state.clock.now_naive();
    let session = SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        client_id: grant.client_id,
        device_id: meta.device_id,
        user_agent: meta.user_agent,
        ip: meta.ip,
        scope: grant.scope,
        created_at: now,
        last_used_at: now,
        expires_at: now + chrono(state.config.session_max_age),
        revoked_at: None,
        auth_time: Some(grant.auth_time.unwrap_or(now)),
    };
    let token = OpaqueToken::generate();
    let refresh = RefreshTokenRow {
        token_hash: token.hash().as_str().to_owned(),
        session_id: session.id.clone(),
        created_at: now,
        expires_at: (now + chrono(state.config.refresh_token_ttl)).min(session.expires_at),
        retired_at: None,
        successor_sealed: None,
    };
    store::open_session(&state.db, &session, &refresh).await?;
    let mut user = user.clone();
    user.last_login_at = Some(now);
    issue(state, user, session, token)
}

/// Signs an access token for a session of `user`.
pub fn sign_access_token(
    state: &AppState,
    user: &UserRow,
    session: &SessionRow,
) -> Result<(String, u64), AccountError> {
    let now = state.clock.now().timestamp();
    let ttl = state.config.access_token_ttl.as_secs();
    let claims = AccessClaims {
        iss: state.config.issuer.clone(),
        sub: user.id.clone(),
        aud: state.audience().to_owned(),
        exp: now + ttl as i64,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: session.client_id.clone(),
        scope: session.scope.clone(),
        sid: Some(session.id.clone()),
        role: Some(user.role.clone()),
    };
    let token = jwt::sign_access_token(&state.keys, &claims).context("signing an access token")?;
    Ok((token, ttl))
}

fn issue(
    state: &AppState,
    user: UserRow,
    session: SessionRow,
    refresh: OpaqueToken,
) -> Result<Issued, AccountError> {
    let (access_token, expires_in) = sign_access_token(state, &user, &session)?;
    Ok(Issued {
        access_token,
        expires_in,
        refresh_token: refresh,
        user,
        session,
    })
}

/// Exchanges a first-party refresh token for new tokens.
pub async fn refresh(
    state: &AppState,
    presented: &str,
    device_id: Option<&str>,
) -> Result<TokenResponse, AccountError> {
    Ok(refresh_for(state, presented, device_id, FIRST_PARTY_CLIENT)
        .await?
        .into())
}

/// Exchanges a refresh token of `client_id`'s for new tokens (rotation with a reuse grace
/// window). A token of another client is refused like an unknown one.
pub async fn refresh_for(
    state: &AppState,
    presented: &str,
    device_id: Option<&str>,
    client_id: &str,
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
        client_id,
        device_id,
        state.clock.now_naive(),
        policy,
    )
    .await?;
    match outcome {
        RotateOutcome::Rotated {
            session,
            user,
            token,
        } => issue(state, *user, *session, token),
        RotateOutcome::Reused => {
            tracing::warn!("a retired refresh token was presented again; its session is ended");
            Err(AccountError::InvalidRefreshToken)
        }
        RotateOutcome::Disabled => Err(AccountError::AccountDisabled),
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
    if let Some(token) = refresh_token.and_then(OpaqueToken::from_presented) {
        store::revoke_session_by_refresh_token(&state.db, &token, now).await?;
    }
    if let Some(sid) = session_id {
        store::revoke_session(&state.db, sid, now).await?;
    }
    Ok(())
}

pub async fn logout_all(state: &AppState, user_id: &str) -> Result<usize, AccountError> {
    Ok(store::revoke_user_sessions(&state.db, user_id, None, state.clock.now_naive()).await?)
}
