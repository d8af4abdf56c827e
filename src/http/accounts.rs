//! Handlers of the account API (`/api/auth/...`, mirrored under `/auth/...`, and `/api/users/me`).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::extract::{AuthUser, Payload, Presented, TokenUse, authenticate, bearer};
use super::requests::{
    AnonymousRequest, EmailRequest, LoginInput, LoginRequest, LogoutRequest, RefreshInput,
    RefreshRequest, RegisterRequest, ResetPasswordInput, ResetPasswordRequest, TokenRequest,
};
use crate::accounts::limits;
use crate::accounts::{self, NewRegistration, RegisterOutcome, UserView};
use crate::domain::UserId;
use crate::error::ApiError;
use crate::signin::ClientMeta;
use crate::state::AppState;
use crate::t;
use crate::tokens::jwt::{self, Expiry};

pub async fn register(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    Payload(body): Payload<RegisterRequest>,
) -> Result<Response, ApiError> {
    limits::per_client(&state, "register", &meta).await?;
    let mut reg = NewRegistration::try_from(body)?;
    // An anonymous user registering keeps its id, but only with proof that it is that user:
    // its Bearer token. An id alone (ids travel as `sub` to other services) could claim
    // someone else's anonymous data.
    let anonymous = match bearer(&headers)? {
        Some(token) => {
            let presented = Presented {
                token,
                dpop: None,
                method: "POST",
                path: "/api/auth/register",
            };
            Some(authenticate(&state, &presented, TokenUse::AccountApi).await?)
                .filter(|a| a.user.is_anonymous)
        }
        None => None,
    };
    match (&anonymous, reg.anonymous_id) {
        (Some(auth), Some(claimed)) if auth.user.id != claimed.to_string() => {
            return Err(ApiError::field(
                "anonymous_id",
                "Does not match the access token",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::Unauthorized(
                "The anonymous user's access token is required",
            ));
        }
        _ => {}
    }
    reg.anonymous_id = anonymous.and_then(|a| a.user.id.parse::<UserId>().ok());
    match accounts::register(&state, reg, meta, None).await? {
        RegisterOutcome::Pending {
            registration_id,
            email,
        } => Ok((
            StatusCode::CREATED,
            Json(json!({
                "message": format!("Registration successful. Verification email sent to {email}"),
                "user_id": registration_id,
                "userId": registration_id,
            })),
        )
            .into_response()),
        RegisterOutcome::SignedIn(tokens) => {
            Ok((StatusCode::CREATED, Json(tokens)).into_response())
        }
        RegisterOutcome::SignedInBrowser(_) => Err(ApiError::Internal(anyhow::anyhow!(
            "the account API signed a browser in"
        ))),
    }
}

const VERIFIED: &str = "Email verified successfully. You can now log in.";

use super::pages::wants_html;

const CHOOSE_PASSWORD: &str = "Email verified. This address was signed up for more than once, \
    so no password was kept: we have sent it a link to choose one.";

/// The answer to a followed link, in JSON.
fn verified_json(verified: &accounts::Verified) -> Json<serde_json::Value> {
    if verified.password_required {
        Json(json!({"message": CHOOSE_PASSWORD, "password_required": true}))
    } else {
        Json(json!({"message": VERIFIED}))
    }
}

/// `GET /api/auth/verify?token=T`: the link in the email. A JSON client's GET verifies (the
/// contract's flow); a browser is shown a page whose button does it
/// (`account_pages::verify_form`), so that a mail scanner opening the link completes nothing.
pub async fn verify_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let continue_to = url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "continue")
        .map(|(_, v)| v.into_owned());
    let token = super::extract::query_token(query);
    if wants_html(&headers) && token.is_none() {
        // A link cut short by a mail program: a page, not the API's 400.
        return Ok(super::pages::message(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("verify-incomplete-title"),
            [t!("verify-incomplete-body")],
            Some(super::pages::Link {
                href: "/account/sign-in".into(),
                text: t!("sign-in"),
            }),
        ));
    }
    let token = token.ok_or_else(|| ApiError::field("token", "Token is required"))?;
    if wants_html(&headers) {
        return Ok(super::account_pages::verify_page(
            &state,
            &headers,
            &token,
            continue_to.as_deref(),
            None,
        ));
    }
    let verified = accounts::verify_email(&state, &token).await?;
    Ok(verified_json(&verified).into_response())
}

/// `POST /api/auth/verify-email` with `{"token"}`.
pub async fn verify_post(
    State(state): State<AppState>,
    Payload(body): Payload<TokenRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let verified = accounts::verify_email(&state, body.token()?).await?;
    Ok(verified_json(&verified))
}

const EMAIL_CHANGE_STOPPED: &str = "The email change was stopped and every device was signed \
    out. If you did not ask for it, choose a new password now with \"Forgot password\".";

