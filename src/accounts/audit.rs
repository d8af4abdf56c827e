//! Reading the audit trail: an admin's filtered pages, and a person's own recent activity in
//! plain words. The events are written by storage, in the transactions they describe.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime};
use serde::Serialize;

use super::AccountError;
use super::view::rfc3339;
use crate::domain::{AuditKind, device_in_words};
use crate::i18n::{Lang, Text};
use crate::state::AppState;
use crate::storage::UserRow;
pub use crate::storage::audit::Filter;
use crate::storage::audit::{self as store, AuditEventRow};
use crate::t;

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

/// The person's sign-ins and security changes of the last 30 days, newest first (at most 50),
/// said in `lang` (the account API's are in English, as all its messages).
pub async fn activity(
    state: &AppState,
    user: &UserRow,
    lang: Lang,
) -> Result<Vec<ActivityView>, AccountError> {
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
            what: described(&row, lang),
            at: rfc3339(row.at),
            device: row.user_agent.as_deref().and_then(device_in_words),
            kind: row.kind,
            outcome: row.outcome,
            ip: row.ip,
        })
        .collect())
}

/// An event in plain words, in `lang`.
fn described(row: &AuditEventRow, lang: Lang) -> String {
    let detail = detail_of(row).unwrap_or_default();
    let text = |k: &str| {
        detail
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let application = || row.client_id.clone();
    let said: Text = match AuditKind::parse(&row.kind) {
        Some(AuditKind::SignInSucceeded) => {
            let amr = text("amr");
            let mut ways = Vec::new();
            for (m, words) in [
                ("pwd", t!("activity-way-password")),
                ("otp", t!("activity-way-code")),
                ("hwk", t!("activity-way-passkey")),
                ("fed", t!("activity-way-provider")),
            ] {
                if amr.split(' ').any(|a| a == m) {
                    ways.push(words.in_(lang));
                }
            }
            if ways.is_empty() {
                t!("activity-signed-in").into()
            } else {
                let and = format!(" {} ", t!("activity-and").in_(lang));
                Text::new(t!("activity-signed-in-with")).arg("ways", ways.join(&and))
            }
        }
        Some(AuditKind::SignInFailed) => match text("factor").as_str() {
            "password" => t!("activity-wrong-password").into(),
            _ => t!("activity-wrong-code").into(),
        },
        Some(AuditKind::SignUp) => t!("activity-sign-up").into(),
        Some(AuditKind::PasswordChanged) => t!("activity-password-changed").into(),
        Some(AuditKind::PasswordReset) => t!("activity-password-reset").into(),
        Some(AuditKind::SessionEnded) => match text("reason").as_str() {
            "logout" => t!("activity-signed-out").into(),
            "logout_all" => t!("activity-signed-out-everywhere").into(),
            "revoked" => t!("activity-session-revoked").into(),
            "refresh_token_reused" => t!("activity-session-token-reused").into(),
            "password_changed" => t!("activity-sessions-password-changed").into(),
            "admin" | "disabled" => t!("activity-sessions-admin").into(),
            _ => t!("activity-session-ended").into(),
        },
        Some(AuditKind::AccountDeleted) => t!("activity-account-deleted").into(),
        Some(AuditKind::EmailChangeRequested) => {
            Text::new(t!("activity-email-change-asked")).arg("email", text("new_email"))
        }
        Some(AuditKind::EmailChangeConfirmed) => {
            Text::new(t!("activity-email-changed")).arg("email", text("new_email"))
        }
        Some(AuditKind::EmailChangeCancelled) => t!("activity-email-change-stopped").into(),
        Some(AuditKind::FactorAdded) => match text("type").as_str() {
            "passkey" => Text::new(t!("activity-passkey-added")).arg("name", text("name")),
            _ => t!("activity-app-added").into(),
        },
        Some(AuditKind::FactorRemoved) => match text("type").as_str() {
            "passkey" => Text::new(t!("activity-passkey-removed")).arg("name", text("name")),
            _ => t!("activity-app-removed").into(),
        },
        Some(AuditKind::FactorsReset) => t!("activity-factors-reset").into(),
        Some(AuditKind::RecoveryCodesRenewed) => t!("activity-recovery-codes-renewed").into(),
        Some(AuditKind::IdentityLinked) => {
            Text::new(t!("activity-identity-linked")).arg("provider", text("provider"))
        }
        Some(AuditKind::IdentityUnlinked) => {
            Text::new(t!("activity-identity-unlinked")).arg("provider", text("provider"))
        }
        Some(AuditKind::ConsentGiven) => match application() {
            Some(client) => Text::new(t!("activity-consent-given"))
                .arg("client", client)
                .arg("scopes", text("scopes")),
            None => Text::new(t!("activity-consent-given-unnamed")).arg("scopes", text("scopes")),
        },
        Some(AuditKind::ConsentWithdrawn) => match application() {
            Some(client) => Text::new(t!("activity-consent-withdrawn")).arg("client", client),
            None => t!("activity-consent-withdrawn-unnamed").into(),
        },
        Some(AuditKind::ClientCreated) => t!("activity-client-created").into(),
        Some(AuditKind::ClientUpdated) => t!("activity-client-updated").into(),
        Some(AuditKind::ClientDeleted) => t!("activity-client-deleted").into(),
        Some(AuditKind::ResourceCreated) => t!("activity-resource-created").into(),
        Some(AuditKind::ResourceDeleted) => t!("activity-resource-deleted").into(),
        Some(AuditKind::KeyRotated) => t!("activity-key-rotated").into(),
        Some(AuditKind::KeyRetired) => t!("activity-key-retired").into(),
        Some(AuditKind::AdminUserUpdated) => t!("activity-admin-updated").into(),
        Some(AuditKind::AdminUserDeleted) => t!("activity-admin-deleted").into(),
        Some(AuditKind::RateLimited) => t!("activity-rate-limited").into(),
        None => return row.kind.clone(),
    };
    said.in_(lang)
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
