//! A person's second factors, managed from the account API and the account pages: enrol an
//! authenticator app (a pending factor until its first code), list, rename, remove, and the
//! recovery codes (shown once when the first factor is confirmed, regenerable). Changes that
//! weaken the account need a recent proof of a second factor when it has one.

use chrono::Duration;
use serde::Serialize;

use super::AccountError;
use super::view::rfc3339;
use crate::domain::Level;
use crate::i18n::Text;
use crate::signin::SignIn;
use crate::signin::factors::{self as proofs, PASSKEY, Proved, TOTP};
use crate::signin::passkeys::{self, CEREMONY_TTL};
use crate::state::AppState;
use crate::storage::factors::{self as store, Activated, Credential};
use crate::storage::{FactorRow, UserRow};
use crate::t;

/// How recent a second factor must be for a change that weakens the account.
const RECENT_SECOND_FACTOR: Duration = Duration::minutes(5);

/// A factor as the account API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FactorView {
    pub id: String,
    /// `totp` or `passkey`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    /// `active`, or `pending` until its first code (or registration) is in.
    pub status: &'static str,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&FactorRow> for FactorView {
    fn from(f: &FactorRow) -> Self {
        Self {
            id: f.id.clone(),
            kind: f.kind.clone(),
            name: f.name.clone(),
            status: if f.active { "active" } else { "pending" },
            created_at: rfc3339(f.created_at),
            last_used_at: f.last_used_at.map(rfc3339),
        }
    }
}

/// The person's factors and how many recovery codes remain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FactorsView {
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: i64,
}

pub async fn list(state: &AppState, user: &UserRow) -> Result<FactorsView, AccountError> {
    let rows = store::list_factors(&state.db, &user.id).await?;
    Ok(FactorsView {
        factors: rows.iter().map(FactorView::from).collect(),
        recovery_codes_left: store::recovery_codes_left(&state.db, &user.id).await?,
    })
}

/// A new authenticator-app factor, pending until [`confirm`] gets its first code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    /// The secret, base32, for typing into the app.
    pub secret: String,
    /// The same for a QR code: `otpauth://totp/...`.
    pub otpauth_uri: String,
}

/// Pending factors left unconfirmed this long are forgotten.
pub const PENDING_TTL: Duration = Duration::hours(1);

pub async fn enrol_totp(
    state: &AppState,
    user: &UserRow,
    name: Option<&str>,
) -> Result<TotpEnrolment, AccountError> {
    let name = factor_name(name, "Authenticator app")?;
    let secret = proofs::new_totp_secret();
    let account = user
        .email
        .as_deref()
        .or(user.username.as_deref())
        .unwrap_or(&user.id);
    let totp = proofs::totp(secret.clone(), &state.config.brand.name, account)?;
    let id = uuid::Uuid::new_v4().to_string();
    let row = FactorRow {
        id: id.clone(),
        user_id: user.id.clone(),
        kind: TOTP.to_owned(),
        name,
        secret: Some(proofs::seal_secret(state, &id, &secret)?),
        credential: None,
        last_step: None,
        active: false,
        created_at: state.clock.now_naive(),
        last_used_at: None,
        credential_id: None,
    };
    store::insert_factor(&state.db, &row).await?;
    Ok(TotpEnrolment {
        id,
        kind: TOTP,
        status: "pending",
        secret: totp.get_secret_base32(),
        otpauth_uri: totp.get_url(),
    })
}

/// A pending factor of the user, for its enrolment page (secret and QR shown again).
pub async fn pending_totp(
    state: &AppState,
    user: &UserRow,
    id: &str,
) -> Result<TotpEnrolment, AccountError> {
    let factor = find(state, user, id).await?;
    if factor.active || factor.kind != TOTP {
        return Err(AccountError::NotFound("No such pending factor"));
    }
    let secret = proofs::secret_base32(state, &factor)
        .ok_or_else(|| AccountError::Unexpected(anyhow::anyhow!("a TOTP secret did not open")))?;
    let account = user.email.as_deref().unwrap_or(&user.id);
    let totp = proofs::totp(
        totp_rs::Secret::Encoded(secret.clone())
            .to_bytes()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        &state.config.brand.name,
        account,
    )?;
    Ok(TotpEnrolment {
        id: factor.id,
        kind: TOTP,
        status: "pending",
        secret,
        otpauth_uri: totp.get_url(),
    })
}

