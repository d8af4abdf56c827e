//! Reading the audit trail: an admin's filtered pages, and a person's own recent activity in
//! plain words. The events are written by storage, in the transactions they describe.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime};
use serde::Serialize;

use super::AccountError;
use super::view::rfc3339;
use crate::domain::{AuditKind, device_in_words};
use crate::state::AppState;
use crate::storage::UserRow;
pub use crate::storage::audit::Filter;
use crate::storage::audit::{self as store, AuditEventRow};

/// How far back a person's own activity goes, and how much of it.
const ACTIVITY_DAYS: i64 = 30;
const ACTIVITY_MAX: i64 = 50;

/// An event as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    /// `sign_in.succeeded`, `sign_in.failed`, `session.ended`, `sign_up`, ...: the README's
    /// Audit events lists them.
    pub kind: String,
    /// `user`, `admin`, `cli` or `system`.
    pub actor: String,
    pub actor_id: Option<String>,
    /// The account the event concerns.
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

fn detail_of(row: &AuditEventRow) -> Option<serde_json::Value> {
    row.detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
}

impl From<AuditEventRow> for AuditEventView {
    fn from(row: AuditEventRow) -> Self {
        AuditEventView {
            detail: detail_of(&row),
            id: row.id,
            at: rfc3339(row.at),
            kind: row.kind,
            actor: row.actor,
            actor_id: row.actor_id,
            user_id: row.user_id,
            client_id: row.client_id,
            session_id: row.session_id,
            ip: row.ip,
            user_agent: row.user_agent,
            outcome: row.outcome,
        }
    }
}

/// One page of events, newest first; `next` is the cursor of the page after it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `cursor` for older events; absent on the last page.
    pub next: Option<String>,
}

/// The cursor after `row`: its time (microseconds) and id.
fn cursor_of(row: &AuditEventRow) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        row.at.and_utc().timestamp_micros(),
        row.id
    ))
}

/// A cursor as [`cursor_of`] made it; `None` for anything else.
pub fn parse_cursor(raw: &str) -> Option<(NaiveDateTime, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    uuid::Uuid::parse_str(id).ok()?;
    Some((at, id.to_owned()))
}

/// Events matching `filter`, `limit` to a page.
pub async fn list(
    state: &AppState,
    filter: &Filter,
    limit: i64,
) -> Result<AuditPage, AccountError> {
    let mut rows = store::list(&state.db, filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more.then(|| rows.last().map(cursor_of)).flatten();
    Ok(AuditPage {
        events: rows.into_iter().map(AuditEventView::from).collect(),
        next,
    })
}

/// An entry of a person's own activity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    pub at: String,
    pub kind: String,
    /// What happened, in words: "Signed in with a password and a code".
    pub what: String,
    pub outcome: String,
    pub ip: Option<String>,
    /// The browser and system, in words ("Firefox on Linux"), when known.
    pub device: Option<String>,
}

/// The person's sign-ins and security changes of the last 30 days, newest first (at most 50).
pub async fn activity(state: &AppState, user: &UserRow) -> Result<Vec<ActivityView>, AccountError> {
    let filter = Filter {
        user_id: Some(user.id.clone()),
        kinds: AuditKind::ALL
            .into_iter()
            .filter(|k| k.shown_to_the_person())
            .map(|k| k.as_str().to_owned())
            .collect(),
        since: Some(state.clock.now_naive() - chrono::Duration::days(ACTIVITY_DAYS)),
        ..Filter::default()
    };
    let rows = store::list(&state.db, &filter, ACTIVITY_MAX).await?;
    Ok(rows
        .into_iter()
        .map(|row| ActivityView {
            what: described(&row),
            at: rfc3339(row.at),
            device: row.user_agent.as_deref().and_then(device_in_words),
            kind: row.kind,
            outcome: row.outcome,
            ip: row.ip,
        })
        .collect())
}

