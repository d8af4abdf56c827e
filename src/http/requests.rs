//! Wire types of the account API, and their conversion into domain values at the edge.
//! snake_case names, with the camelCase spellings of the seed frontends as aliases.

use serde::Deserialize;

use crate::accounts::{AdminUserChanges, NewRegistration, ProfileUpdate, SecondAnswer};
use crate::domain::{
    EmailAddress, FullName, Password, PersonName, PhoneNumber, Role, UserId, Username,
};
use crate::error::{ApiError, FieldErrors};
use crate::signin::LoginIdentifier;

/// `email` and `password` are required; the rest is optional. camelCase spellings
/// (`confirmPassword`, `fullName`, `phoneNumber`...) are accepted too.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "email": "ada@example.com",
    "password": "correct horse 42",
    "confirm_password": "correct horse 42",
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0958"
})))]
pub struct RegisterRequest {
    #[schema(required = true, max_length = 254, format = "email")]
    pub email: Option<String>,
    /// 8 to 128 characters with a letter and a digit, not the email address.
    #[schema(required = true, min_length = 8, max_length = 128)]
    pub password: Option<String>,
    #[serde(alias = "confirmPassword", alias = "password_confirmation")]
    pub confirm_password: Option<String>,
    #[serde(alias = "fullName", alias = "name")]
    #[schema(max_length = 100)]
    pub full_name: Option<String>,
    #[serde(alias = "firstName")]
    #[schema(max_length = 50)]
    pub first_name: Option<String>,
    #[serde(alias = "lastName")]
    #[schema(max_length = 50)]
    pub last_name: Option<String>,
    /// 3 to 32 of a-z, 0-9, `.`, `_` and `-`.
    #[schema(min_length = 3, max_length = 32)]
    pub username: Option<String>,
    /// International form: `+` (or `00`) and the country code; stored as E.164.
    #[serde(alias = "phone_number", alias = "phoneNumber")]
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    /// An anonymous user (from `POST /api/auth/anonymous`) to turn into this account.
    #[serde(alias = "anonymousId")]
    pub anonymous_id: Option<String>,
}

/// Collects one message per bad field.
#[derive(Default)]
struct Check(FieldErrors);

impl Check {
    fn take<T, E: ToString>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        r.map_err(|e| {
            self.0
                .entry(field.to_owned())
                .or_insert_with(|| e.to_string());
        })
        .ok()
    }
    fn fail(&mut self, field: &str, message: &str) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.to_owned());
    }
    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

fn required<'a>(c: &mut Check, field: &str, v: &'a Option<String>, what: &str) -> Option<&'a str> {
    match v.as_deref() {
        Some(s) if !s.trim().is_empty() => Some(s),
        _ => {
            c.fail(field, &format!("{what} is required"));
            None
        }
    }
}

/// Parses an optional free-text field: absent or blank is `None`.
fn optional<T, E: ToString>(
    c: &mut Check,
    field: &str,
    v: &Option<String>,
    parse: impl FnOnce(&str) -> Result<Option<T>, E>,
) -> Option<T> {
    match v.as_deref() {
        Some(s) if !s.trim().is_empty() => c.take(field, parse(s)).flatten(),
        _ => None,
    }
}

impl TryFrom<RegisterRequest> for NewRegistration {
    type Error = ApiError;

    fn try_from(r: RegisterRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let email = required(&mut c, "email", &r.email, "Email")
            .and_then(|e| c.take("email", EmailAddress::parse(e)));
        let password = required(&mut c, "password", &r.password, "Password")
            .and_then(|p| c.take("password", Password::parse(p, r.email.as_deref())));
        if let (Some(p), Some(confirm)) = (&r.password, &r.confirm_password)
            && p != confirm
        {
            c.fail("confirm_password", "Passwords do not match");
        }
        let full_name = optional(&mut c, "full_name", &r.full_name, FullName::parse);
        let first_name = optional(&mut c, "first_name", &r.first_name, |s| {
            PersonName::parse(s, "First name")
        });
        let last_name = optional(&mut c, "last_name", &r.last_name, |s| {
            PersonName::parse(s, "Last name")
        });
        let username = optional(&mut c, "username", &r.username, |s| {
            Username::parse(s).map(Some)
        });
        let phone = optional(&mut c, "phone", &r.phone, |s| {
            PhoneNumber::parse(s).map(Some)
        });
        let anonymous_id = optional(&mut c, "anonymous_id", &r.anonymous_id, |s| {
            s.trim()
                .parse::<UserId>()
                .map(Some)
                .map_err(|_| "Invalid anonymous id")
        });
        c.finish(|| NewRegistration {
            email: email.expect("checked"),
            password: password.expect("checked"),
            username,
            full_name,
            first_name,
            last_name,
            phone,
            anonymous_id,
            continue_to: None,
        })
    }
}

