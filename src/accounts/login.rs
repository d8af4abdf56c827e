//! Login by email, phone or username and a password, into a session of a client; with a
//! second factor on the account, the JSON login's first step ends in a challenge that
//! `mfa/verify` completes.

use serde::Serialize;

use super::{AccountError, TokenResponse};
use crate::signin::{self, ClientMeta, Issued, LoginIdentifier, Proof, SessionGrant};
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
    let factors = signin::active_factors(state, &user.id).await?;
    let proof = Proof::password(user, state.clock.now_naive());
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
        expires_in: signin::SECOND_STEP_TTL.num_seconds() as u64,
    }))
}

/// `POST /api/auth/mfa/verify`: the second step of a login, with a code from an authenticator
/// app or a recovery code.
pub async fn verify_second_step(
    state: &AppState,
    challenge: &str,
    code: &str,
    meta: ClientMeta,
) -> Result<TokenResponse, AccountError> {
    let (issued, _) =
        signin::finish_in_session(state, challenge, code, super::first_party_grant(), meta).await?;
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
