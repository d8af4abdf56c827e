//! Second factors and recovery codes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::{factors, recovery_codes};
use super::{Database, FactorRow, StorageError, run, run_read};
use crate::domain::AuditKind;

pub async fn insert_factor(db: &Database, row: &FactorRow) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(factors::table)
            .values(row)
            .execute(c)
            .await?;
        Ok(())
    })
}

/// A user's factors, active and pending, oldest first.
pub async fn list_factors(db: &Database, user_id: &str) -> Result<Vec<FactorRow>, StorageError> {
    run_read!(db, |c| Ok(factors::table
        .filter(factors::user_id.eq(user_id))
        .order(factors::created_at)
        .select(FactorRow::as_select())
        .load(c)
        .await?))
}

/// Whether the user has an active factor.
pub async fn has_active_factor(db: &Database, user_id: &str) -> Result<bool, StorageError> {
    use diesel::dsl::exists;
    run_read!(db, |c| Ok(diesel::select(exists(
        factors::table
            .filter(factors::user_id.eq(user_id))
            .filter(factors::active.eq(true)),
    ))
    .get_result(c)
    .await?))
}

/// Takes TOTP time step `step` for factor `id`: one conditional write, so a code is taken once
/// (here or on any instance), and never one of a step at or before the last one taken. Marks
/// the factor used, and active. Returns whether this call took it.
pub async fn take_totp_step(
    db: &Database,
    id: &str,
    step: i64,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    run!(db, |c| {
        let n = diesel::update(
            factors::table
                .find(id)
                .filter(factors::last_step.is_null().or(factors::last_step.lt(step))),
        )
        .set((factors::last_step.eq(step), factors::last_used_at.eq(now)))
        .execute(c)
        .await?;
        Ok(n == 1)
    })
}

/// Marks a factor used now (a passkey's assertion), keeping its credential (its signature
/// counter) up to date.
pub async fn touch_factor(
    db: &Database,
    id: &str,
    credential: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(factors::table.find(id))
            .set(factors::last_used_at.eq(now))
            .execute(c)
            .await?;
        if let Some(credential) = credential {
            diesel::update(factors::table.find(id))
                .set(factors::credential.eq(credential))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}

/// A passkey's registered credential: as webauthn-rs keeps it (JSON), and its id.
pub struct Credential<'a> {
    pub json: &'a str,
    pub id: &'a str,
}

/// Activates a pending factor of `user_id`, with `credential` when its registration produced
/// one (a credential registered to any account already is a conflict on `credential_id`);
/// when it is the user's first active factor, `first_codes` (hashes) become the user's
/// recovery codes, in the same transaction. Returns whether the factor was pending.
pub async fn activate_factor(
    db: &Database,
    user_id: &str,
    id: &str,
    credential: Option<Credential<'_>>,
    first_codes: &[String],
    now: NaiveDateTime,
) -> Result<Activated, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let had_one: i64 = factors::table
                .filter(factors::user_id.eq(user_id))
                .filter(factors::active.eq(true))
                .count()
                .get_result(c)
                .await?;
            let n = diesel::update(
                factors::table
                    .find(id)
                    .filter(factors::user_id.eq(user_id))
                    .filter(factors::active.eq(false)),
            )
            .set((factors::active.eq(true), factors::last_used_at.eq(now)))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok::<_, StorageError>(Activated::NotPending);
            }
            let (kind, name): (String, String) = factors::table
                .find(id)
                .select((factors::kind, factors::name))
                .first(c)
                .await?;
            let added = AuditEventRow::new(AuditKind::FactorAdded, now)
                .user(user_id)
                .detail(serde_json::json!({"type": kind, "name": name}));
            record!(c, [&added]);
            if let Some(credential) = &credential {
                diesel::update(factors::table.find(id))
                    .set((
                        factors::credential.eq(credential.json),
                        factors::credential_id.eq(credential.id),
                    ))
                    .execute(c)
                    .await?;
            }
            if had_one > 0 {
                return Ok(Activated::Another);
            }
            replace_codes!(c, user_id, first_codes, now);
            Ok(Activated::First)
        })
        .await)
}

/// What [`activate_factor`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Activated {
    /// The user's first active factor: the recovery codes given were stored.
    First,
    /// Another active factor beside earlier ones.
    Another,
    /// There was no such pending factor.
    NotPending,
}

/// Inside a transaction on `$c`: the user's recovery codes become `$hashes`.
macro_rules! replace_codes {
    ($c:ident, $user:expr, $hashes:expr, $now:expr) => {{
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq($user)))
            .execute($c)
            .await?;
        for hash in $hashes {
            diesel::insert_into(recovery_codes::table)
                .values((
                    recovery_codes::code_hash.eq(hash),
                    recovery_codes::user_id.eq($user),
                    recovery_codes::created_at.eq($now),
                ))
                .execute($c)
                .await?;
        }
    }};
}
use replace_codes;

