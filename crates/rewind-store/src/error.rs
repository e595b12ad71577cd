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
    /// The bundle id was stored before with different contents.
    #[error("bundle {bundle_id} was stored before with different contents")]
    BundleConflict {
        /// The reused id.
        bundle_id: rewind_model::BundleId,
    },
    /// The lifecycle does not allow this move from the incident's status.
    #[error("cannot move incident from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: rewind_model::IncidentStatus,
        /// Asked-for status.
        to: rewind_model::IncidentStatus,
        /// What is allowed from `from`.
        allowed: Vec<rewind_model::IncidentStatus>,
    },
    /// The incident is resolved and therefore immutable.
    #[error("incident {id} is resolved and can no longer change")]
    Immutable {
        /// The incident.
        id: rewind_model::IncidentId,
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

impl Error {
    /// A stored value that does not decode.
    pub(crate) fn corrupt(column: &'static str, reason: impl ToString) -> Self {
        Self::Corrupt {
            column,
            reason: reason.to_string(),
        }
    }

    /// No row with this description.
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
}
