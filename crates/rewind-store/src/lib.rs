//! Rewind's storage: one [`Store`] trait with an embedded SQLite
//! implementation (the zero-setup default) and a PostgreSQL one (for real
//! deployments), kept behaviourally identical by one story test suite run
//! against both (`tests/it`).
//!
//! The trait speaks in use cases (`ingest`, `list_incidents`, `transition`,
//! …), never SQL. Both dialects share the same SQL text (sqlx accepts `$N`
//! placeholders on SQLite too; see `src/sql/`) and have their own migration
//! directory, `migrations/sqlite/` and `migrations/postgres/`, versioned in
//! lockstep.
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
pub use records::{
    BundleRecord, Cursor, DeployFilter, IncidentFilter, IncidentPage, IncidentRecord,
    IngestOutcome, Ingested, NewBundle, NewToken, StoredCheck, TransitionChange,
};

use async_trait::async_trait;
use rewind_model::{
    BundleId, Deploy, Device, DeviceId, DeviceIdentity, IncidentId, IncidentSummary, NewDeploy,
    TimelineEntry, Timestamp, TokenId, TokenInfo,
};

/// Everything the server keeps, behind one interface.
///
/// Writes that touch an incident are transactions: the incident row and its
/// timeline entry are written together or not at all. The timeline is
/// append-only (the database refuses updates and deletes), and a resolved
/// incident is never changed again (the database refuses that too).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ---- incidents -------------------------------------------------------

    /// Stores a checked bundle: opens an incident, or joins the active one
    /// with the same fingerprint as a new occurrence. Idempotent: the same
    /// bundle id with the same hash answers [`IngestOutcome::AlreadyStored`].
    ///
    /// # Errors
    /// [`Error::BundleConflict`] when the bundle id was stored with another hash.
    async fn ingest(&self, new: &NewBundle) -> Result<Ingested>;

    /// One page of incidents matching `filter`, newest trigger first.
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<IncidentPage>;

    /// One incident with what the server keeps about it.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such incident.
    async fn get_incident(&self, id: IncidentId) -> Result<IncidentRecord>;

    /// Moves an incident along its lifecycle and records it on the timeline.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::InvalidTransition`] (with the allowed
    /// moves) when the lifecycle forbids it from the current status.
    async fn transition(
        &self,
        id: IncidentId,
        change: &TransitionChange,
    ) -> Result<IncidentSummary>;

    /// Appends a note to an active incident's timeline.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Immutable`] when the incident is resolved.
    async fn add_note(
        &self,
        id: IncidentId,
        actor: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<TimelineEntry>;

    /// Links a stored deploy to an active incident (a timeline entry).
    ///
    /// # Errors
    /// [`Error::NotFound`] for the incident or the deploy; [`Error::Immutable`].
    async fn attach_deploy(
        &self,
        id: IncidentId,
        deploy: rewind_model::DeployId,
        actor: &str,
        at: Timestamp,
    ) -> Result<TimelineEntry>;

    /// Opens a new incident that reopens a resolved one: same device, rule,
    /// fingerprint and first trigger, `reopened_from` set, the old one untouched.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::InvalidTransition`] when the incident is
    /// not resolved; [`Error::Conflict`] when its fingerprint already has an
    /// active incident (reopen that one's work instead).
    async fn reopen(
        &self,
        id: IncidentId,
        actor: &str,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<IncidentSummary>;

    /// The incident's timeline, oldest first.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such incident.
    async fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>>;

    /// The incident's newest timeline entry (one row, however long the
    /// timeline is); `None` when there is no such incident.
    async fn latest_entry(&self, id: IncidentId) -> Result<Option<TimelineEntry>>;

    /// A stored bundle, by id.
    async fn bundle(&self, id: BundleId) -> Result<Option<BundleRecord>>;

    // ---- deploys ---------------------------------------------------------

    /// Records a deploy (already validated). `at` defaults to `recorded_at`.
    async fn insert_deploy(&self, new: &NewDeploy, recorded_at: Timestamp) -> Result<Deploy>;

    /// Deploys matching `filter`, newest first.
    async fn list_deploys(&self, filter: &DeployFilter) -> Result<Vec<Deploy>>;

    /// One deploy.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    async fn get_deploy(&self, id: rewind_model::DeployId) -> Result<Deploy>;

    /// Records a deploy's final regression verdict. A deploy is decided
    /// once: when it already has one, the stored one is kept and returned.
    ///
    /// # Errors
    /// [`Error::NotFound`] for the deploy; [`Error::Conflict`] for a
    /// verdict word other than the three.
    async fn record_check(&self, check: &StoredCheck) -> Result<StoredCheck>;

    /// A deploy's final verdict, when it has one.
    async fn get_check(&self, deploy: rewind_model::DeployId) -> Result<Option<StoredCheck>>;

    // ---- devices ---------------------------------------------------------

    /// Registers a device or updates what it reported; `last_seen_at = at`.
    async fn upsert_device(
        &self,
        id: &DeviceId,
        identity: &DeviceIdentity,
        at: Timestamp,
    ) -> Result<Device>;

    /// Marks a device seen (an upload, a sample batch) without changing its
    /// identity; registers it with an empty identity if it is new.
    async fn touch_device(&self, id: &DeviceId, at: Timestamp) -> Result<()>;

    /// One device.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    async fn get_device(&self, id: &DeviceId) -> Result<Device>;

    /// Every device, by id.
    async fn list_devices(&self) -> Result<Vec<Device>>;

    // ---- tokens ----------------------------------------------------------

    /// Stores a token (hashed).
    ///
    /// # Errors
    /// [`Error::Conflict`] when a token with that hash exists.
    async fn create_token(&self, new: &NewToken) -> Result<TokenInfo>;

    /// Every token, newest first, revoked and expired ones included.
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>>;

    /// Revokes a token (idempotent: revoking twice keeps the first time).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    async fn revoke_token(&self, id: TokenId, at: Timestamp) -> Result<TokenInfo>;

    /// The token whose secret hashes to `secret_hash`, usable or not.
    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<TokenInfo>>;

    // ---- housekeeping ----------------------------------------------------

    /// Which backend this is (`sqlite` or `postgres`), for logs and `/healthz`.
    fn backend(&self) -> &'static str;

    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
}
