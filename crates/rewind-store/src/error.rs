//! Storage errors, mapped from `sqlx::Error` in one place.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `incident 0192…`.
        what: String,
    },
    /// A uniqueness or other constraint refused the write.
    #[error("conflicts with an existing record (constraint `{constraint}`)")]
    Conflict {
        /// The database constraint that refused it.
        constraint: String,
    },
    /// A stored value could not be turned back into a model type: the
    /// database was edited by hand or by a newer version.
    #[error("stored value is invalid ({column}): {reason}")]
    Corrupt {
        /// The column holding the bad value.
        column: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The database URL is not one Rewind understands.
    #[error(
        "unsupported database url `{0}`: use sqlite://PATH (embedded) or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return Self::Conflict {
                constraint: db.constraint().unwrap_or("unique").to_owned(),
            };
        }
        Self::Database(e)
    }
}