/// `POST /api/auth/cancel-email-change` with `{"token"}`.
pub async fn cancel_email_change(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(body): Payload<TokenRequest>,
) -> Result<Response, ApiError> {
    let outcome = accounts::cancel_email_change(&state, body.token()?).await;
    if wants_html(&headers) {
        // The form on the page behind the link: answer with a page too.
        return Ok(match outcome {
            Ok(_) => super::pages::message(
                &state,
                &headers,
                StatusCode::OK,
                t!("cancel-email-done-title"),
                [t!("cancel-email-done-body")],
                Some(super::pages::Link {
                    href: "/account/forgot-password".into(),
                    text: t!("account-new-password-link"),
                }),
            ),
            Err(_) => super::pages::message(
                &state,
                &headers,
                StatusCode::BAD_REQUEST,
                t!("account-link-dead-title"),
                [t!("cancel-email-dead-body"), t!("cancel-email-dead-next")],
                Some(super::pages::Link {
                    href: "/account/forgot-password".into(),
                    text: t!("account-new-password-link"),
                }),
            ),
        });
    }
    outcome?;
    Ok(Json(json!({"message": EMAIL_CHANGE_STOPPED})).into_response())
}

pub async fn resend_verification(
    State(state): State<AppState>,
    meta: ClientMeta,
    Payload(body): Payload<EmailRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    limits::per_client(&state, "resend-verification", &meta).await?;
    accounts::resend_verification(&state, &body.email()?, None).await?;
    Ok(Json(json!({
        "message": "If a registration is waiting for this address, a new verification email has been sent"
    })))
}

/// The tokens, or (an account with a second factor) the challenge of the second step.
pub async fn login(
    State(state): State<AppState>,
    mut meta: ClientMeta,
    Payload(body): Payload<LoginRequest>,
) -> Result<Response, ApiError> {
    limits::per_client(&state, "login", &meta).await?;
    let input = LoginInput::try_from(body)?;
    meta.device_id = input.device_id;
    Ok(
        match accounts::login(&state, input.identifier, &input.password, meta).await? {
            accounts::LoginOutcome::SignedIn(tokens) => Json(tokens).into_response(),
            accounts::LoginOutcome::SecondStep(challenge) => Json(challenge).into_response(),
        },
    )
}

pub async fn refresh(
    State(state): State<AppState>,
    Payload(body): Payload<RefreshRequest>,
) -> Result<Json<accounts::TokenResponse>, ApiError> {
    let input = RefreshInput::try_from(body)?;
    Ok(Json(
        accounts::refresh(&state, &input.refresh_token, input.device_id.as_deref()).await?,
    ))
}

/// Ends the session named by a refresh token or by a Bearer access token. Answers 200 when
/// already logged out, and also for an expired access token: its session still gets ended.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(body): Payload<LogoutRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let sid = match bearer(&headers) {
        Ok(Some(token)) => jwt::verify_access_token(
            &state.keys,
            token,
            &state.config.issuer,
            Some(state.audience()),
            state.clock.now(),
            Expiry::Ignore,
        )
        .ok()
        .and_then(|c| c.sid),
        _ => None,
    };
    if body.refresh_token.is_none() && sid.is_none() {
        return Err(ApiError::field(
            "refresh_token",
            "A refresh token or a Bearer access token is required",
        ));
    }
    accounts::logout(&state, body.refresh_token.as_deref(), sid.as_deref()).await?;
    Ok(Json(json!({"message": "Logged out successfully"})))
}

pub async fn logout_all(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts::logout_all(&state, &auth.user.id).await?;
    Ok(Json(json!({"message": "All sessions revoked"})))
}

pub async fn me(auth: AuthUser) -> Json<UserView> {
    Json(UserView::from(&auth.user))
}

/// `GET /api/auth/user`: the same user, wrapped as `{"user": ...}`.
pub async fn me_wrapped(auth: AuthUser) -> Json<serde_json::Value> {
    Json(json!({"user": UserView::from(&auth.user)}))
}

pub async fn forgot_password(
    State(state): State<AppState>,
    meta: ClientMeta,
    Payload(body): Payload<EmailRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    limits::per_client(&state, "forgot-password", &meta).await?;
    accounts::forgot_password(&state, &body.email()?, None).await?;
    Ok(Json(
        json!({"message": "If your email is registered, you will receive a password reset link"}),
    ))
}

pub async fn reset_password(
    State(state): State<AppState>,
    meta: ClientMeta,
    Payload(body): Payload<ResetPasswordRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    limits::per_client(&state, "reset-password", &meta).await?;
    let input = ResetPasswordInput::try_from(body)?;
    accounts::reset_password(&state, &input.token, &input.new_password).await?;
    Ok(Json(json!({"message": "Password reset successful"})))
}

pub async fn create_anonymous(
    State(state): State<AppState>,
    mut meta: ClientMeta,
    Payload(body): Payload<AnonymousRequest>,
) -> Result<Response, ApiError> {
    limits::per_client(&state, "anonymous", &meta).await?;
    meta.device_id = body.device_id()?;
    let tokens = accounts::create_anonymous(&state, meta).await?;
    Ok((StatusCode::CREATED, Json(tokens)).into_response())
}