fn factor_name(given: Option<&str>, default: &str) -> Result<String, AccountError> {
    let name = given
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(default);
    if name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(AccountError::Invalid(
            "name",
            "At most 60 characters, no control characters".into(),
        ));
    }
    Ok(name.to_owned())
}

async fn find(state: &AppState, user: &UserRow, id: &str) -> Result<FactorRow, AccountError> {
    store::list_factors(&state.db, &user.id)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(AccountError::NotFound("No such factor"))
}

/// What confirming a factor gave.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    pub status: &'static str,
    /// Shown once, the first time the account has an active factor: keep them somewhere safe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// Confirms a pending authenticator-app factor with its first code (taken, so it cannot sign
/// in later). The account's first factor comes with its recovery codes.
pub async fn confirm(
    state: &AppState,
    user: &UserRow,
    id: &str,
    code: &str,
) -> Result<Confirmed, AccountError> {
    let factor = find(state, user, id).await?;
    if factor.active {
        return Err(AccountError::InUse("The factor is active already"));
    }
    if factor.kind != TOTP {
        return Err(AccountError::NotFound("No such pending factor"));
    }
    let now = state.clock.now_naive();
    let Some(step) = proofs::confirms(state, &factor, code) else {
        return Err(AccountError::InvalidCode);
    };
    if !store::take_totp_step(&state.db, &factor.id, step, now).await? {
        return Err(AccountError::InvalidCode);
    }
    activated(state, user, &factor, None).await
}

/// A new passkey, pending until [`confirm_passkey`] gets the browser's answer to `options`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasskeyEnrolment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    /// For `navigator.credentials.create` (`{"publicKey": {...}}`, binary values base64url):
    /// answer within `expires_in` seconds.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub expires_in: u64,
}

/// A registration in progress, kept in its pending factor: the options shown (again, if the
/// page is) and webauthn-rs's state.
#[derive(Serialize, serde::Deserialize)]
struct Registration {
    options: serde_json::Value,
    state: String,
}

