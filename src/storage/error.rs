//! Storage errors: the few cases callers treat differently, and everything else.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the field is the column it guards.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database cannot be reached (down, restarting, pool exhausted): a 503, not a 500.
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
                let field = ["email", "username", "phone"]
                    .into_iter()
                    .find(|f| text.contains(f))
                    .unwrap_or("id");
                StorageError::Conflict(field)
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StorageError::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            // The server went away under a query (a restart, a failover): the connection
            // driver reports it as an unknown database error, known only by its words.
            DieselError::DatabaseError(_, info) if is_connection_loss(info.message()) => {
                StorageError::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            DieselError::BrokenTransactionManager => {
                StorageError::Unavailable(anyhow::anyhow!("the connection broke mid-transaction"))
            }
            other => StorageError::Unexpected(other.into()),
        }
    }
}

/// Messages of a connection lost or refused mid-use: tokio-postgres's own ("connection
/// closed", "error communicating with the server"), and PostgreSQL's while it shuts down or
/// starts (SQLSTATE 57P01 to 57P03).
fn is_connection_loss(message: &str) -> bool {
    const SIGNS: [&str; 7] = [
        // SQLite, when another process held the write lock past `busy_timeout`.
        "database is locked",
        "connection closed",
        "error communicating with the server",
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "server closed the connection",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}