/// A new set of recovery codes (hashes) for `user_id`, the old set void.
pub async fn replace_recovery_codes(
    db: &Database,
    user_id: &str,
    hashes: &[String],
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            replace_codes!(c, user_id, hashes, now);
            record!(
                c,
                [&AuditEventRow::new(AuditKind::RecoveryCodesRenewed, now).user(user_id)]
            );
            Ok::<_, StorageError>(())
        })
        .await)
}

/// Uses recovery code `hash` of `user_id`: one conditional write, so it works once. Returns how
/// many unused codes remain, or `None` when the code is not one of the user's unused ones.
pub async fn use_recovery_code(
    db: &Database,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> Result<Option<i64>, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::update(
                recovery_codes::table
                    .find(hash)
                    .filter(recovery_codes::user_id.eq(user_id))
                    .filter(recovery_codes::used_at.is_null()),
            )
            .set(recovery_codes::used_at.eq(now))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok::<_, StorageError>(None);
            }
            let left: i64 = recovery_codes::table
                .filter(recovery_codes::user_id.eq(user_id))
                .filter(recovery_codes::used_at.is_null())
                .count()
                .get_result(c)
                .await?;
            Ok(Some(left))
        })
        .await)
}

/// How many unused recovery codes the user has.
pub async fn recovery_codes_left(db: &Database, user_id: &str) -> Result<i64, StorageError> {
    run_read!(db, |c| Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(c)
        .await?))
}

pub async fn rename_factor(
    db: &Database,
    user_id: &str,
    id: &str,
    name: &str,
) -> Result<bool, StorageError> {
    run!(db, |c| {
        let n = diesel::update(factors::table.find(id).filter(factors::user_id.eq(user_id)))
            .set(factors::name.eq(name))
            .execute(c)
            .await?;
        Ok(n == 1)
    })
}

/// Removes a factor of `user_id`; with the last active one gone, the recovery codes go too.
/// Returns whether there was one.
pub async fn delete_factor(
    db: &Database,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let gone: Option<(String, String, bool)> = factors::table
                .find(id)
                .filter(factors::user_id.eq(user_id))
                .select((factors::kind, factors::name, factors::active))
                .first(c)
                .await
                .optional()?;
            let n = diesel::delete(factors::table.find(id).filter(factors::user_id.eq(user_id)))
                .execute(c)
                .await?;
            if n == 1
                && let Some((kind, name, true)) = gone
            {
                let removed = AuditEventRow::new(AuditKind::FactorRemoved, now)
                    .user(user_id)
                    .detail(serde_json::json!({"type": kind, "name": name}));
                record!(c, [&removed]);
            }
            let left: i64 = factors::table
                .filter(factors::user_id.eq(user_id))
                .filter(factors::active.eq(true))
                .count()
                .get_result(c)
                .await?;
            if left == 0 {
                diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
                    .execute(c)
                    .await?;
            }
            Ok::<_, StorageError>(n == 1)
        })
        .await)
}

/// `authd users reset-mfa`: every factor and recovery code of the user gone, and with them
/// every session, sign-in and unused link (the account may be in someone else's hands).
/// Returns how many factors there were.
/// `reset` (a `factors.reset` event naming who did it) is recorded with the change.
pub async fn reset_factors(
    db: &Database,
    user_id: &str,
    now: NaiveDateTime,
    reset: &AuditEventRow,
) -> Result<usize, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::delete(factors::table.filter(factors::user_id.eq(user_id)))
                .execute(c)
                .await?;
            let mut reset = reset.clone().user(user_id);
            reset.detail = Some(serde_json::json!({ "factors": n }).to_string());
            record!(c, [&reset]);
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
                .execute(c)
                .await?;
            end_user_sessions!(c, user_id, "", now);
            Ok::<_, StorageError>(n)
        })
        .await)
}

/// Pending factors (enrolment started, never confirmed) older than `before`.
pub async fn purge_pending(db: &Database, before: NaiveDateTime) -> Result<usize, StorageError> {
    run!(db, |c| Ok(diesel::delete(
        factors::table
            .filter(factors::active.eq(false))
            .filter(factors::created_at.lt(before)),
    )
    .execute(c)
    .await?))
}

/// The active passkey registered with credential id `credential_id`, whoever holds it.
pub async fn find_passkey(
    db: &Database,
    credential_id: &str,
) -> Result<Option<FactorRow>, StorageError> {
    run_read!(db, |c| Ok(factors::table
        .filter(factors::credential_id.eq(credential_id))
        .filter(factors::active.eq(true))
        .select(FactorRow::as_select())
        .first(c)
        .await
        .optional()?))
}