/// Starts registering a passkey for `user` (none of their passkeys again), pending until
/// [`confirm_passkey`].
pub async fn enrol_passkey(
    state: &AppState,
    user: &UserRow,
    name: Option<&str>,
) -> Result<PasskeyEnrolment, AccountError> {
    let rp = state
        .passkeys
        .as_ref()
        .ok_or(crate::signin::SignInError::PasskeysUnavailable)?;
    let name = factor_name(name, "Passkey")?;
    let existing = store::list_factors(&state.db, &user.id).await?;
    let (options, ceremony) = rp.start_registration(user, &existing)?;
    let registration = Registration {
        options: options.clone(),
        state: ceremony,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let row = FactorRow {
        id: id.clone(),
        user_id: user.id.clone(),
        kind: PASSKEY.to_owned(),
        name,
        secret: None,
        credential: Some(serde_json::to_string(&registration).map_err(anyhow::Error::from)?),
        last_step: None,
        active: false,
        created_at: state.clock.now_naive(),
        last_used_at: None,
        credential_id: None,
    };
    store::insert_factor(&state.db, &row).await?;
    Ok(PasskeyEnrolment {
        id,
        kind: PASSKEY,
        status: "pending",
        options,
        expires_in: CEREMONY_TTL.num_seconds() as u64,
    })
}

/// A pending passkey of the user and its options, while its ceremony may still finish.
pub async fn pending_passkey(
    state: &AppState,
    user: &UserRow,
    id: &str,
) -> Result<PasskeyEnrolment, AccountError> {
    let (factor, registration) = registration_of(state, user, id).await?;
    Ok(PasskeyEnrolment {
        id: factor.id,
        kind: PASSKEY,
        status: "pending",
        options: registration.options,
        expires_in: CEREMONY_TTL.num_seconds() as u64,
    })
}

async fn registration_of(
    state: &AppState,
    user: &UserRow,
    id: &str,
) -> Result<(FactorRow, Registration), AccountError> {
    let factor = find(state, user, id).await?;
    if factor.kind != PASSKEY {
        return Err(AccountError::NotFound("No such pending factor"));
    }
    if factor.active {
        return Err(AccountError::InUse("The factor is active already"));
    }
    if state.clock.now_naive() - factor.created_at > CEREMONY_TTL {
        return Err(AccountError::PasskeyExpired);
    }
    let registration: Registration = factor
        .credential
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .ok_or(AccountError::PasskeyExpired)?;
    Ok((factor, registration))
}

/// Confirms a pending passkey with the browser's answer (`navigator.credentials.create`'s
/// credential, as JSON). A credential registered to any account already is refused.
pub async fn confirm_passkey(
    state: &AppState,
    user: &UserRow,
    id: &str,
    answer: &serde_json::Value,
) -> Result<Confirmed, AccountError> {
    let rp = state
        .passkeys
        .as_ref()
        .ok_or(crate::signin::SignInError::PasskeysUnavailable)?;
    let answer = passkeys::parse_registration(answer).ok_or_else(|| {
        AccountError::Invalid(
            "credential",
            "Not a WebAuthn credential: send what navigator.credentials.create gave, as JSON"
                .into(),
        )
    })?;
    let (factor, registration) = registration_of(state, user, id).await?;
    let (json, credential_id) = rp
        .finish_registration(&registration.state, &answer)
        .map_err(|e| match e {
            crate::signin::SignInError::PasskeyRefused => AccountError::Invalid(
                "credential",
                "This credential does not answer this registration (another challenge, site \
                 or origin, or no user verification)"
                    .into(),
            ),
            other => other.into(),
        })?;
    let credential = Credential {
        json: &json,
        id: &credential_id,
    };
    activated(state, user, &factor, Some(credential)).await
}

/// Activates `factor` (with a passkey's `credential`) and tells the account's address.
pub(super) async fn activated(
    state: &AppState,
    user: &UserRow,
    factor: &FactorRow,
    credential: Option<Credential<'_>>,
) -> Result<Confirmed, AccountError> {
    let (codes, hashes) = proofs::new_recovery_codes();
    let now = state.clock.now_naive();
    let outcome = store::activate_factor(&state.db, &user.id, &factor.id, credential, &hashes, now)
        .await
        .map_err(|e| match e {
            crate::storage::StorageError::Conflict("credential_id") => {
                AccountError::InUse("This passkey is registered already")
            }
            other => other.into(),
        })?;
    let recovery_codes = match outcome {
        Activated::NotPending => return Err(AccountError::InUse("The factor is active already")),
        Activated::First => Some(codes),
        Activated::Another => None,
    };
    proofs::notice(
        state,
        user,
        t!("email-factor-added-subject"),
        Text::new(t!("email-factor-added-intro"))
            .arg("name", &factor.name)
            .arg("kind", kind(&factor.kind)),
    )
    .await?;
    Ok(Confirmed {
        status: "active",
        recovery_codes,
    })
}

/// A factor's kind, as the notices' messages select their words by it.
fn kind(kind: &str) -> &'static str {
    match kind {
        PASSKEY => "passkey",
        _ => "app",
    }
}

pub async fn rename(
    state: &AppState,
    user: &UserRow,
    id: &str,
    name: &str,
) -> Result<(), AccountError> {
    let name = factor_name(Some(name), "")?;
    if name.is_empty() {
        return Err(AccountError::Invalid("name", "A name is required".into()));
    }
    if store::rename_factor(&state.db, &user.id, id, &name).await? {
        Ok(())
    } else {
        Err(AccountError::NotFound("No such factor"))
    }
}

/// Whether the account must keep a second factor: the global policy covers it.
pub fn must_keep_a_factor(state: &AppState, user: &UserRow) -> bool {
    state.config.require_mfa_for.covers(&user.role)
}

