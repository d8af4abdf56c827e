//! Login by email, phone or username and a password, into a session of a client; with a
//! second factor on the account, the JSON login's first step ends in a challenge that
//! `mfa/verify` completes.

use serde::Serialize;

use super::{AccountError, TokenResponse};
use webauthn_rs::prelude::PublicKeyCredential;

use crate::signin::passkeys;
use crate::signin::{self, Answer, ClientMeta, Issued, LoginIdentifier, Proof, SessionGrant};
use crate::state::AppState;

/// What the account API's login gives.
pub enum LoginOutcome {
    SignedIn(Box<TokenResponse>),
    /// The password was right and a second factor is due: no tokens yet.
    SecondStep(Challenge),
}

/// A login's second step, waiting: `POST /api/auth/mfa/verify` with `challenge` and a code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "mfa_required": true,
    "challenge": "<challenge>",
    "factors": [{"id": "0193a7c2-…", "type": "totp", "name": "Authenticator app"}, {"id": "recovery", "type": "recovery_code", "name": "Recovery code"}],
    "expires_in": 300
})))]
pub struct Challenge {
    pub mfa_required: bool,
    /// Single-use, for `expires_in` seconds.
    pub challenge: String,
    pub factors: Vec<ChallengeFactor>,
    /// When the account has a passkey: the options for `navigator.credentials.get`
    /// (`{"publicKey": {...}}`, binary values base64url); send its answer as `credential`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub passkey: Option<serde_json::Value>,
    pub expires_in: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChallengeFactor {
    pub id: String,
    /// `totp`, `passkey` or `recovery_code`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

/// The account API's login: a first-party session, or a second step when the account has a
/// second factor.
pub async fn login(
    state: &AppState,
    identifier: Option<LoginIdentifier>,
    password: &str,
    meta: ClientMeta,
) -> Result<LoginOutcome, AccountError> {
    let user = signin::verify_credentials(state, identifier, password, meta.ip.as_deref()).await?;
    let proof = Proof::password(user, state.clock.now_naive());
    outcome(state, proof, meta).await
}

/// What a proof gives a first-party client: tokens, or the second step's challenge when the
/// account has a factor.
pub(super) async fn outcome(
    state: &AppState,
    proof: Proof,
    meta: ClientMeta,
) -> Result<LoginOutcome, AccountError> {
    let factors = signin::active_factors(state, &proof.user().id).await?;
    if factors.is_empty() {
        let issued =
            signin::complete_in_session(state, proof, super::first_party_grant(), meta).await?;
        return Ok(LoginOutcome::SignedIn(Box::new(issued.into())));
    }
    let pending = signin::begin_second_step(state, proof, factors, &meta).await?;
    let codes_left =
        crate::storage::factors::recovery_codes_left(&state.db, &pending.user.id).await?;
    let mut offered: Vec<ChallengeFactor> = pending
        .factors
        .iter()
        .map(|f| ChallengeFactor {
            id: f.id.clone(),
            kind: f.kind.clone(),
            name: f.name.clone(),
        })
        .collect();
    if codes_left > 0 {
        offered.push(ChallengeFactor {
            id: "recovery".into(),
            kind: "recovery_code".into(),
            name: "Recovery code".into(),
        });
    }
    Ok(LoginOutcome::SecondStep(Challenge {
        mfa_required: true,
        challenge: pending.token.expose().to_owned(),
        factors: offered,
        passkey: pending.passkey_options,
        expires_in: signin::SECOND_STEP_TTL.num_seconds() as u64,
    }))
}

/// A second step's answer as a client sends it.
#[derive(Clone, Copy)]
pub enum SecondAnswer<'a> {
    /// An authenticator app's code, or a recovery code.
    Code(&'a str),
    /// A passkey's assertion, as JSON.
    Passkey(&'a serde_json::Value),
}

/// A passkey's assertion as JSON, read; a clear 400 when it is not one.
fn assertion(json: &serde_json::Value) -> Result<PublicKeyCredential, AccountError> {
    passkeys::parse_assertion(json).ok_or_else(|| {
        AccountError::Invalid(
            "credential",
            "Not a WebAuthn assertion: send what navigator.credentials.get gave, as JSON".into(),
        )
    })
}

/// `POST /api/auth/mfa/verify`: the second step of a login, with a code from an authenticator
/// app, a recovery code or a passkey's assertion.
pub async fn verify_second_step(
    state: &AppState,
    challenge: &str,
    answer: SecondAnswer<'_>,
    meta: ClientMeta,
) -> Result<TokenResponse, AccountError> {
    let answer = match answer {
        SecondAnswer::Code(code) => Answer::Code(code),
        SecondAnswer::Passkey(json) => Answer::Passkey(Box::new(assertion(json)?)),
    };
    let (issued, _) =
        signin::finish_in_session(state, challenge, answer, super::first_party_grant(), meta)
            .await?;
    Ok(issued.into())
}

/// A sign-in with a passkey and no name typed: the options, and their sealed state to send
/// back with the answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasskeySignIn {
    /// For `navigator.credentials.get` (`{"publicKey": {...}, "mediation": "conditional"}`).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Opaque; send it back as `state` with the credential, within `expires_in` seconds.
    pub state: String,
    pub expires_in: u64,
}

/// `POST /api/auth/passkey/options`: nothing is written until the answer comes.
pub fn passkey_options(state: &AppState) -> Result<PasskeySignIn, AccountError> {
    let rp = state
        .passkeys
        .as_ref()
        .ok_or(signin::SignInError::PasskeysUnavailable)?;
    let (options, sealed) = rp.start_without_name(state)?;
    Ok(PasskeySignIn {
        options,
        state: sealed,
        expires_in: passkeys::CEREMONY_TTL.num_seconds() as u64,
    })
}

/// `POST /api/auth/passkey/login`: the passkey's answer signs its account in (two factors:
/// the key, and its user verified by the authenticator), into a first-party session.
pub async fn passkey_login(
    state: &AppState,
    sealed: &str,
    answer: &serde_json::Value,
    meta: ClientMeta,
) -> Result<TokenResponse, AccountError> {
    let answer = assertion(answer)?;
    let user = passkeys::identify(state, sealed, &answer).await?;
    let proof = Proof::passkey(user, state.clock.now_naive());
    let issued =
        signin::complete_in_session(state, proof, super::first_party_grant(), meta).await?;
    Ok(issued.into())
}

/// Checks the credentials and opens a session for the given client (the password grant). An
/// account with a second factor cannot sign in this way: the grant has no second step.
pub async fn login_for(
    state: &AppState,
    identifier: Option<LoginIdentifier>,
    password: &str,
    meta: ClientMeta,
    grant: SessionGrant,
) -> Result<Issued, AccountError> {
    let user = signin::verify_credentials(state, identifier, password, meta.ip.as_deref()).await?;
    if !signin::active_factors(state, &user.id).await?.is_empty() {
        return Err(AccountError::SecondFactorRequired(
            "This account has a second factor, which the password grant cannot ask for: sign in \
             through the authorization endpoint",
        ));
    }
    let proof = Proof::password(user, state.clock.now_naive());
    Ok(signin::complete_in_session(state, proof, grant, meta).await?)
}
