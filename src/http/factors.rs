//! Handlers of a login's second step (`/api/auth/mfa/verify`) and of the signed-in user's
//! second factors (`/api/users/me/factors`), and the admin's reset.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::extract::{AdminUser, AuthUser, IdPath, Payload};
use super::requests::{CodeRequest, MfaVerifyRequest, NewFactorRequest, PasskeyLoginRequest};
use crate::accounts::factors::{self, FactorsView};
use crate::accounts::{self, limits};
use crate::error::ApiError;
use crate::signin::ClientMeta;
use crate::state::AppState;

/// `POST /api/auth/mfa/verify`.
pub async fn verify_second_step(
    State(state): State<AppState>,
    mut meta: ClientMeta,
    Payload(body): Payload<MfaVerifyRequest>,
) -> Result<Json<accounts::TokenResponse>, ApiError> {
    limits::per_client(&state, "login", &meta).await?;
    let (challenge, answer) = body.parts()?;
    meta.device_id = body.device_id.clone().filter(|d| !d.is_empty());
    Ok(Json(
        accounts::verify_second_step(&state, challenge, answer, meta).await?,
    ))
}

/// `POST /api/auth/passkey/options`: a sign-in with a passkey, no name typed.
pub async fn passkey_options(
    State(state): State<AppState>,
    meta: ClientMeta,
) -> Result<Json<accounts::PasskeySignIn>, ApiError> {
    limits::per_client(&state, "login", &meta).await?;
    Ok(Json(accounts::passkey_options(&state)?))
}

/// `POST /api/auth/passkey/login`: the passkey's answer; the login's tokens.
pub async fn passkey_login(
    State(state): State<AppState>,
    mut meta: ClientMeta,
    Payload(body): Payload<PasskeyLoginRequest>,
) -> Result<Json<accounts::TokenResponse>, ApiError> {
    limits::per_client(&state, "login", &meta).await?;
    let (sealed, credential) = body.parts()?;
    meta.device_id = body.device_id.clone().filter(|d| !d.is_empty());
    Ok(Json(
        accounts::passkey_login(&state, sealed, credential, meta).await?,
    ))
}

/// `GET /api/users/me/factors`.
pub async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<FactorsView>, ApiError> {
    Ok(Json(factors::list(&state, &auth.user).await?))
}

/// `POST /api/users/me/factors`: an authenticator app, pending until its first code.
pub async fn enrol(
    State(state): State<AppState>,
    auth: AuthUser,
    Payload(body): Payload<NewFactorRequest>,
) -> Result<Response, ApiError> {
    match body.kind.as_deref() {
        Some("totp") => {
            let enrolment = factors::enrol_totp(&state, &auth.user, body.name.as_deref()).await?;
            Ok((StatusCode::CREATED, Json(enrolment)).into_response())
        }
        Some("passkey") => {
            let enrolment =
                factors::enrol_passkey(&state, &auth.user, body.name.as_deref()).await?;
            Ok((StatusCode::CREATED, Json(enrolment)).into_response())
        }
        Some(_) => Err(ApiError::field("type", "Must be totp or passkey")),
        None => Err(ApiError::field("type", "Type is required")),
    }
}

/// `POST /api/users/me/factors/{id}/verify`: the first code (or a passkey's registration)
/// confirms a pending factor.
pub async fn confirm(
    State(state): State<AppState>,
    auth: AuthUser,
    IdPath(id): IdPath,
    Payload(body): Payload<CodeRequest>,
) -> Result<Json<factors::Confirmed>, ApiError> {
    if let Some(credential) = &body.credential {
        return Ok(Json(
            factors::confirm_passkey(&state, &auth.user, &id, credential).await?,
        ));
    }
    let code = body
        .code
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::field("code", "Code is required"))?;
    Ok(Json(factors::confirm(&state, &auth.user, &id, code).await?))
}

/// `PATCH /api/users/me/factors/{id}`: a new name.
pub async fn rename(
    State(state): State<AppState>,
    auth: AuthUser,
    IdPath(id): IdPath,
    Payload(body): Payload<CodeRequest>,
) -> Result<Json<Value>, ApiError> {
    let name = body
        .name
        .as_deref()
        .ok_or_else(|| ApiError::field("name", "Name is required"))?;
    factors::rename(&state, &auth.user, &id, name).await?;
    Ok(Json(json!({"message": "Renamed"})))
}

/// `DELETE /api/users/me/factors/{id}`, with `{"code"}` unless a second factor was proved in
/// the last 5 minutes.
pub async fn remove(
    State(state): State<AppState>,
    auth: AuthUser,
    meta: ClientMeta,
    IdPath(id): IdPath,
    Payload(body): Payload<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    factors::remove(
        &state,
        &auth.user,
        factors::Asker::Session(&auth.session_id),
        &id,
        body.code.as_deref(),
        meta.ip.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/users/me/factors/recovery-codes`: a new set, the old one void.
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    auth: AuthUser,
    meta: ClientMeta,
    Payload(body): Payload<CodeRequest>,
) -> Result<Json<Value>, ApiError> {
    let codes = factors::regenerate_recovery_codes(
        &state,
        &auth.user,
        factors::Asker::Session(&auth.session_id),
        body.code.as_deref(),
        meta.ip.as_deref(),
    )
    .await?;
    Ok(Json(json!({"recovery_codes": codes})))
}

/// `DELETE /api/admin/users/{id}/factors`: every factor and recovery code of the account gone,
/// its sessions ended.
pub async fn admin_reset(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    let user = accounts::find_user(&state, &id).await?;
    let removed = factors::reset(&state, &admin.user, &user).await?;
    Ok(Json(
        json!({"message": "Second factors reset; every session ended", "removed": removed}),
    ))
}
