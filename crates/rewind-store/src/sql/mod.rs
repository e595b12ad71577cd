//! The SQL, written once and expanded for each dialect.
//!
//! sqlx's drivers are separate types with no common trait we can be generic
//! over without drowning in bounds, so macros stamp the same method bodies
//! out for SQLite and PostgreSQL (both accept `$N` placeholders). Each topic
//! has its own module and macro (`incidents`, `lifecycle`, `tokens`,
//! `devices`, `deploys`); rows are decoded once, generically, in `rows`.
//!
//! Write transactions: SQLite allows one writer, and a deferred transaction
//! that reads first and then writes fails with `SQLITE_BUSY` when another
//! writer got in between. So every write transaction on SQLite starts with
//! `BEGIN IMMEDIATE` (it takes the write lock up front, waiting up to the
//! pool's busy timeout); PostgreSQL uses plain `BEGIN` (read committed) and
//! row-level compare-and-set updates.
//!
//! The one other difference is the text filter: the case-insensitive match
//! is SQLite's `LIKE` (ASCII case-insensitive) and PostgreSQL's `ILIKE`, and
//! its index (migration 0003) is an FTS5 trigram table that SQLite's query
//! names (`rowid IN (… MATCH …)`) and pg_trgm GIN indexes that PostgreSQL's
//! `ILIKE` uses on its own.

mod checks;
mod deploys;
mod devices;
mod incidents;
mod lifecycle;
pub(crate) mod rows;
mod tokens;

macro_rules! impl_store {
    (
        $store:ident,
        $db:ty,
        $pool:ty,
        $backend:literal,
        $begin:literal,
        $like:literal,
        $text_index:expr
    ) => {
        /// A [`crate::Store`] on this dialect.
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: $pool,
        }

        impl $store {
            /// Wraps a connected pool whose migrations have run.
            pub(crate) fn new(pool: $pool) -> Self {
                Self { pool }
            }

            /// Starts a transaction that will write.
            async fn begin_write(&self) -> $crate::Result<sqlx::Transaction<'static, $db>> {
                Ok(self.pool.begin_with($begin).await?)
            }

            /// One incident row with its first trigger, if it exists.
            async fn incident_row<'e, E>(
                exec: E,
                id: &str,
            ) -> $crate::Result<Option<$crate::sql::rows::IncidentRow>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                Ok(sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::sql::rows::record_columns!(),
                    " FROM incidents WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(exec)
                .await?)
            }
        }

        $crate::sql::incidents::incident_methods!($store, $db, $like, $text_index);
        $crate::sql::lifecycle::lifecycle_methods!($store, $db);
        $crate::sql::tokens::token_methods!($store, $db);
        $crate::sql::devices::device_methods!($store, $db);
        $crate::sql::deploys::deploy_methods!($store, $db);
        $crate::sql::checks::check_methods!($store, $db);

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn ingest(&self, new: &$crate::NewBundle) -> $crate::Result<$crate::Ingested> {
                self.do_ingest(new).await
            }

            async fn list_incidents(
                &self,
                filter: &$crate::IncidentFilter,
            ) -> $crate::Result<$crate::IncidentPage> {
                self.do_list_incidents(filter).await
            }

            async fn get_incident(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<$crate::IncidentRecord> {
                self.do_get_incident(id).await
            }

            async fn transition(
                &self,
                id: rewind_model::IncidentId,
                change: &$crate::TransitionChange,
            ) -> $crate::Result<rewind_model::IncidentSummary> {
                self.do_transition(id, change).await
            }

            async fn add_note(
                &self,
                id: rewind_model::IncidentId,
                actor: &str,
                text: &str,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::TimelineEntry> {
                let change = rewind_model::Change::Note {
                    text: text.to_owned(),
                };
                self.append_entry(id, actor, change, at).await
            }

            async fn attach_deploy(
                &self,
                id: rewind_model::IncidentId,
                deploy: rewind_model::DeployId,
                actor: &str,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::TimelineEntry> {
                self.do_attach_deploy(id, deploy, actor, at).await
            }

            async fn reopen(
                &self,
                id: rewind_model::IncidentId,
                actor: &str,
                reason: Option<&str>,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::IncidentSummary> {
                self.do_reopen(id, actor, reason, at).await
            }

            async fn timeline(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<Vec<rewind_model::TimelineEntry>> {
                self.do_timeline(id).await
            }

            async fn latest_entry(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<Option<rewind_model::TimelineEntry>> {
                self.do_latest_entry(id).await
            }

            async fn bundle(
                &self,
                id: rewind_model::BundleId,
            ) -> $crate::Result<Option<$crate::BundleRecord>> {
                self.do_bundle(id).await
            }

            async fn insert_deploy(
                &self,
                new: &rewind_model::NewDeploy,
                recorded_at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::Deploy> {
                self.do_insert_deploy(new, recorded_at).await
            }

            async fn list_deploys(
                &self,
                filter: &$crate::DeployFilter,
            ) -> $crate::Result<Vec<rewind_model::Deploy>> {
                self.do_list_deploys(filter).await
            }

            async fn get_deploy(
                &self,
                id: rewind_model::DeployId,
            ) -> $crate::Result<rewind_model::Deploy> {
                self.do_get_deploy(id).await
            }

            async fn record_check(
                &self,
                check: &$crate::StoredCheck,
            ) -> $crate::Result<$crate::StoredCheck> {
                self.do_record_check(check).await
            }

            async fn get_check(
                &self,
                deploy: rewind_model::DeployId,
            ) -> $crate::Result<Option<$crate::StoredCheck>> {
                self.do_get_check(deploy).await
            }

            async fn upsert_device(
                &self,
                id: &rewind_model::DeviceId,
                identity: &rewind_model::DeviceIdentity,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::Device> {
                self.do_upsert_device(id, identity, at).await
            }

            async fn touch_device(
                &self,
                id: &rewind_model::DeviceId,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<()> {
                self.do_touch_device(id, at).await
            }

            async fn get_device(
                &self,
                id: &rewind_model::DeviceId,
            ) -> $crate::Result<rewind_model::Device> {
                self.do_get_device(id).await
            }

            async fn list_devices(&self) -> $crate::Result<Vec<rewind_model::Device>> {
                self.do_list_devices().await
            }

            async fn create_token(
                &self,
                new: &$crate::NewToken,
            ) -> $crate::Result<rewind_model::TokenInfo> {
                self.do_create_token(new).await
            }

            async fn list_tokens(&self) -> $crate::Result<Vec<rewind_model::TokenInfo>> {
                self.do_list_tokens().await
            }

            async fn revoke_token(
                &self,
                id: rewind_model::TokenId,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::TokenInfo> {
                self.do_revoke_token(id, at).await
            }

            async fn token_by_hash(
                &self,
                secret_hash: &str,
            ) -> $crate::Result<Option<rewind_model::TokenInfo>> {
                self.do_token_by_hash(secret_hash).await
            }

            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> $crate::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

impl_store!(
    SqliteStore,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    "sqlite",
    "BEGIN IMMEDIATE",
    "LIKE",
    Some(" AND rowid IN (SELECT rowid FROM incidents_text WHERE incidents_text MATCH ")
);
impl_store!(
    PostgresStore,
    sqlx::Postgres,
    sqlx::PgPool,
    "postgres",
    "BEGIN",
    "ILIKE",
    None
);
