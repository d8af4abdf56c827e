//! Password guesses, limited per account wherever a password is checked (login, the password
//! grant, authd's sign-in page, `current_password`), in database counters shared by every
//! instance. The key is the account, not the name typed, so other spellings of the same
//! account share its budget. Each attempt is counted before the password is checked (so
//! parallel guesses cannot all slip under the limit) and given back when it was right: in
//! effect only failures count.
//!
//! Two budgets: per account *and client address*, so one attacker exhausting it does not lock
//! the owner out from her own address; and per account overall, ten times larger, so spreading
//! guesses over many addresses buys little. A password reset clears the account's count.
//!
//! The overall budget never locks the owner out: once it is spent, an address that has not
//! guessed wrong at this account in the window still gets its one try, and the right password
//! there signs in (a wrong one is refused as too many). Spreading guesses over N addresses so
//! buys N guesses a window beyond the overall budget, and costs the server one hash each: the
//! hashing stays bounded by the budgets and the addresses seen.

use chrono::Duration;

use super::SignInError;
use crate::domain::{Actor, AuditKind};
use crate::state::AppState;
use crate::storage::audit::AuditEventRow;
use crate::storage::rate_limits;

const WINDOW_MINUTES: i64 = 10;
/// The overall budget is this many times the per-address one.
const OVERALL_FACTOR: u32 = 10;

/// Whose account guesses are counted against.
pub enum Account<'a> {
    User(&'a str),
    /// No such account: the name in its one normal form.
    Unknown(&'a str),
}

/// Whose guesses are counted: the account, and the client address when known.
pub struct Guesser<'a> {
    pub account: Account<'a>,
    pub ip: Option<&'a str>,
}

fn buckets(who: &Guesser<'_>) -> [String; 2] {
    let account = match who.account {
        Account::User(id) => format!("user:{id}"),
        Account::Unknown(name) => format!("name:{name}"),
    };
    let from = who
        .ip
        .map_or_else(|| "-".to_owned(), rate_limits::client_key);
    [
        rate_limits::bucket("password-guess-from", &format!("{account}\0{from}")),
        rate_limits::bucket("password-guess", &account),
    ]
}

fn limits(state: &AppState) -> Option<[i32; 2]> {
    let per_address = state.config.rate_limit_per_minute;
    (per_address > 0).then(|| {
        [
            i32::try_from(per_address).unwrap_or(i32::MAX),
            i32::try_from(per_address.saturating_mul(OVERALL_FACTOR)).unwrap_or(i32::MAX),
        ]
    })
}

/// What the budgets leave an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Open,
    /// The account's overall budget is spent, but this address has not guessed wrong here in
    /// the window: the right password passes, a wrong one is refused as too many.
    LastTry {
        retry_after_secs: u64,
    },
}

fn too_many(wait: Duration) -> SignInError {
    SignInError::TooManyAttempts {
        retry_after_secs: wait.num_seconds().max(1) as u64,
    }
}

/// Counts an attempt, and refuses it, before the password is even hashed, when this address's
/// budget is spent, or the account's while this address has guessed wrong already.
pub async fn attempt(state: &AppState, who: &Guesser<'_>) -> Result<Budget, SignInError> {
    let Some([per_address, overall]) = limits(state) else {
        return Ok(Budget::Open);
    };
    let now = state.clock.now_naive();
    let window = Duration::minutes(WINDOW_MINUTES);
    let [from, account] = buckets(who);
    let refused = |per: &str| {
        let event = AuditEventRow::new(AuditKind::RateLimited, now)
            .by(Actor::System, None)
            .from(who.ip, None)
            .failed()
            .detail(serde_json::json!({ "limit": "password_guesses", "per": per }));
        match who.account {
            Account::User(id) => event.user(id),
            Account::Unknown(_) => event,
        }
    };
    let here = rate_limits::count(
        &state.db,
        &from,
        per_address,
        window,
        now,
        &refused("account_and_client_address"),
    )
    .await?;
    let everywhere = rate_limits::count(
        &state.db,
        &account,
        overall,
        window,
        now,
        &refused("account"),
    )
    .await?;
    if let Some(wait) = here.wait {
        return Err(too_many(wait));
    }
    match everywhere.wait {
        None => Ok(Budget::Open),
        // Only this attempt counted here: a clean record.
        Some(wait) if here.hits == 1 => Ok(Budget::LastTry {
            retry_after_secs: wait.num_seconds().max(1) as u64,
        }),
        Some(wait) => Err(too_many(wait)),
    }
}

/// Records a wrong `factor` (`password`, `code`, `passkey`) for account `user_id` in the
/// audit trail.
pub async fn failed(
    state: &AppState,
    user_id: &str,
    factor: &str,
    ip: Option<&str>,
) -> Result<(), SignInError> {
    let event = AuditEventRow::new(AuditKind::SignInFailed, state.clock.now_naive())
        .user(user_id)
        .from(ip, None)
        .failed()
        .detail(serde_json::json!({ "factor": factor }));
    Ok(crate::storage::audit::insert(&state.db, &event).await?)
}

/// Records a wrong password for a name no account holds: `detail.identifier` is the email
/// address or phone number typed (normalized), so an operator sees which names are tried; a
/// username is not kept, as people type passwords into that field by mistake.
pub async fn failed_unknown(
    state: &AppState,
    identifier: Option<&str>,
    ip: Option<&str>,
) -> Result<(), SignInError> {
    let mut detail = serde_json::json!({ "factor": "password", "reason": "unknown_account" });
    if let Some(name) = identifier {
        detail["identifier"] = name.into();
    }
    let event = AuditEventRow::new(AuditKind::SignInFailed, state.clock.now_naive())
        .from(ip, None)
        .failed()
        .detail(detail);
    Ok(crate::storage::audit::insert(&state.db, &event).await?)
}

/// The password was right: the attempt is given back.
pub async fn succeeded(state: &AppState, who: &Guesser<'_>) -> Result<(), SignInError> {
    if limits(state).is_none() {
        return Ok(());
    }
    for bucket in buckets(who) {
        rate_limits::refund(&state.db, &bucket).await?;
    }
    Ok(())
}

/// A reset proved the mailbox: the account's overall count starts again.
pub async fn cleared(state: &AppState, user_id: &str) -> Result<(), SignInError> {
    let [_, overall] = buckets(&Guesser {
        account: Account::User(user_id),
        ip: None,
    });
    rate_limits::clear(&state.db, &overall).await?;
    Ok(())
}
