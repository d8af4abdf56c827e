//! Pending registrations: a sign-up becomes a user only when its email link is followed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::one_time_tokens::PURPOSE_VERIFY_EMAIL;
use super::schema::{one_time_tokens, outbox, pending_registrations, users};
use super::{
    Database, OneTimeTokenRow, OutboxRow, PendingRegistrationRow, StorageError, UserRow, run,
    run_read,
};
use crate::domain::AuditKind;
use crate::domain::{Role, Username};
use crate::tokens::TokenHash;

pub enum VerifyOutcome {
    /// The user now exists. When the registration was contested it has no password: the
    /// caller sends a reset link for the user to choose one.
    Verified {
        user: Box<UserRow>,
        password_required: bool,
        /// The browser the (uncontested) sign-up was made in, and when: see
        /// `PendingRegistrationRow::browser_hash`.
        signed_up_in: Option<(String, NaiveDateTime)>,
    },
    /// The token was valid once and has been used.
    AlreadyVerified,
    /// Unknown, expired, or superseded by a newer registration.
    Invalid,
}

/// Stores `row` as the one pending registration for its address, replacing any earlier one
/// (and so invalidating its link), together with its verification token. With `contest`, a
/// registration that replaces a live one is stored as contested: two people claimed the
/// address, and the link cannot tell whose password to keep. `retry_of` names the live
/// registration this one repeats (the same password: the same person, again); replacing only
/// it, uncontested, contests nothing.
pub async fn replace_pending_registration(
    db: &Database,
    row: &PendingRegistrationRow,
    token: &OneTimeTokenRow,
    contest: bool,
    retry_of: Option<&str>,
    mail: Option<&OutboxRow>,
) -> Result<(), StorageError> {
    let postgres = db.is_postgres();
    run!(db, |c| c
        .transaction(async |c| {
            // Registrations of one address replace each other one at a time (SQLite's single
            // connection already serializes them): without the lock, two at once both find
            // nothing to replace and the second fails on the unique address.
            if postgres {
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                    .bind::<diesel::sql_types::Text, _>(&row.email_normalized)
                    .execute(c)
                    .await?;
            }
            let old: Vec<(String, NaiveDateTime, bool)> = pending_registrations::table
                .filter(pending_registrations::email_normalized.eq(&row.email_normalized))
                .select((
                    pending_registrations::id,
                    pending_registrations::expires_at,
                    pending_registrations::contested,
                ))
                .load(c)
                .await?;
            let mut row = row.clone();
            row.contested = contest
                && old.iter().any(|(id, expires, contested)| {
                    *expires > row.created_at && (Some(id.as_str()) != retry_of || *contested)
                });
            let old: Vec<String> = old.into_iter().map(|(id, _, _)| id).collect();
            diesel::delete(one_time_tokens::table.filter(one_time_tokens::subject.eq_any(&old)))
                .execute(c)
                .await?;
            diesel::delete(
                pending_registrations::table.filter(pending_registrations::id.eq_any(&old)),
            )
            .execute(c)
            .await?;
            diesel::insert_into(pending_registrations::table)
                .values(&row)
                .execute(c)
                .await?;
            diesel::insert_into(one_time_tokens::table)
                .values(token)
                .execute(c)
                .await?;
            if let Some(mail) = mail {
                diesel::insert_into(outbox::table)
                    .values(mail)
                    .execute(c)
                    .await?;
            }
            Ok::<_, StorageError>(())
        })
        .await)
}

