//! Rewind's storage: one [`Store`] trait with an embedded SQLite
//! implementation (the zero-setup default) and a PostgreSQL one (for real
//! deployments), kept behaviourally identical by one story test suite run
//! against both (`tests/it`).
//!
//! The trait speaks in use cases (`insert_incident`, `list_incidents`, …),
//! never SQL. Both dialects share the same SQL text (sqlx accepts `$N`
//! placeholders on SQLite too) and have their own migration directory,
//! `migrations/sqlite/` and `migrations/postgres/`, versioned in lockstep.
//!
//! ```no_run
//! # async fn demo() -> rewind_store::Result<()> {
//! let store = rewind_store::open("sqlite://./state/rewind.db").await?;
//! let incidents = store.list_incidents(&rewind_store::IncidentFilter::default()).await?;
//! # Ok(()) }
//! ```

mod error;
mod open;
mod records;
mod sql;

pub use error::{Error, Result};
pub use open::{open, open_postgres_in_schema};
pub use records::{IncidentFilter, IncidentRecord, NewIncident};

use async_trait::async_trait;
use rewind_model::{BundleId, IncidentId, IncidentSummary};

/// Everything the server keeps, behind one interface.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores a new incident and returns it as listed.
    ///
    /// # Errors
    /// [`Error::Conflict`] when an incident for the same bundle id exists.
    async fn insert_incident(&self, new: &NewIncident) -> Result<IncidentSummary>;

    /// Incidents matching `filter`, newest trigger first.
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<IncidentSummary>>;

    /// One incident with what the server keeps about it.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such incident.
    async fn get_incident(&self, id: IncidentId) -> Result<IncidentRecord>;

    /// The incident that a bundle created, if that bundle was stored already.
    async fn incident_by_bundle(&self, bundle: BundleId) -> Result<Option<IncidentRecord>>;

    /// Which backend this is (`sqlite` or `postgres`), for logs and `/healthz`.
    fn backend(&self) -> &'static str;

    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
}
