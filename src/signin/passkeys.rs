//! Passkeys (WebAuthn, through webauthn-rs): registering them (several per account, named)
//! and proving one, either as the second step after a password or alone: a discoverable
//! credential the browser offers (the sign-in page's conditional UI), whose user
//! verification (a PIN or biometric on the device) makes it two factors, `hwk` and `user`.
//!
//! The relying party follows `AUTHD_PUBLIC_URL` (the issuer by default): its host is the RP id
//! and its origin the one origin accepted. Browsers offer WebAuthn only to HTTPS pages and to
//! `localhost`, and never to an IP address, so under `http://127.0.0.1:8080` (the default)
//! passkeys are off and the pages do not offer them; `http://localhost:8080` or any HTTPS name
//! turns them on.
//!
//! Ceremony state never sits in an instance's memory: a registration's waits in its pending
//! factor, a second step's in its pending sign-in; a sign-in without a typed name has no row
//! until it is used, so its state is sealed (AEAD under the instance secret) into the page or
//! the answer, with a nonce and an expiry, and the nonce is spent once in the database.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use super::SignInError;
use crate::domain::Method;
use crate::state::AppState;
use crate::storage::one_time_tokens::{self, PURPOSE_PASSKEY_CEREMONY};
use crate::storage::users::{self, UserKey};
use crate::storage::{FactorRow, OneTimeTokenRow, UserRow, factors};

/// How long a ceremony may take, from its options to the browser's answer (WebAuthn's
/// recommended timeout).
pub const CEREMONY_TTL: chrono::Duration = chrono::Duration::minutes(5);
const SEAL_LABEL: &str = "passkey sign-in";

/// The relying party: authd's pages as passkeys know them.
pub struct Passkeys {
    rp: Webauthn,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passkeys")
    }
}

/// What amr a passkey proves: a hardware-bound key whose authenticator verified its user.
pub const METHODS: [Method; 2] = [Method::Hwk, Method::User];

impl Passkeys {
    /// The relying party of pages served at `public_url`, or `None` where browsers offer no
    /// WebAuthn: an IP address, or plain HTTP on a name other than `localhost`.
    pub fn for_pages_at(public_url: &str, rp_name: &str) -> Option<Self> {
        let url = Url::parse(public_url).ok()?;
        let host = url.domain()?;
        let local = host == "localhost" || host.ends_with(".localhost");
        if url.scheme() != "https" && !(url.scheme() == "http" && local) {
            return None;
        }
        let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
        let rp = WebauthnBuilder::new(host, &origin)
            .ok()?
            .rp_name(rp_name)
            .timeout(CEREMONY_TTL.to_std().ok()?)
            .build()
            .ok()?;
        Some(Self { rp })
    }

    /// The options for `navigator.credentials.create` that register a new passkey for `user`
    /// (none of `existing` again), and the state to keep until the answer.
    pub fn start_registration(
        &self,
        user: &UserRow,
        existing: &[FactorRow],
    ) -> Result<(Value, String), SignInError> {
        let handle = Uuid::parse_str(&user.id).map_err(|e| anyhow::anyhow!("a user id: {e}"))?;
        let name = user
            .email
            .as_deref()
            .or(user.username.as_deref())
            .or(user.phone.as_deref())
            .unwrap_or(&user.id);
        let display = user.full_name.as_deref().unwrap_or(name);
        let exclude = existing
            .iter()
            .filter_map(|f| f.credential_id.as_deref())
            .filter_map(|id| URL_SAFE_NO_PAD.decode(id).ok())
            .map(Into::into)
            .collect();
        let (options, registration) = self
            .rp
            .start_passkey_registration(handle, name, display, Some(exclude))
            .map_err(|e| anyhow::anyhow!("starting a passkey registration: {e}"))?;
        let mut options = serde_json::to_value(options).map_err(anyhow::Error::from)?;
        // A discoverable credential where the authenticator can keep one, so the passkey can
        // also sign in without a name typed first.
        options["publicKey"]["authenticatorSelection"]["residentKey"] = "preferred".into();
        let state = serde_json::to_string(&registration).map_err(anyhow::Error::from)?;
        Ok((options, state))
    }

