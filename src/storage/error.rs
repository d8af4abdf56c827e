//! Storage errors: the few cases callers treat differently, and everything else.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the field is the column it guards.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database cannot serve the request, through no fault of the request's: down,
    /// restarting, pool or connection slots exhausted, read-only (a failover to a standby),
    /// disk full, a lock or statement timeout. A 503 with `Retry-After`, not a 500.
    #[error("the database is unavailable: {0}")]
    Unavailable(anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl StorageError {
    /// Whether `error` comes from a database that cannot be reached, wherever it was wrapped.
    pub fn is_unavailable(error: &anyhow::Error) -> bool {
        error.chain().any(|e| {
            matches!(
                e.downcast_ref::<StorageError>(),
                Some(StorageError::Unavailable(_))
            )
        })
    }
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
                let field = ["credential_id", "email", "username", "phone"]
                    .into_iter()
                    .find(|f| text.contains(f))
                    .unwrap_or("id");
                StorageError::Conflict(field)
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StorageError::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                StorageError::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            // The server went away under a query (a restart, a failover), or cannot write:
            // the drivers report most of it as unknown database errors, known only by their
            // words.
            DieselError::DatabaseError(_, info) if is_outage(info.message()) => {
                StorageError::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            DieselError::BrokenTransactionManager => {
                StorageError::Unavailable(anyhow::anyhow!("the connection broke mid-transaction"))
            }
            other => StorageError::Unexpected(other.into()),
        }
    }
}

/// Messages of a database that cannot serve, whatever the request: a connection lost or
/// refused mid-use (tokio-postgres's own words, and PostgreSQL's while it shuts down or starts,
/// SQLSTATE 57P01 to 57P03), connection slots exhausted (53300), a read-only server (25006, a
/// standby after a failover), a full disk (53100; SQLite's SQLITE_FULL), statement and lock
/// timeouts (57014, 55P03), and SQLite's lock held elsewhere past its wait, read-only file or
/// failing disk.
fn is_outage(message: &str) -> bool {
    const SIGNS: [&str; 17] = [
        "database is locked",
        "connection closed",
        "error communicating with the server",
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection",
        "too many clients already",
        "remaining connection slots are reserved",
        "read-only transaction",
        "could not extend file",
        "No space left on device",
        "canceling statement due to",
        "database or disk is full",
        "attempt to write a readonly database",
        "disk I/O error",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_the_rest_unexpected() {
        for message in [
            "cannot execute INSERT in a read-only transaction",
            "database or disk is full",
            "sorry, too many clients already",
            "canceling statement due to statement timeout",
            "canceling statement due to lock timeout",
            "could not extend file \"base/16384/2619\": No space left on device",
            "attempt to write a readonly database",
        ] {
            assert!(is_outage(message), "{message}");
        }
        assert!(!is_outage("syntax error at or near \"SELEC\""));
        assert!(!is_outage(
            "null value in column \"id\" violates not-null constraint"
        ));
    }
}
