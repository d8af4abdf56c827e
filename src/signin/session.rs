//! Sessions under a sign-in: the one function that opens them, and the tokens a session's
//! holder gets.

use anyhow::Context as _;
use chrono::Duration;

use super::{SignIn, SignInError};
use crate::domain::without_user_scopes;
use crate::i18n::Text;
use crate::state::AppState;
use crate::storage::sign_ins::{self, Record};
use crate::storage::{RefreshTokenRow, SessionRow, UserRow};
use crate::t;
use crate::tokens::jwt::Confirmation;
use crate::tokens::{AccessClaims, OpaqueToken, jwt};

/// What a client tells about itself at login.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub device_id: Option<String>,
    /// What recognises the browser (the hash of its id cookie) on authd's pages; a sign-in
    /// from a browser or device the account has not used before is told to its address.
    pub browser: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The DPoP key the token request proved (`oauth::dpop`): what its access tokens are bound
    /// to, and, when `bind_refresh` (a public client), its refresh tokens.
    pub dpop: Option<DpopBinding>,
}

/// A key a token request proved possession of (DPoP).
#[derive(Debug, Clone, Default)]
pub struct DpopBinding {
    /// Its RFC 7638 thumbprint: the access tokens' `cnf.jkt`.
    pub jkt: String,
    /// Bind the session's refresh tokens to it too (a public client's: RFC 9449 section 5).
    pub bind_refresh: bool,
}

pub(crate) fn chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// Which client a session is for, and what it may do.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    pub client_id: String,
    pub scope: String,
    /// The resource server (RFC 8707) its access tokens are for; `None`: authd itself.
    pub resource: Option<String>,
}

/// What opening or refreshing a session produced: the same for `/api/auth/*` and
/// `/oauth/token`, which only shape the answer differently.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: OpaqueToken,
    pub user: UserRow,
    pub session: SessionRow,
    /// The sign-in the session came from (for `auth_time`, `amr` and `acr`).
    pub sign_in: SignIn,
}

/// The one writer of sessions: writes the sign-in `record` when there is one (remembering
/// `device`, and telling the account's address when it is new to the account), and opens a
/// session of `user` under `sign_in` when `session` asks for one, in one transaction. `None`
/// when no session was asked for.
pub(super) async fn open(
    state: &AppState,
    record: Option<Record<'_>>,
    sign_in: &SignIn,
    user: &UserRow,
    session: Option<(SessionGrant, ClientMeta)>,
    device: Option<&ClientMeta>,
) -> Result<Option<Issued>, SignInError> {
    let key = device.and_then(device_key);
    let Some((grant, meta)) = session else {
        if sign_ins::open(&state.db, record, None, key.as_deref()).await? {
            tell_new_device(state, user, device).await?;
        }
        return Ok(None);
    };
    let bound = meta.dpop.as_ref().map(|d| d.jkt.clone());
    let (session, refresh, token) = rows(state, user, sign_in, grant, meta);
    let recorded = record.is_some();
    if sign_ins::open(
        &state.db,
        record,
        Some((&session, &refresh)),
        key.as_deref(),
    )
    .await?
    {
        tell_new_device(state, user, device).await?;
    }
    let mut user = user.clone();
    if recorded {
        user.last_login_at = Some(session.created_at);
    }
    Ok(Some(issue(
        state,
        user,
        session,
        sign_in.clone(),
        token,
        bound.as_deref(),
    )?))
}

/// What recognises the device of `meta`: the browser's id on authd's pages, or the device id
/// a frontend sends (hashed either way); `None` when there is neither.
pub(super) fn device_key(meta: &ClientMeta) -> Option<String> {
    meta.browser.clone().or_else(|| {
        let id = meta.device_id.as_deref()?;
        Some(
            OpaqueToken::from_presented(&format!("device:{id}"))?
                .hash()
                .as_str()
                .to_owned(),
        )
    })
}

/// Tells `user`'s address that a browser or device new to the account signed in to it.
pub(super) async fn tell_new_device(
    state: &AppState,
    user: &UserRow,
    meta: Option<&ClientMeta>,
) -> Result<(), SignInError> {
    let lang = crate::i18n::current(state.config.default_locale);
    let device = meta
        .and_then(|m| m.user_agent.as_deref())
        .and_then(crate::domain::device_in_words)
        .unwrap_or_else(|| t!("email-new-sign-in-unknown-device").in_(lang));
    let at = state.clock.now().format("%Y-%m-%d %H:%M UTC").to_string();
    let what = match meta.and_then(|m| m.ip.as_deref()) {
        Some(ip) => Text::new(t!("email-new-sign-in-intro-ip")).arg("ip", ip),
        None => Text::new(t!("email-new-sign-in-intro")),
    };
    super::factors::notice(
        state,
        user,
        t!("email-new-sign-in-subject"),
        what.arg("device", device).arg("at", at),
    )
    .await
}

/// A new session of `user` under `sign_in` and its first refresh token, as rows to write.
pub(super) fn rows(
    state: &AppState,
    user: &UserRow,
    sign_in: &SignIn,
    grant: SessionGrant,
    meta: ClientMeta,
) -> (SessionRow, RefreshTokenRow, OpaqueToken) {
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
        sign_in_id: sign_in.id.clone(),
        dpop_jkt: meta.dpop.filter(|d| d.bind_refresh).map(|d| d.jkt),
        resource: grant.resource,
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
    (session, refresh, token)
}

/// Signs an access token for a session of `user`, opened under `sign_in`; bound to the DPoP
/// key `bound` (its thumbprint) when the request proved one.
pub fn sign_access_token(
    state: &AppState,
    user: &UserRow,
    session: &SessionRow,
    sign_in: &SignIn,
    bound: Option<&str>,
) -> Result<(String, u64), SignInError> {
    let now = state.clock.now().timestamp();
    let ttl = state.config.access_token_ttl.as_secs();
    // For a resource server: its identifier as the audience, its scopes only (RFC 8707).
    let (aud, scope) = match &session.resource {
        Some(resource) => (resource.clone(), without_user_scopes(&session.scope)),
        None => (state.audience().to_owned(), session.scope.clone()),
    };
    let claims = AccessClaims {
        iss: state.config.issuer.clone(),
        sub: user.id.clone(),
        aud,
        exp: now + ttl as i64,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: session.client_id.clone(),
        scope,
        sid: Some(session.id.clone()),
        role: Some(user.role.clone()),
        auth_time: Some(sign_in.auth_time_secs()),
        acr: Some(sign_in.level.as_str().to_owned()),
        amr: (!sign_in.methods.is_empty()).then(|| {
            sign_in
                .methods
                .values()
                .into_iter()
                .map(str::to_owned)
                .collect()
        }),
        cnf: bound.map(Confirmation::key),
    };
    let token = jwt::sign_access_token(&state.keys, &claims).context("signing an access token")?;
    Ok((token, ttl))
}

/// A session's tokens: a fresh access token beside `refresh`, bound to the DPoP key `bound`
/// when the request proved one.
pub fn issue(
    state: &AppState,
    user: UserRow,
    session: SessionRow,
    sign_in: SignIn,
    refresh: OpaqueToken,
    bound: Option<&str>,
) -> Result<Issued, SignInError> {
    let (access_token, expires_in) = sign_access_token(state, &user, &session, &sign_in, bound)?;
    Ok(Issued {
        access_token,
        expires_in,
        refresh_token: refresh,
        user,
        session,
        sign_in,
    })
}