    /// The credential `answer` registers, checked against the registration's `state`: the
    /// passkey as kept (JSON) and its credential id.
    pub fn finish_registration(
        &self,
        state: &str,
        answer: &RegisterPublicKeyCredential,
    ) -> Result<(String, String), SignInError> {
        let registration: PasskeyRegistration =
            serde_json::from_str(state).map_err(anyhow::Error::from)?;
        let passkey = self
            .rp
            .finish_passkey_registration(answer, &registration)
            .map_err(|e| {
                tracing::info!(error = %e, "a passkey registration was refused");
                SignInError::PasskeyRefused
            })?;
        let id = URL_SAFE_NO_PAD.encode(passkey.cred_id());
        let json = serde_json::to_string(&passkey).map_err(anyhow::Error::from)?;
        Ok((json, id))
    }

    /// The options for `navigator.credentials.get` that ask for one of `factors`' passkeys
    /// (a second step), and the state to keep; `None` when the user has no passkey.
    pub fn start_second_step(
        &self,
        factors: &[FactorRow],
    ) -> Result<Option<(Value, String)>, SignInError> {
        let passkeys: Vec<Passkey> = factors.iter().filter_map(passkey_of).collect();
        if passkeys.is_empty() {
            return Ok(None);
        }
        let (options, authentication) = self
            .rp
            .start_passkey_authentication(&passkeys)
            .map_err(|e| anyhow::anyhow!("starting a passkey authentication: {e}"))?;
        let options = serde_json::to_value(options).map_err(anyhow::Error::from)?;
        let state = serde_json::to_string(&authentication).map_err(anyhow::Error::from)?;
        Ok(Some((options, state)))
    }

    /// Which of `factors` proved `answer` under the second step's `state`, and its credential
    /// as it now is (the signature counter moved). A credential of someone else, for another
    /// relying party, or whose counter went back (a cloned authenticator) proves nothing.
    fn finish_second_step(
        &self,
        state: &str,
        answer: &PublicKeyCredential,
        factors: &[FactorRow],
    ) -> Result<(FactorRow, Option<String>), SignInError> {
        let authentication: PasskeyAuthentication =
            serde_json::from_str(state).map_err(anyhow::Error::from)?;
        let result = self
            .rp
            .finish_passkey_authentication(answer, &authentication)
            .map_err(|e| {
                tracing::info!(error = %e, "a passkey assertion was refused");
                SignInError::PasskeyRefused
            })?;
        let used = URL_SAFE_NO_PAD.encode(result.cred_id());
        let factor = factors
            .iter()
            .find(|f| f.credential_id.as_deref() == Some(used.as_str()))
            .ok_or(SignInError::PasskeyRefused)?;
        let updated = updated_credential(factor, &result)?;
        Ok((factor.clone(), updated))
    }

    /// Options for a sign-in with any passkey of this site the browser holds (conditional UI,
    /// or a button), and their state, sealed: nothing is written until it is used.
    pub fn start_without_name(&self, state: &AppState) -> Result<(Value, String), SignInError> {
        let (options, authentication) = self
            .rp
            .start_discoverable_authentication()
            .map_err(|e| anyhow::anyhow!("starting a passkey sign-in: {e}"))?;
        let sealed = Sealed {
            nonce: Uuid::new_v4().simple().to_string(),
            expires: (state.clock.now() + CEREMONY_TTL).timestamp(),
            state: authentication,
        };
        let plain = serde_json::to_vec(&sealed).map_err(anyhow::Error::from)?;
        let sealed = state
            .sealer
            .seal(SEAL_LABEL, &plain)
            .map_err(|e| anyhow::anyhow!("sealing a passkey ceremony: {e}"))?;
        let options = serde_json::to_value(options).map_err(anyhow::Error::from)?;
        Ok((options, URL_SAFE_NO_PAD.encode(sealed)))
    }
}

/// A sign-in without a name's ceremony, as sealed into the page.
#[derive(Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    /// Seconds since the epoch.
    expires: i64,
    state: DiscoverableAuthentication,
}

fn passkey_of(factor: &FactorRow) -> Option<Passkey> {
    if factor.kind != super::factors::PASSKEY || !factor.active {
        return None;
    }
    serde_json::from_str(factor.credential.as_deref()?).ok()
}

