//! The first factor: a password, for an account named by email, phone or username. Wrong
//! passwords count against the account (see `guard`); an unknown account costs the same hash
//! as a known one, so timing does not tell which exist.

use super::SignInError;
use super::guard::{self, Account, Guesser};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::state::AppState;
use crate::storage::UserRow;
use crate::storage::users::UserKey;
use crate::storage::{registrations, users};

/// What the user typed in the login field, recognised by its shape.
#[derive(Debug)]
pub enum LoginIdentifier {
    Email(EmailAddress),
    Phone(PhoneNumber),
    Username(String),
}

impl LoginIdentifier {
    /// The one normal form of the name, whatever spelling was typed.
    fn normalized(&self) -> String {
        match self {
            Self::Email(e) => e.normalized(),
            Self::Phone(p) => p.as_str().to_owned(),
            Self::Username(u) => u.clone(),
        }
    }

    /// `None` for an identifier that cannot name any account.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        // PostgreSQL refuses NUL in text; no identifier holds control characters anyway.
        if raw.is_empty() || raw.len() > 320 || raw.chars().any(char::is_control) {
            None
        } else if raw.contains('@') {
            EmailAddress::parse(raw).ok().map(Self::Email)
        } else if PhoneNumber::looks_like(raw) {
            PhoneNumber::parse(raw).ok().map(Self::Phone)
        } else {
            Some(Self::Username(raw.to_lowercase()))
        }
    }
}

/// The user these credentials belong to, if they are right and the user may sign in. Wrong
/// passwords count against the account from `ip` (see `guard`).
pub async fn verify_credentials(
    state: &AppState,
    identifier: Option<LoginIdentifier>,
    password: &str,
    ip: Option<&str>,
) -> Result<UserRow, SignInError> {
    let user = match &identifier {
        Some(LoginIdentifier::Email(e)) => {
            users::find_user(&state.db, UserKey::Email(&e.normalized())).await?
        }
        Some(LoginIdentifier::Phone(p)) => {
            users::find_user(&state.db, UserKey::Phone(p.as_str())).await?
        }
        Some(LoginIdentifier::Username(u)) => {
            users::find_user(&state.db, UserKey::Username(u)).await?
        }
        None => None,
    };
    let name = identifier
        .as_ref()
        .map(LoginIdentifier::normalized)
        .unwrap_or_default();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let guesser = Guesser {
        account: match &user_id {
            Some(id) => Account::User(id),
            None => Account::Unknown(&name),
        },
        ip,
    };
    let budget = guard::attempt(state, &guesser).await?;
    let wrong = || match budget {
        guard::Budget::LastTry { retry_after_secs } => {
            SignInError::TooManyAttempts { retry_after_secs }
        }
        guard::Budget::Open => SignInError::InvalidCredentials,
    };
    let Some(user) = user else {
        // Someone who signed up but has not followed the link yet learns why login fails,
        // but only with the right password.
        let pending = match &identifier {
            Some(LoginIdentifier::Email(e)) => {
                registrations::find_pending_registration_by_email(&state.db, &e.normalized())
                    .await?
            }
            _ => None,
        };
        let matches = state
            .hasher
            .verify(password, pending.as_ref().map(|p| p.password_hash.as_str()))
            .await?;
        if matches {
            guard::succeeded(state, &guesser).await?;
            return Err(SignInError::EmailNotVerified);
        }
        let kept = match &identifier {
            Some(LoginIdentifier::Email(_) | LoginIdentifier::Phone(_)) => Some(name.as_str()),
            _ => None,
        };
        guard::failed_unknown(state, kept, ip).await?;
        return Err(wrong());
    };
    if !state
        .hasher
        .verify(password, user.password_hash.as_deref())
        .await?
    {
        guard::failed(state, &user.id, "password", ip).await?;
        return Err(wrong());
    }
    guard::succeeded(state, &guesser).await?;
    if !user.is_active {
        return Err(SignInError::AccountDisabled);
    }
    if state.config.require_email_verification && !user.is_email_verified {
        return Err(SignInError::EmailNotVerified);
    }
    Ok(user)
}
