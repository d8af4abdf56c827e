//! Extractors: request bodies (JSON or form, size-limited, errors in the contract's shape),
//! the Bearer-authenticated user, and what a client tells about itself.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::accounts::{self, TokenUser};
use crate::domain::Role;
use crate::error::ApiError;
use crate::signin::ClientMeta;
use crate::state::AppState;
use crate::storage::UserRow;
use crate::tokens::AccessClaims;

/// Largest request body authd reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Reads a whole request body of at most `BODY_LIMIT` bytes. A body that has not arrived whole
/// within `AUTHD_BODY_READ_TIMEOUT` of the request's head is a 408 (see [`BodyDeadline`]), a
/// larger one a 413.
pub async fn read_body(body: axum::body::Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<BodyTooSlow>() {
                return ApiError::RequestTimeout;
            }
            cause = c.source();
        }
        ApiError::PayloadTooLarge
    })
}

/// The request body did not arrive whole by its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTooSlow;

/// A request body with one deadline for all of it, counted from the request's head: a client
/// sending a byte now and then cannot keep a request (and its connection) past it.
pub struct BodyDeadline {
    inner: axum::body::Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl BodyDeadline {
    pub fn new(inner: axum::body::Body, within: std::time::Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(within)),
        }
    }
}

impl http_body::Body for BodyDeadline {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTooSlow)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body in JSON or `application/x-www-form-urlencoded`. An empty body reads as `{}`.
pub struct Payload<T>(pub T);

enum Kind {
    Json,
    Form,
}

fn kind(headers: &HeaderMap) -> Option<Kind> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct.split(';').next()?.trim().to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Some(Kind::Json)
    } else if mime == "application/x-www-form-urlencoded" {
        Some(Kind::Form)
    } else {
        None
    }
}

/// Names the field a deserialization error is about, for the `errors` map.
fn field_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner().to_string();
    // serde's messages end with " at line 1 column 12"; the field name says more.
    let message = inner.split(" at line ").next().unwrap_or(&inner).to_owned();
    if path.is_empty() || path == "." || path == "?" {
        ApiError::BadRequest(format!("Invalid request body: {message}"))
    } else {
        ApiError::field(&path, message)
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Payload<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, ApiError> {
        let kind = kind(req.headers());
        let bytes = read_body(req.into_body()).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_str("{}")
                .map(Payload)
                .map_err(|_| ApiError::BadRequest("A request body is required".into()));
        }
        match kind {
            Some(Kind::Json) => {
                let mut de = serde_json::Deserializer::from_slice(&bytes);
                let value = serde_path_to_error::deserialize(&mut de).map_err(field_error)?;
                de.end().map_err(|_| {
                    ApiError::BadRequest(
                        "Invalid request body: trailing characters after the JSON value".into(),
                    )
                })?;
                Ok(Payload(value))
            }
            Some(Kind::Form) => {
                let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(&bytes));
                let value = serde_path_to_error::deserialize(de).map_err(field_error)?;
                Ok(Payload(value))
            }
            None => Err(ApiError::UnsupportedMediaType(
                "Content-Type must be application/json or application/x-www-form-urlencoded",
            )),
        }
    }
}

/// The user behind a valid Bearer access token whose session is still live.
pub struct AuthUser {
    pub user: UserRow,
    /// The live session the token belongs to.
    pub session_id: String,
    pub claims: AccessClaims,
}

/// What a user's access token is presented for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// authd's own account API (`/api/auth/*`, `/api/users/*`, `/api/admin/*`): only tokens of
    /// first-party clients, whatever their scope.
    AccountApi,
    /// `/oauth/userinfo` and similar: any client's user token, within its scope.
    AnyClient,
}

/// Reads `Authorization: Bearer ...`; `Ok(None)` when there is none.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Invalid token"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthorized("Invalid token")),
    }
}

/// The one `DPoP` header of a request (RFC 9449 section 4.1); `Err` when it is sent twice or
/// is not text.
pub fn dpop_proof(headers: &HeaderMap) -> Result<Option<&str>, String> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("send one DPoP header".into());
    }
    first
        .to_str()
        .map(|v| Some(v.trim()))
        .map_err(|_| "the DPoP header is not a JWT".into())
}