/// An event in plain words.
fn described(row: &AuditEventRow) -> String {
    let detail = detail_of(row).unwrap_or_default();
    let text = |k: &str| detail.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    match AuditKind::parse(&row.kind) {
        Some(AuditKind::SignInSucceeded) => {
            let amr = text("amr");
            let mut ways = Vec::new();
            for (m, words) in [
                ("pwd", "a password"),
                ("otp", "a code"),
                ("hwk", "a passkey"),
                ("fed", "another provider"),
            ] {
                if amr.split(' ').any(|a| a == m) {
                    ways.push(words);
                }
            }
            if ways.is_empty() {
                "Signed in".to_owned()
            } else {
                format!("Signed in with {}", ways.join(" and "))
            }
        }
        Some(AuditKind::SignInFailed) => match text("factor") {
            "password" => "A wrong password was typed".to_owned(),
            _ => "A wrong code was typed".to_owned(),
        },
        Some(AuditKind::SignUp) => "Account created".to_owned(),
        Some(AuditKind::PasswordChanged) => "Password changed".to_owned(),
        Some(AuditKind::PasswordReset) => "Password reset by email link".to_owned(),
        Some(AuditKind::SessionEnded) => match text("reason") {
            "logout" => "Signed out".to_owned(),
            "logout_all" => "Signed out everywhere".to_owned(),
            "revoked" => "A session was ended".to_owned(),
            "refresh_token_reused" => {
                "A session was ended: an old sign-in token was used again (possibly stolen)"
                    .to_owned()
            }
            "password_changed" => "Other sessions ended after a password change".to_owned(),
            "admin" | "disabled" => "Sessions ended by an administrator".to_owned(),
            _ => "A session ended".to_owned(),
        },
        Some(AuditKind::AccountDeleted) => "Account deleted".to_owned(),
        Some(AuditKind::EmailChangeRequested) => {
            format!("Email change to {} asked for", text("new_email"))
        }
        Some(AuditKind::EmailChangeConfirmed) => {
            format!("Email address changed to {}", text("new_email"))
        }
        Some(AuditKind::EmailChangeCancelled) => {
            "Email change stopped from the old address; every session ended".to_owned()
        }
        Some(AuditKind::FactorAdded) => match text("type") {
            "passkey" => format!("Passkey \"{}\" added", text("name")),
            _ => "Authenticator app added".to_owned(),
        },
        Some(AuditKind::FactorRemoved) => match text("type") {
            "passkey" => format!("Passkey \"{}\" removed", text("name")),
            _ => "Authenticator app removed".to_owned(),
        },
        Some(AuditKind::FactorsReset) => {
            "Every second factor removed by an administrator".to_owned()
        }
        Some(AuditKind::RecoveryCodesRenewed) => "New recovery codes made".to_owned(),
        Some(AuditKind::IdentityLinked) => format!("Sign-in with {} linked", text("provider")),
        Some(AuditKind::IdentityUnlinked) => {
            format!("Sign-in with {} unlinked", text("provider"))
        }
        Some(AuditKind::ConsentGiven) => format!(
            "{} allowed to {}",
            row.client_id.as_deref().unwrap_or("An application"),
            text("scopes")
        ),
        Some(AuditKind::ConsentWithdrawn) => format!(
            "Permission of {} withdrawn",
            row.client_id.as_deref().unwrap_or("an application")
        ),
        Some(AuditKind::ClientCreated) => "Client registered".to_owned(),
        Some(AuditKind::ClientUpdated) => "Client changed".to_owned(),
        Some(AuditKind::ClientDeleted) => "Client deleted".to_owned(),
        Some(AuditKind::ResourceCreated) => "Resource server registered".to_owned(),
        Some(AuditKind::ResourceDeleted) => "Resource server deleted".to_owned(),
        Some(AuditKind::KeyRotated) => "Signing key rotated".to_owned(),
        Some(AuditKind::KeyRetired) => "Signing key retired".to_owned(),
        Some(AuditKind::AdminUserUpdated) => "Changed by an administrator".to_owned(),
        Some(AuditKind::AdminUserDeleted) => "Deleted by an administrator".to_owned(),
        Some(AuditKind::RateLimited) => "Too many attempts: some were refused".to_owned(),
        None => row.kind.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let row = AuditEventRow::new(
            AuditKind::SignUp,
            DateTime::from_timestamp_micros(1_765_000_000_123_456)
                .unwrap()
                .naive_utc(),
        );
        let (at, id) = parse_cursor(&cursor_of(&row)).unwrap();
        assert_eq!((at, id), (row.at, row.id));
        for junk in ["", "x", "MTIz", &URL_SAFE_NO_PAD.encode("1|' OR 1=1 --")] {
            assert!(parse_cursor(junk).is_none(), "{junk}");
        }
    }
}