/// One of `identifier`, `email`, `phone` or `username`, and the password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "email": "ada@example.com",
    "password": "correct horse 42",
    "device_id": "laptop-3f2a"
})))]
pub struct LoginRequest {
    pub identifier: Option<String>,
    pub email: Option<String>,
    #[serde(alias = "phone_number", alias = "phoneNumber")]
    pub phone: Option<String>,
    pub username: Option<String>,
    #[schema(required = true)]
    pub password: Option<String>,
    /// Names the device: its refresh token works only with the same `device_id`.
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}

pub struct LoginInput {
    pub identifier: Option<LoginIdentifier>,
    pub password: String,
    pub device_id: Option<String>,
}

impl TryFrom<LoginRequest> for LoginInput {
    type Error = ApiError;

    fn try_from(r: LoginRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let raw = [&r.identifier, &r.email, &r.phone, &r.username]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty());
        if raw.is_none() {
            c.fail("email", "Email, phone or username is required");
        }
        let password = required(&mut c, "password", &r.password, "Password").map(str::to_owned);
        let device_id = device_id(&mut c, r.device_id);
        c.finish(|| LoginInput {
            // An identifier of no possible account still costs a hash comparison in the flow.
            identifier: raw.and_then(|s| LoginIdentifier::parse(s)),
            password: password.expect("checked"),
            device_id,
        })
    }
}

fn device_id(c: &mut Check, raw: Option<String>) -> Option<String> {
    let id = raw.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())?;
    if id.chars().count() > 128 || id.chars().any(char::is_control) {
        c.fail(
            "device_id",
            "Device id must be at most 128 printable characters",
        );
        return None;
    }
    Some(id)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"refresh_token": "<refresh token>", "device_id": "laptop-3f2a"})))]
pub struct RefreshRequest {
    #[serde(alias = "token", alias = "refreshToken")]
    #[schema(required = true)]
    pub refresh_token: Option<String>,
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}

pub struct RefreshInput {
    pub refresh_token: String,
    pub device_id: Option<String>,
}

impl TryFrom<RefreshRequest> for RefreshInput {
    type Error = ApiError;

    fn try_from(r: RefreshRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let token =
            required(&mut c, "refresh_token", &r.refresh_token, "Refresh token").map(str::to_owned);
        let device_id = device_id(&mut c, r.device_id);
        c.finish(|| RefreshInput {
            refresh_token: token.expect("checked"),
            device_id,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LogoutRequest {
    #[serde(alias = "token", alias = "refreshToken")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"token": "<token from the email>"})))]
pub struct TokenRequest {
    #[schema(required = true)]
    pub token: Option<String>,
}

impl TokenRequest {
    pub fn token(&self) -> Result<&str, ApiError> {
        let mut c = Check::default();
        let t = required(&mut c, "token", &self.token, "Token");
        c.finish(|| t.expect("checked"))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "ada@example.com"})))]
pub struct EmailRequest {
    #[schema(required = true, max_length = 254, format = "email")]
    pub email: Option<String>,
}

impl EmailRequest {
    pub fn email(&self) -> Result<EmailAddress, ApiError> {
        let mut c = Check::default();
        let e = required(&mut c, "email", &self.email, "Email")
            .and_then(|e| c.take("email", EmailAddress::parse(e)));
        c.finish(|| e.expect("checked"))
    }
}

/// Reads a field that may be absent (leave alone), `null` or blank (clear), or a value.
fn clearable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(Some(v.filter(|s| !s.trim().is_empty())))
}

/// Parses a clearable field: `None` stays `None` (leave alone), a cleared one `Some(None)`.
fn clear_or<T, E: ToString>(
    c: &mut Check,
    field: &str,
    v: &Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<Option<T>, E>,
) -> Option<Option<T>> {
    v.as_ref().map(|inner| {
        inner
            .as_deref()
            .and_then(|s| c.take(field, parse(s)).flatten())
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "token": "<token from the email>",
    "new_password": "a new passphrase 7",
    "confirm_password": "a new passphrase 7"
})))]
pub struct ResetPasswordRequest {
    #[schema(required = true)]
    pub token: Option<String>,
    #[serde(alias = "password", alias = "newPassword")]
    #[schema(required = true, min_length = 8, max_length = 128)]
    pub new_password: Option<String>,
    #[serde(alias = "confirmPassword", alias = "confirm_new_password")]
    pub confirm_password: Option<String>,
}

