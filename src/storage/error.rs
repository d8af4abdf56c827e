//! Storage errors: the few cases callers treat differently, and everything else.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the field is the column it guards.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StorageError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // PostgreSQL names the constraint (`users_phone_key`); SQLite only says
                // `UNIQUE constraint failed: users.phone`. Both mention the column.
                let text = format!(
                    "{} {}",
                    info.constraint_name().unwrap_or(""),
                    info.message()
                );
                let field = ["email", "username", "phone"]
                    .into_iter()
                    .find(|f| text.contains(f))
                    .unwrap_or("id");
                StorageError::Conflict(field)
            }
            other => StorageError::Unexpected(other.into()),
        }
    }
}
