//! Handlers of `/api/users/me/...` (the signed-in user's own account) and `/api/admin/users`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::extract::{AdminUser, AuthUser, IdPath, Payload};
use super::requests::{
    AdminUserRequest, AuditQuery, ChangePasswordInput, ChangePasswordRequest, DeleteAccountRequest,
    ProfileRequest, UserListQuery,
};
use crate::accounts::{self, AdminUserChanges, ProfileUpdate, SessionView, UserView};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn update_me(
    State(state): State<AppState>,
    auth: AuthUser,
    Payload(body): Payload<ProfileRequest>,
) -> Result<Json<UserView>, ApiError> {
    let update = ProfileUpdate::try_from(body)?;
    let asked_new_email = update.email.is_some();
    let user = accounts::update_profile(&state, &auth.user, &auth.session_id, update).await?;
    let mut view = UserView::from(&user);
    if let Some(pending) = view.pending_email.as_ref().filter(|_| asked_new_email) {
        view.message = Some(format!(
            "We sent a confirmation link to {pending}; your email changes when it is followed"
        ));
    }
    Ok(Json(view))
}

pub async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    Payload(body): Payload<ChangePasswordRequest>,
) -> Result<Json<Value>, ApiError> {
    let input = ChangePasswordInput::try_from(body)?;
    accounts::change_password(
        &state,
        &auth.user,
        &auth.session_id,
        Some(&input.current_password),
        &input.new_password,
        input.code.as_deref(),
    )
    .await?;
    Ok(Json(json!({"message": "Password changed successfully"})))
}

pub async fn delete_me(
    State(state): State<AppState>,
    auth: AuthUser,
    Payload(body): Payload<DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::delete_account(
        &state,
        &auth.user,
        &auth.session_id,
        body.password.as_deref(),
        body.code.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_my_sessions(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    Ok(Json(
        accounts::list_sessions(&state, &auth.user.id, &auth.session_id).await?,
    ))
}

pub async fn end_my_session(
    State(state): State<AppState>,
    auth: AuthUser,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    accounts::end_session(&state, &auth.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/users/me/consents`: the applications the user has allowed.
pub async fn list_my_consents(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Vec<accounts::consent::ConsentView>>, ApiError> {
    Ok(Json(accounts::consent::list(&state, &auth.user.id).await?))
}

/// `DELETE /api/users/me/consents/{id}`: withdraws an application's access (its sessions end).
pub async fn revoke_my_consent(
    State(state): State<AppState>,
    auth: AuthUser,
    IdPath(client_id): IdPath,
) -> Result<StatusCode, ApiError> {
    accounts::consent::revoke(&state, &auth.user.id, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn admin_list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = UserListQuery::parse(query.as_deref())?;
    let page = accounts::list_users(&state, query.q.as_deref(), query.page, query.per_page).await?;
    Ok(Json(
        json!({"users": page.users, "page": page.page, "per_page": page.per_page, "total": page.total}),
    ))
}

pub async fn admin_get_user(
    State(state): State<AppState>,
    _admin: AdminUser,
    IdPath(id): IdPath,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::from(
        &accounts::find_user(&state, &id).await?,
    )))
}

pub async fn admin_update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    IdPath(id): IdPath,
    Payload(body): Payload<AdminUserRequest>,
) -> Result<Json<UserView>, ApiError> {
    let changes = AdminUserChanges::try_from(body)?;
    let user = accounts::update_user(&state, &admin.user, &id, changes).await?;
    Ok(Json(UserView::from(&user)))
}

pub async fn admin_delete_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    accounts::delete_user(&state, &admin.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn admin_revoke_sessions(
    State(state): State<AppState>,
    admin: AdminUser,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    accounts::revoke_sessions(&state, &admin.0.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/admin/audit`: the audit trail, filtered, newest first.
pub async fn admin_audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    RawQuery(query): RawQuery,
) -> Result<Json<accounts::audit::AuditPage>, ApiError> {
    let query = AuditQuery::parse(query.as_deref())?;
    Ok(Json(
        accounts::audit::list(&state, &query.filter, query.limit).await?,
    ))
}

/// `GET /api/users/me/activity`: the person's own sign-ins and security changes.
pub async fn my_activity(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Vec<accounts::audit::ActivityView>>, ApiError> {
    Ok(Json(
        accounts::audit::activity(&state, &auth.user, crate::i18n::Lang::En).await?,
    ))
}