fn updated_credential(
    factor: &FactorRow,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<Option<String>, SignInError> {
    let Some(mut passkey) = passkey_of(factor) else {
        return Err(SignInError::PasskeyRefused);
    };
    match passkey.update_credential(result) {
        Some(true) => Ok(Some(
            serde_json::to_string(&passkey).map_err(anyhow::Error::from)?,
        )),
        _ => Ok(None),
    }
}

fn relying_party(state: &AppState) -> Result<&Passkeys, SignInError> {
    state
        .passkeys
        .as_ref()
        .ok_or(SignInError::PasskeysUnavailable)
}

/// An answer from the browser (`navigator.credentials.get`), as JSON.
pub fn parse_assertion(json: &Value) -> Option<PublicKeyCredential> {
    serde_json::from_value(json.clone()).ok()
}

/// An answer from the browser (`navigator.credentials.create`), as JSON.
pub fn parse_registration(json: &Value) -> Option<RegisterPublicKeyCredential> {
    serde_json::from_value(json.clone()).ok()
}

/// Checks a second step's passkey `answer` under the pending sign-in's `ceremony` against the
/// user's active passkeys, and keeps the passkey's new counter.
pub(super) async fn prove_second_step(
    state: &AppState,
    user_id: &str,
    ceremony: Option<&str>,
    answer: &PublicKeyCredential,
) -> Result<(), SignInError> {
    let rp = relying_party(state)?;
    let ceremony = ceremony.ok_or(SignInError::PasskeyRefused)?;
    let factors = super::active_factors(state, user_id).await?;
    let (factor, updated) = rp.finish_second_step(ceremony, answer, &factors)?;
    factors::touch_factor(
        &state.db,
        &factor.id,
        updated.as_deref(),
        state.clock.now_naive(),
    )
    .await?;
    Ok(())
}

/// The person a sign-in without a name proved to be: `sealed` (from [`Passkeys::start_without_name`],
/// unexpired, its nonce not spent before) and the browser's `answer`, from an active passkey
/// of an account that may sign in.
pub async fn identify(
    state: &AppState,
    sealed: &str,
    answer: &PublicKeyCredential,
) -> Result<UserRow, SignInError> {
    let rp = relying_party(state)?;
    let now = state.clock.now();
    let ceremony: Sealed = URL_SAFE_NO_PAD
        .decode(sealed.trim())
        .ok()
        .and_then(|s| state.sealer.open(SEAL_LABEL, &s).ok())
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or(SignInError::PasskeyExpired)?;
    if ceremony.expires <= now.timestamp() {
        return Err(SignInError::PasskeyExpired);
    }
    let (handle, credential_id) = rp
        .rp
        .identify_discoverable_authentication(answer)
        .map_err(|_| SignInError::PasskeyRefused)?;
    let factor = factors::find_passkey(&state.db, &URL_SAFE_NO_PAD.encode(credential_id))
        .await?
        .filter(|f| Uuid::parse_str(&f.user_id).ok() == Some(handle))
        .ok_or(SignInError::PasskeyRefused)?;
    let passkey = passkey_of(&factor).ok_or(SignInError::PasskeyRefused)?;
    let result = rp
        .rp
        .finish_discoverable_authentication(
            answer,
            ceremony.state,
            &[DiscoverableKey::from(&passkey)],
        )
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey sign-in was refused");
            SignInError::PasskeyRefused
        })?;
    let spent = OneTimeTokenRow {
        token_hash: format!("passkey:{}", ceremony.nonce),
        purpose: PURPOSE_PASSKEY_CEREMONY.to_owned(),
        subject: factor.user_id.clone(),
        created_at: now.naive_utc(),
        expires_at: at(ceremony.expires),
        consumed_at: Some(now.naive_utc()),
        payload: None,
    };
    if !one_time_tokens::spend_once(&state.db, &spent).await? {
        return Err(SignInError::PasskeyExpired);
    }
    let updated = updated_credential(&factor, &result)?;
    factors::touch_factor(&state.db, &factor.id, updated.as_deref(), now.naive_utc()).await?;
    let user = users::find_user(&state.db, UserKey::Id(&factor.user_id))
        .await?
        .ok_or(SignInError::PasskeyRefused)?;
    if !user.is_active {
        return Err(SignInError::AccountDisabled);
    }
    if state.config.require_email_verification && !user.is_email_verified {
        return Err(SignInError::EmailNotVerified);
    }
    Ok(user)
}

fn at(secs: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .naive_utc()
}
