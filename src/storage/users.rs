//! Queries on `users`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::users;
use super::{Database, StorageError, UserRow, run};

/// How a user is looked up: by id, or by one of its unique identifiers.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    Id(&'a str),
    /// The lower-cased address.
    Email(&'a str),
    /// E.164.
    Phone(&'a str),
    Username(&'a str),
}

pub async fn find_user(db: &Database, key: UserKey<'_>) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| {
        let query = users::table.select(UserRow::as_select()).into_boxed();
        let query = match key {
            UserKey::Id(id) => query.filter(users::id.eq(id)),
            UserKey::Email(e) => query.filter(users::email_normalized.eq(e)),
            UserKey::Phone(p) => query.filter(users::phone.eq(p)),
            UserKey::Username(u) => query.filter(users::username.eq(u)),
        };
        Ok(query.first(c).await.optional()?)
    })
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