pub struct ResetPasswordInput {
    pub token: String,
    pub new_password: String,
}

impl TryFrom<ResetPasswordRequest> for ResetPasswordInput {
    type Error = ApiError;

    fn try_from(r: ResetPasswordRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let token = required(&mut c, "token", &r.token, "Token").map(str::to_owned);
        let password =
            required(&mut c, "new_password", &r.new_password, "New password").map(str::to_owned);
        if let (Some(p), Some(confirm)) = (&r.new_password, &r.confirm_password)
            && p != confirm
        {
            c.fail("confirm_password", "Passwords do not match");
        }
        c.finish(|| ResetPasswordInput {
            token: token.expect("checked"),
            new_password: password.expect("checked"),
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "current_password": "correct horse 42",
    "new_password": "a new passphrase 7",
    "confirm_password": "a new passphrase 7"
})))]
pub struct ChangePasswordRequest {
    #[serde(
        alias = "currentPassword",
        alias = "old_password",
        alias = "oldPassword"
    )]
    #[schema(required = true)]
    pub current_password: Option<String>,
    #[serde(alias = "newPassword", alias = "password")]
    #[schema(required = true, min_length = 8, max_length = 128)]
    pub new_password: Option<String>,
    #[serde(alias = "confirmPassword", alias = "confirm_new_password")]
    pub confirm_password: Option<String>,
    /// With a second factor on the account: its code (unless proved in the last 5 minutes).
    pub code: Option<String>,
}

pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
    pub code: Option<String>,
}

impl TryFrom<ChangePasswordRequest> for ChangePasswordInput {
    type Error = ApiError;

    fn try_from(r: ChangePasswordRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let current = required(
            &mut c,
            "current_password",
            &r.current_password,
            "Current password",
        )
        .map(str::to_owned);
        let new =
            required(&mut c, "new_password", &r.new_password, "New password").map(str::to_owned);
        if let (Some(p), Some(confirm)) = (&r.new_password, &r.confirm_password)
            && p != confirm
        {
            c.fail("confirm_password", "Passwords do not match");
        }
        c.finish(|| ChangePasswordInput {
            current_password: current.expect("checked"),
            new_password: new.expect("checked"),
            code: r.code.clone().filter(|c| !c.trim().is_empty()),
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
/// Only the fields sent change; `null` clears a name or the phone. A new `email` (or a new
/// `password` here) needs `current_password`; the email stays pending until confirmed.
#[schema(examples(json!({"full_name": "Ada King", "phone": null})))]
pub struct ProfileRequest {
    #[schema(min_length = 3, max_length = 32)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "clearable", alias = "fullName")]
    pub full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "clearable", alias = "firstName")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "clearable", alias = "lastName")]
    pub last_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "clearable",
        alias = "phone_number",
        alias = "phoneNumber"
    )]
    pub phone: Option<Option<String>>,
    #[schema(max_length = 254, format = "email")]
    pub email: Option<String>,
    #[serde(alias = "new_password", alias = "newPassword")]
    pub password: Option<String>,
    #[serde(alias = "currentPassword", alias = "old_password")]
    pub current_password: Option<String>,
    /// With a second factor on the account, a new email, phone or password needs its code too
    /// (unless one was proved in the last 5 minutes).
    pub code: Option<String>,
}

impl TryFrom<ProfileRequest> for ProfileUpdate {
    type Error = ApiError;