/// Who asks for a change, for how recently they proved a second factor: a session of the
/// account API, or a browser's sign-in on authd's pages.
#[derive(Clone, Copy)]
pub enum Asker<'a> {
    Session(&'a str),
    Browser(&'a SignIn),
}

/// Removes a factor, with a recent second factor; the last one only when no policy needs it.
pub async fn remove(
    state: &AppState,
    user: &UserRow,
    asker: Asker<'_>,
    id: &str,
    code: Option<&str>,
    ip: Option<&str>,
) -> Result<(), AccountError> {
    let factor = find(state, user, id).await?;
    if factor.active {
        require_recent_second_factor(state, user, asker, code, ip).await?;
        let active = crate::signin::active_factors(state, &user.id).await?;
        if active.len() == 1 && must_keep_a_factor(state, user) {
            return Err(AccountError::NotAllowed(
                "This account must keep a second factor: add another before removing this one",
            ));
        }
    }
    if !store::delete_factor(&state.db, &user.id, id, state.clock.now_naive()).await? {
        return Err(AccountError::NotFound("No such factor"));
    }
    if factor.active {
        proofs::notice(
            state,
            user,
            t!("email-factor-removed-subject"),
            Text::new(t!("email-factor-removed-intro"))
                .arg("name", &factor.name)
                .arg("kind", kind(&factor.kind)),
        )
        .await?;
    }
    Ok(())
}

/// A new set of recovery codes, the old one void; needs a recent second factor.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    user: &UserRow,
    asker: Asker<'_>,
    code: Option<&str>,
    ip: Option<&str>,
) -> Result<Vec<String>, AccountError> {
    if crate::signin::active_factors(state, &user.id)
        .await?
        .is_empty()
    {
        return Err(AccountError::NotAllowed(
            "Recovery codes come with a second factor: add one first",
        ));
    }
    require_recent_second_factor(state, user, asker, code, ip).await?;
    let (codes, hashes) = proofs::new_recovery_codes();
    store::replace_recovery_codes(&state.db, &user.id, &hashes, state.clock.now_naive()).await?;
    Ok(codes)
}

/// For a change that weakens an account with a second factor (the email, phone or password,
/// a factor, the account itself): `code` (an authenticator app's, or a recovery code), or a
/// sign-in of this session that proved a second factor within the last 5 minutes. An account
/// without one needs nothing more here.
pub async fn require_recent_second_factor(
    state: &AppState,
    user: &UserRow,
    asker: Asker<'_>,
    code: Option<&str>,
    ip: Option<&str>,
) -> Result<Option<Proved>, AccountError> {
    if crate::signin::active_factors(state, &user.id)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
        let proved = proofs::check_code(state, &user.id, code, ip).await?;
        if let Proved::RecoveryCode { left } = proved {
            proofs::notice_recovery_code_used(state, user, left).await?;
        }
        return Ok(Some(proved));
    }
    let now = state.clock.now_naive();
    let sign_in = match asker {
        Asker::Session(id) => crate::signin::of_session(state, id).await?,
        Asker::Browser(sign_in) => Some(sign_in.clone()),
    };
    let recent = sign_in
        .is_some_and(|s| s.level >= Level::Multi && now - s.auth_time <= RECENT_SECOND_FACTOR);
    if recent {
        Ok(None)
    } else {
        Err(AccountError::SecondFactorRequired(
            "Confirm with your second factor: send `code` (from your authenticator app, or a \
             recovery code)",
        ))
    }
}

/// The admin route (`admin` acting): see [`reset_with`].
pub async fn reset(
    state: &AppState,
    admin: &UserRow,
    user: &UserRow,
) -> Result<usize, AccountError> {
    let by = Some((admin.id.as_str(), crate::domain::Actor::Admin));
    reset_with(&state.db, &state.mailer, user, by, state.clock.now_naive()).await
}

/// `authd users reset-mfa` and the admin route: every factor and recovery code of the account
/// gone, every session ended, and the account's address told. Returns how many factors went.
/// `by` is the admin who asked, `None` at the command line.
pub async fn reset_with(
    db: &crate::storage::Database,
    mailer: &crate::mail::Mailer,
    user: &UserRow,
    by: Option<(&str, crate::domain::Actor)>,
    now: chrono::NaiveDateTime,
) -> Result<usize, AccountError> {
    let reset =
        crate::storage::audit::AuditEventRow::new(crate::domain::AuditKind::FactorsReset, now);
    let reset = match by {
        Some((id, actor)) => reset.by(actor, Some(id)),
        None => reset.by(crate::domain::Actor::Cli, None),
    };
    let n = store::reset_factors(db, &user.id, now, &reset).await?;
    if let Some(to) = user.email.as_deref() {
        let email = crate::mail::Email::security_notice(
            crate::i18n::current(mailer.default_lang()),
            t!("email-factors-reset-subject"),
            t!("email-factors-reset-intro"),
        );
        mailer.queue(db, to, &email, now).await?;
    }
    Ok(n)
}
