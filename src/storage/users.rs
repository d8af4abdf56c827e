//! Queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::users;
use super::{Database, StorageError, UserRow, run};

pub async fn find_user_by_id(db: &Database, id: &str) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn find_user_by_email(
    db: &Database,
    email_normalized: &str,
) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| Ok(users::table
        .filter(users::email_normalized.eq(email_normalized))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn find_user_by_phone(
    db: &Database,
    phone: &str,
) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| Ok(users::table
        .filter(users::phone.eq(phone))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn find_user_by_username(
    db: &Database,
    username: &str,
) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Email (normalized), username and phone of one user.
type Identifiers = (Option<String>, Option<String>, Option<String>);

/// Which of the given identifiers an existing user already holds, email first.
pub async fn find_taken_identifier(
    db: &Database,
    email_normalized: &str,
    username: Option<&str>,
    phone: Option<&str>,
    except_user: Option<&str>,
) -> Result<Option<&'static str>, StorageError> {
    let except = except_user.unwrap_or("");
    run!(db, |c| {
        let hits: Vec<Identifiers> = users::table
            .filter(users::id.ne(except))
            .filter(
                users::email_normalized
                    .eq(email_normalized)
                    .or(users::username.eq_any(username.into_iter().collect::<Vec<_>>()))
                    .or(users::phone.eq_any(phone.into_iter().collect::<Vec<_>>())),
            )
            .select((users::email_normalized, users::username, users::phone))
            .load(c)
            .await?;
        let held = |field: usize, want: Option<&str>| {
            want.is_some()
                && hits
                    .iter()
                    .any(|(e, u, p)| [e, u, p][field].as_deref() == want)
        };
        Ok(if held(0, Some(email_normalized)) {
            Some("email")
        } else if held(1, username) {
            Some("username")
        } else if held(2, phone) {
            Some("phone")
        } else {
            None
        })
    })
}

pub async fn insert_user(db: &Database, row: &UserRow) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(users::table)
            .values(row)
            .execute(c)
            .await?;
        Ok(())
    })
}

pub async fn touch_last_login(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(users::table.find(id))
            .set(users::last_login_at.eq(now))
            .execute(c)
            .await?;
        Ok(())
    })
}