    fn try_from(r: ProfileRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let mut update = ProfileUpdate::default();
        if let Some(u) = &r.username {
            update.username = c.take("username", Username::parse(u));
        }
        if let Some(e) = &r.email {
            update.email = c.take("email", EmailAddress::parse(e));
        }
        update.full_name = clear_or(&mut c, "full_name", &r.full_name, FullName::parse);
        update.first_name = clear_or(&mut c, "first_name", &r.first_name, |s| {
            PersonName::parse(s, "First name")
        });
        update.last_name = clear_or(&mut c, "last_name", &r.last_name, |s| {
            PersonName::parse(s, "Last name")
        });
        update.phone = clear_or(&mut c, "phone", &r.phone, |s| {
            PhoneNumber::parse(s).map(Some)
        });
        update.password = r.password.filter(|p| !p.is_empty());
        // Needed for a new password, and for a new email or phone (see `accounts::profile`).
        update.current_password = r.current_password;
        update.code = r.code.filter(|c| !c.trim().is_empty());
        c.finish(|| update)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"password": "correct horse 42"})))]
pub struct DeleteAccountRequest {
    /// Required for accounts with a password.
    #[serde(alias = "current_password", alias = "currentPassword")]
    pub password: Option<String>,
    /// With a second factor on the account: its code (unless proved in the last 5 minutes).
    pub code: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AnonymousRequest {
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}

impl AnonymousRequest {
    pub fn device_id(self) -> Result<Option<String>, ApiError> {
        let mut c = Check::default();
        let d = device_id(&mut c, self.device_id);
        c.finish(|| d)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"role": "admin", "is_active": true})))]
pub struct AdminUserRequest {
    /// `user` or `admin`.
    pub role: Option<String>,
    #[serde(alias = "isActive")]
    pub is_active: Option<bool>,
}

impl TryFrom<AdminUserRequest> for AdminUserChanges {
    type Error = ApiError;

    fn try_from(r: AdminUserRequest) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let role = r.role.as_deref().and_then(|s| {
            c.take(
                "role",
                s.trim()
                    .to_uppercase()
                    .parse::<Role>()
                    .map_err(|()| "Role must be CUSTOMER or ADMIN"),
            )
        });
        if r.role.is_none() && r.is_active.is_none() {
            c.fail("role", "Nothing to change: send role and/or is_active");
        }
        c.finish(|| AdminUserChanges {
            role,
            is_active: r.is_active,
        })
    }
}

/// `?q=&page=&per_page=` of the admin user list.
pub struct UserListQuery {
    pub q: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

impl UserListQuery {
    pub const MAX_PER_PAGE: i64 = 100;

    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut c = Check::default();
        let mut query = UserListQuery {
            q: None,
            page: 1,
            per_page: 20,
        };
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match &*k {
                "q" => {
                    query.q = Some(v.trim().to_owned())
                        .filter(|q| !q.is_empty() && !q.chars().any(char::is_control))
                }
                "page" => match v.parse::<i64>() {
                    Ok(p) if (1..=1_000_000).contains(&p) => query.page = p,
                    _ => c.fail("page", "Page must be a whole number from 1"),
                },
                "per_page" => match v.parse::<i64>() {
                    Ok(p) if (1..=Self::MAX_PER_PAGE).contains(&p) => query.per_page = p,
                    _ => c.fail("per_page", "per_page must be a whole number from 1 to 100"),
                },
                _ => {}
            }
        }
        c.finish(|| query)
    }
}

/// `POST /api/auth/mfa/verify`: a login's second step.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"challenge": "<challenge from the login answer>", "code": "123456"})))]
pub struct MfaVerifyRequest {
    #[schema(required = true)]
    pub challenge: Option<String>,
    /// Six digits from the authenticator app, or a recovery code.
    pub code: Option<String>,
    /// Instead of `code`: a passkey's assertion, what `navigator.credentials.get` gave for the
    /// login answer's `passkey` options, as JSON.
    #[serde(alias = "assertion")]
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
    /// As at login: binds the session to a device.
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}

impl MfaVerifyRequest {
    pub fn parts(&self) -> Result<(&str, SecondAnswer<'_>), ApiError> {
        let mut c = Check::default();
        let challenge = required(&mut c, "challenge", &self.challenge, "Challenge");
        let answer = match (&self.credential, self.code.as_deref()) {
            (Some(credential), None) => Some(SecondAnswer::Passkey(credential)),
            (None, _) => required(&mut c, "code", &self.code, "Code").map(SecondAnswer::Code),
            (Some(_), Some(_)) => {
                c.fail("code", "Send a code or a credential, not both");
                None
            }
        };
        c.finish(|| (challenge.expect("checked"), answer.expect("checked")))
    }
}