pub async fn find_pending_registration_by_email(
    db: &Database,
    email_normalized: &str,
) -> Result<Option<PendingRegistrationRow>, StorageError> {
    run_read!(db, |c| Ok(pending_registrations::table
        .filter(pending_registrations::email_normalized.eq(email_normalized))
        .select(PendingRegistrationRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Consumes a verification token and turns its registration into a user, in one transaction.
/// A registration started by an anonymous user upgrades that same user, keeping its id.
/// `email_verified` is false only when verification is switched off and this runs at once.
///
/// A contested registration (see `replace_pending_registration`) becomes a user with only its
/// email: no password, phone, username or names of whoever registered, and no anonymous user
/// attached. Only the address's owner, through a reset link, then chooses the password, and no
/// one who registered the address besides her keeps anything on it.
///
/// Long: one transaction, whose steps share a connection of either backend (`run!` expands the
/// body once per backend); the pure steps are `free_username` and `verified_user`.
pub async fn verify_registration(
    db: &Database,
    hash: &TokenHash,
    now: NaiveDateTime,
    email_verified: bool,
) -> Result<VerifyOutcome, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let Some(token) = one_time_tokens::table
                .find(hash.as_str())
                .filter(one_time_tokens::purpose.eq(PURPOSE_VERIFY_EMAIL))
                .select(OneTimeTokenRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(VerifyOutcome::Invalid);
            };
            if token.consumed_at.is_some() {
                return Ok(VerifyOutcome::AlreadyVerified);
            }
            if token.expires_at <= now {
                return Ok(VerifyOutcome::Invalid);
            }
            let won = diesel::update(
                one_time_tokens::table
                    .find(hash.as_str())
                    .filter(one_time_tokens::consumed_at.is_null()),
            )
            .set(one_time_tokens::consumed_at.eq(now))
            .execute(c)
            .await?;
            if won == 0 {
                return Ok(VerifyOutcome::AlreadyVerified);
            }
            let Some(mut reg) = pending_registrations::table
                .find(&token.subject)
                .select(PendingRegistrationRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(VerifyOutcome::Invalid);
            };
            if reg.contested {
                // Only the address's owner keeps anything on it (see above).
                reg.username = None;
                reg.phone = None;
                reg.full_name = None;
                reg.first_name = None;
                reg.last_name = None;
            }

            let username = match &reg.username {
                Some(u) => u.clone(),
                None => {
                    let base = Username::base_from_email_local(
                        reg.email.rsplit_once('@').map_or(&*reg.email, |(l, _)| l),
                    );
                    let taken: Vec<Option<String>> = users::table
                        .filter(users::username.like(format!("{base}%")))
                        .select(users::username)
                        .load(c)
                        .await?;
                    free_username(&base, &taken)
                }
            };

            let anonymous = match &reg.anonymous_user_id {
                Some(_) if reg.contested => None,
                Some(id) => users::table
                    .find(id)
                    .filter(users::is_anonymous.eq(true))
                    .select(UserRow::as_select())
                    .first(c)
                    .await
                    .optional()?,
                None => None,
            };
            let id = match (&anonymous, &reg.anonymous_user_id) {
                (Some(a), _) => a.id.clone(),
                // A contested sign-up from an anonymous user: that user stays as it was, apart.
                (None, Some(_)) => crate::domain::UserId::new().to_string(),
                // The registration's id was chosen as the user's id, so `user_id` answered at
                // sign-up holds.
                (None, None) => reg.id.clone(),
            };
            let user = verified_user(&reg, id, username, anonymous.as_ref(), now, email_verified);
            if anonymous.is_some() {
                diesel::update(users::table.find(&user.id))
                    .set((
                        users::email.eq(&user.email),
                        users::email_normalized.eq(&user.email_normalized),
                        users::username.eq(&user.username),
                        users::full_name.eq(&user.full_name),
                        users::first_name.eq(&user.first_name),
                        users::last_name.eq(&user.last_name),
                        users::phone.eq(&user.phone),
                        users::password_hash.eq(&user.password_hash),
                        users::is_email_verified.eq(email_verified),
                        users::is_anonymous.eq(false),
                        users::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
            } else {
                diesel::insert_into(users::table)
                    .values(&user)
                    .execute(c)
                    .await?;
            }
            diesel::delete(pending_registrations::table.find(&reg.id))
                .execute(c)
                .await?;
            let signed_up = AuditEventRow::new(AuditKind::SignUp, now)
                .user(&user.id)
                .detail(serde_json::json!({
                    "email_verified": email_verified,
                    "from_anonymous": anonymous.is_some(),
                    "contested": reg.contested,
                }));
            record!(c, [&signed_up]);
            Ok::<_, StorageError>(VerifyOutcome::Verified {
                user: Box::new(user),
                password_required: reg.contested,
                signed_up_in: reg
                    .browser_hash
                    .filter(|_| !reg.contested)
                    .map(|hash| (hash, reg.created_at)),
            })
        })
        .await)
}

/// The first of `base`, `base1`, `base2`... that no user has (`taken`: names starting with `base`).
pub(super) fn free_username(base: &str, taken: &[Option<String>]) -> String {
    (0..)
        .map(|n| Username::candidate(base, n))
        .find(|u| !taken.iter().any(|t| t.as_deref() == Some(u.as_str())))
        .expect("an unbounded search finds a free name")
        .as_str()
        .to_owned()
}

/// The user a verified registration becomes (the anonymous user it upgrades, if any, keeps its
/// creation and last sign-in times).
fn verified_user(
    reg: &PendingRegistrationRow,
    id: String,
    username: String,
    anonymous: Option<&UserRow>,
    now: NaiveDateTime,
    email_verified: bool,
) -> UserRow {
    UserRow {
        id,
        email: Some(reg.email.clone()),
        email_normalized: Some(reg.email_normalized.clone()),
        pending_email: None,
        username: Some(username),
        full_name: reg.full_name.clone(),
        first_name: reg.first_name.clone(),
        last_name: reg.last_name.clone(),
        phone: reg.phone.clone(),
        password_hash: (!reg.contested).then(|| reg.password_hash.clone()),
        role: Role::Customer.as_str().to_owned(),
        is_email_verified: email_verified,
        is_active: true,
        is_anonymous: false,
        created_at: anonymous.map_or(now, |a| a.created_at),
        updated_at: now,
        last_login_at: anonymous.and_then(|a| a.last_login_at),
    }
}
