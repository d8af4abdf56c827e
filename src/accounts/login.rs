//! Login by email, phone or username and a password, into a session of a client.

use super::{AccountError, TokenResponse};
use crate::signin::{self, ClientMeta, Issued, LoginIdentifier, Proof, SessionGrant};
use crate::state::AppState;

/// The account API's login: a first-party session.
pub async fn login(
    state: &AppState,
    identifier: Option<LoginIdentifier>,
    password: &str,
    meta: ClientMeta,
) -> Result<TokenResponse, AccountError> {
    Ok(login_for(
        state,
        identifier,
        password,
        meta,
        super::first_party_grant(),
    )
    .await?
    .into())
}

/// Checks the credentials and opens a session for the given client.
pub async fn login_for(
    state: &AppState,
    identifier: Option<LoginIdentifier>,
    password: &str,
    meta: ClientMeta,
    grant: SessionGrant,
) -> Result<Issued, AccountError> {
    let user = signin::verify_credentials(state, identifier, password, meta.ip.as_deref()).await?;
    let proof = Proof::password(user, state.clock.now_naive());
    Ok(signin::complete_in_session(state, proof, grant, meta).await?)
}