/// An access token as a request presents it: `Authorization: Bearer`, or `Authorization: DPoP`
/// with a proof in the `DPoP` header (RFC 9449 section 7.1), for the request `method path`.
pub struct Presented<'a> {
    pub token: &'a str,
    /// The scheme was `DPoP`: the proof, if one came.
    pub dpop: Option<Option<&'a str>>,
    pub method: &'a str,
    pub path: &'a str,
}

impl<'a> Presented<'a> {
    /// The request's token; `Ok(None)` when it has no `Authorization` header.
    pub fn read(parts: &'a Parts) -> Result<Option<Self>, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::Unauthorized("Invalid token"))?;
        let (scheme, token) = value
            .split_once(' ')
            .map(|(s, t)| (s, t.trim()))
            .filter(|(_, t)| !t.is_empty())
            .ok_or(ApiError::Unauthorized("Invalid token"))?;
        let dpop = if scheme.eq_ignore_ascii_case("bearer") {
            None
        } else if scheme.eq_ignore_ascii_case("dpop") {
            Some(
                dpop_proof(&parts.headers)
                    .map_err(|_| ApiError::Unauthorized("Invalid DPoP proof"))?,
            )
        } else {
            return Err(ApiError::Unauthorized("Invalid token"));
        };
        Ok(Some(Presented {
            token,
            dpop,
            method: parts.method.as_str(),
            path: parts.uri.path(),
        }))
    }
}

/// A DPoP-bound token (`cnf.jkt`) is good only with the `DPoP` scheme and a fresh proof by
/// that key, for this request and this token; an unbound one only as `Bearer`.
async fn check_binding(
    state: &AppState,
    claims: &AccessClaims,
    presented: &Presented<'_>,
) -> Result<(), ApiError> {
    let bound = claims.cnf.as_ref().map(|c| c.jkt.as_str());
    match (bound, presented.dpop) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(ApiError::Unauthorized(
            "This token is not bound to a DPoP key: send it as Bearer",
        )),
        (Some(_), None) => Err(ApiError::Unauthorized(
            "This token is bound to a DPoP key: send it as `Authorization: DPoP` with a proof",
        )),
        (Some(_), Some(None)) => Err(ApiError::Unauthorized("A DPoP proof is required")),
        (Some(jkt), Some(Some(proof))) => {
            let url = format!("{}{}", state.config.issuer, presented.path);
            let expected = crate::oauth::dpop::Expected {
                method: presented.method,
                url: &url,
                access_token: Some(presented.token),
                now: state.clock.now().timestamp(),
            };
            let key = crate::oauth::dpop::check(state, proof, &expected)
                .await
                .map_err(|e| match e {
                    crate::oauth::dpop::CheckError::Invalid(why) => {
                        tracing::debug!(%why, "DPoP proof refused");
                        ApiError::Unauthorized("Invalid DPoP proof")
                    }
                    crate::oauth::dpop::CheckError::UseNonce => ApiError::UseDpopNonce(
                        crate::oauth::dpop::nonce(state, state.clock.now().timestamp()),
                    ),
                    crate::oauth::dpop::CheckError::Storage(cause) => ApiError::Internal(cause),
                })?;
            if key.jkt != jkt {
                return Err(ApiError::Unauthorized(
                    "The DPoP proof is not by the key this token is bound to",
                ));
            }
            Ok(())
        }
    }
}