/// `POST /api/auth/passkey/login`: a passkey's answer to `POST /api/auth/passkey/options`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"state": "<state from the options answer>", "credential": {"id": "…", "rawId": "…", "type": "public-key", "response": {"authenticatorData": "…", "clientDataJSON": "…", "signature": "…", "userHandle": "…"}}})))]
pub struct PasskeyLoginRequest {
    #[schema(required = true)]
    pub state: Option<String>,
    /// What `navigator.credentials.get` gave, as JSON.
    #[serde(alias = "assertion")]
    #[schema(required = true, value_type = Object)]
    pub credential: Option<serde_json::Value>,
    /// As at login: binds the session to a device.
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}

impl PasskeyLoginRequest {
    pub fn parts(&self) -> Result<(&str, &serde_json::Value), ApiError> {
        let mut c = Check::default();
        let state = required(&mut c, "state", &self.state, "State");
        if self.credential.is_none() {
            c.fail("credential", "Credential is required");
        }
        c.finish(|| {
            (
                state.expect("checked"),
                self.credential.as_ref().expect("checked"),
            )
        })
    }
}

/// `POST /api/users/me/factors`: start enrolling a factor.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"type": "totp", "name": "Phone"})))]
pub struct NewFactorRequest {
    /// `totp` (an authenticator app) or `passkey`.
    #[serde(rename = "type")]
    #[schema(required = true)]
    pub kind: Option<String>,
    /// Shown in the list of factors (at most 60 characters).
    pub name: Option<String>,
}

/// A code (TOTP or recovery code): to confirm a factor, or to prove one for a change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"code": "123456"})))]
pub struct CodeRequest {
    pub code: Option<String>,
    /// Confirming a pending passkey: what `navigator.credentials.create` gave, as JSON.
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
    /// A factor's new name (`PATCH`).
    pub name: Option<String>,
}

/// `?user_id=&client_id=&kind=&since=&until=&cursor=&limit=` of the admin audit list.
pub struct AuditQuery {
    pub filter: crate::accounts::audit::Filter,
    pub limit: i64,
}

impl AuditQuery {
    pub const MAX_LIMIT: i64 = 200;
    /// The widest `since`..`until` asked at once.
    pub const MAX_RANGE_DAYS: i64 = 400;

    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        use crate::domain::AuditKind;
        let mut c = Check::default();
        let mut query = AuditQuery {
            filter: crate::accounts::audit::Filter::default(),
            limit: 50,
        };
        let id = |c: &mut Check, field: &'static str, v: &str| {
            let ok = !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                c.fail(field, "Must be an id (at most 128 visible characters)");
            }
            ok.then(|| v.to_owned())
        };
        let time = |c: &mut Check, field: &'static str, v: &str| {
            match chrono::DateTime::parse_from_rfc3339(v) {
                Ok(t) => Some(t.naive_utc()),
                Err(_) => {
                    c.fail(
                        field,
                        "Must be an RFC 3339 time, such as 2026-12-01T00:00:00Z",
                    );
                    None
                }
            }
        };
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match &*k {
                "user_id" => query.filter.user_id = id(&mut c, "user_id", &v),
                "client_id" => query.filter.client_id = id(&mut c, "client_id", &v),
                "kind" => {
                    for kind in v.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                        match AuditKind::parse(kind) {
                            Some(k) => query.filter.kinds.push(k.as_str().to_owned()),
                            None => c.fail(
                                "kind",
                                "Unknown kind (see AuditEventView.kind for the kinds)",
                            ),
                        }
                    }
                }
                "since" => query.filter.since = time(&mut c, "since", &v),
                "until" => query.filter.until = time(&mut c, "until", &v),
                "cursor" => match crate::accounts::audit::parse_cursor(&v) {
                    Some(cursor) => query.filter.before = Some(cursor),
                    None => c.fail("cursor", "Not a cursor from an earlier page"),
                },
                "limit" => match v.parse::<i64>() {
                    Ok(n) if (1..=Self::MAX_LIMIT).contains(&n) => query.limit = n,
                    _ => c.fail("limit", "limit must be a whole number from 1 to 200"),
                },
                _ => {}
            }
        }
        if let (Some(since), Some(until)) = (query.filter.since, query.filter.until) {
            if until <= since {
                c.fail("until", "until must be after since");
            } else if until - since > chrono::Duration::days(Self::MAX_RANGE_DAYS) {
                c.fail("since", "At most 400 days at once");
            }
        }
        c.finish(|| query)
    }
}