/// Checks an access token as authd's own endpoints do: signature, claims, its DPoP binding,
/// a live session of a still-registered client, and, for the account API, a first-party
/// client.
pub async fn authenticate(
    state: &AppState,
    presented: &Presented<'_>,
    usage: TokenUse,
) -> Result<AuthUser, ApiError> {
    let token = presented.token;
    let (user, session_id, claims, first_party) = match accounts::token_user(state, token).await? {
        TokenUser::Live {
            user,
            session_id,
            claims,
            first_party,
        } => (*user, session_id, *claims, first_party),
        TokenUser::Invalid => return Err(ApiError::Unauthorized("Invalid or expired token")),
        TokenUser::IdToken => {
            return Err(ApiError::Unauthorized(
                "This is an ID token: send the access_token of the same token response",
            ));
        }
        // A client's own token (no session) is no user's: authd's user endpoints refuse it.
        TokenUser::ClientToken => {
            return Err(ApiError::Unauthorized(
                "This token was issued to a client for itself (client_credentials): it names no \
                 user",
            ));
        }
        TokenUser::Ended => return Err(ApiError::Unauthorized("Session has ended")),
    };
    check_binding(state, &claims, presented).await?;
    if usage == TokenUse::AccountApi && !first_party {
        // A third-party application's token, however it was scoped, never manages the account.
        return Err(ApiError::Forbidden(
            "This token was issued to a third-party application; it cannot use the account API",
        ));
    }
    if !user.is_active {
        return Err(ApiError::Forbidden("Account disabled"));
    }
    Ok(AuthUser {
        user,
        session_id,
        claims,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    /// The account API's user: a first-party client's token. An account that
    /// `AUTHD_REQUIRE_MFA_FOR` covers, signed in without a second factor, may only read itself,
    /// set a factor up, and sign out.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented =
            Presented::read(parts)?.ok_or(ApiError::Unauthorized("Missing bearer token"))?;
        let auth = authenticate(state, &presented, TokenUse::AccountApi).await?;
        if state.config.require_mfa_for.covers(&auth.user.role)
            && !with_second_factor(&auth.claims)
            && !sets_up_a_factor(parts)
        {
            return Err(ApiError::Forbidden(
                "This account needs a second factor: set one up (POST /api/users/me/factors), \
                 then log in again",
            ));
        }
        Ok(auth)
    }
}

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Behind a proxy the peer is the proxy; the last X-Forwarded-For entry is the one the
        // (trusted) proxy appended.
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| {
                // The last entry of the last header line: what the proxy itself appended,
                // whatever the client sent before it.
                let header = parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .next_back()?;
                header
                    .to_str()
                    .ok()?
                    .rsplit(',')
                    .next()?
                    .trim()
                    .parse::<IpAddr>()
                    .ok()
            })
            .flatten();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        let ip = forwarded
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip())
            })
            .map(|ip| ip.to_string());
        let browser = super::cookies::read(state, &parts.headers, super::cookies::Cookie::Browser)
            .and_then(|v| crate::tokens::OpaqueToken::from_presented(&v))
            .map(|v| v.hash().as_str().to_owned());
        Ok(ClientMeta {
            device_id: None,
            browser,
            user_agent,
            ip,
            // Set by the token endpoint once the request's DPoP proof holds.
            dpop: None,
        })
    }
}

/// Whether the token's sign-in proved a second factor.
fn with_second_factor(claims: &AccessClaims) -> bool {
    claims.acr.as_deref() == Some(crate::domain::Level::Multi.as_str())
}

/// The routes an account that must set up a second factor may use before it has: reading
/// itself, its factors, and signing out.
fn sets_up_a_factor(parts: &Parts) -> bool {
    let path = parts.uri.path();
    path.starts_with("/api/users/me/factors")
        || path == "/api/auth/logout-all"
        || (parts.method == axum::http::Method::GET
            && matches!(
                path,
                "/api/users/me" | "/api/auth/me" | "/api/auth/user" | "/auth/me"
            ))
}

/// An authenticated user whose stored role is ADMIN (the token's claim alone is not trusted:
/// a demoted admin's tokens stop working for admin routes at once). An admin with a second
/// factor uses admin routes only from a sign-in that proved it.
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = AuthUser::from_request_parts(parts, state).await?;
        if auth.user.role != Role::Admin.as_str() {
            return Err(ApiError::Forbidden("Admin access required"));
        }
        if !with_second_factor(&auth.claims)
            && !crate::signin::active_factors(state, &auth.user.id)
                .await
                .map_err(crate::accounts::AccountError::from)?
                .is_empty()
        {
            return Err(ApiError::Forbidden(
                "Admin routes need a sign-in with your second factor: log in again",
            ));
        }
        Ok(AdminUser(auth))
    }
}

/// The `{id}` of a route, with a malformed one answered in the contract's shape.
pub struct IdPath(pub String);

impl FromRequestParts<AppState> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("Not found"))?;
        if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
            return Err(ApiError::NotFound("Not found"));
        }
        Ok(IdPath(id))
    }
}

/// The `token` of a query string (`?token=...`), as emailed links carry it.
pub(super) fn query_token(query: Option<String>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}
