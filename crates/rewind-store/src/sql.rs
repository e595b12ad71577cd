//! The SQL, written once and expanded for each dialect.
//!
//! sqlx's drivers are separate types with no common trait we can be generic
//! over without drowning in bounds, so a macro stamps the same method bodies
//! out for SQLite and PostgreSQL. Both accept `$N` placeholders.

use rewind_model::{
    BundleId, DeviceId, IncidentId, IncidentStatus, IncidentSummary, Severity, TimeRange,
    Timestamp, Trigger,
};

use crate::{Error, IncidentRecord, Result};

/// The incident columns, as a macro so queries stay `&'static str` (sqlx
/// refuses dynamic SQL strings unless they are audited).
macro_rules! columns {
    () => {
        "id, device_id, bundle_id, rule, rule_type, severity, status, summary, triggered_at, \
         window_start, window_end, received_at, bundle_path, bundle_bytes, bundle_sha256, \
         trigger_json"
    };
}

/// One row as plain values, decoded per dialect and converted here once.
pub(crate) struct RawRow {
    pub id: String,
    pub device_id: String,
    pub bundle_id: String,
    pub rule: String,
    pub severity: String,
    pub status: String,
    pub summary: String,
    pub triggered_at: i64,
    pub window_start: i64,
    pub window_end: i64,
    pub received_at: i64,
    pub bundle_path: String,
    pub bundle_bytes: i64,
    pub bundle_sha256: String,
    pub trigger_json: String,
}

fn corrupt(column: &'static str, reason: impl ToString) -> Error {
    Error::Corrupt {
        column,
        reason: reason.to_string(),
    }
}

impl RawRow {
    pub(crate) fn into_record(self) -> Result<IncidentRecord> {
        let trigger: Trigger =
            serde_json::from_str(&self.trigger_json).map_err(|e| corrupt("trigger_json", e))?;
        let summary = IncidentSummary {
            id: self
                .id
                .parse::<IncidentId>()
                .map_err(|e| corrupt("id", e))?,
            device_id: DeviceId::new(self.device_id).map_err(|e| corrupt("device_id", e))?,
            bundle_id: self
                .bundle_id
                .parse::<BundleId>()
                .map_err(|e| corrupt("bundle_id", e))?,
            rule: self.rule,
            severity: self
                .severity
                .parse::<Severity>()
                .map_err(|e| corrupt("severity", e))?,
            status: self
                .status
                .parse::<IncidentStatus>()
                .map_err(|e| corrupt("status", e))?,
            summary: self.summary,
            triggered_at: Timestamp::from_unix_nanos(self.triggered_at),
            window: TimeRange {
                start: Timestamp::from_unix_nanos(self.window_start),
                end: Timestamp::from_unix_nanos(self.window_end),
            },
            received_at: Timestamp::from_unix_nanos(self.received_at),
            bundle_bytes: u64::try_from(self.bundle_bytes)
                .map_err(|e| corrupt("bundle_bytes", e))?,
        };
        Ok(IncidentRecord {
            summary,
            trigger,
            bundle_path: self.bundle_path,
            bundle_sha256: self.bundle_sha256,
        })
    }
}

/// Severities at or above `min`, as SQL string literals (they come from an
/// enum, never from input, so inlining them is safe).
pub(crate) fn severity_in_list(min: Severity) -> String {
    Severity::ALL
        .iter()
        .filter(|s| **s >= min)
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! impl_store {
    ($store:ident, $db:ty, $pool:ty, $backend:literal) => {
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

            fn decode(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::IncidentRecord> {
                use sqlx::Row as _;
                $crate::sql::RawRow {
                    id: row.try_get("id")?,
                    device_id: row.try_get("device_id")?,
                    bundle_id: row.try_get("bundle_id")?,
                    rule: row.try_get("rule")?,
                    severity: row.try_get("severity")?,
                    status: row.try_get("status")?,
                    summary: row.try_get("summary")?,
                    triggered_at: row.try_get("triggered_at")?,
                    window_start: row.try_get("window_start")?,
                    window_end: row.try_get("window_end")?,
                    received_at: row.try_get("received_at")?,
                    bundle_path: row.try_get("bundle_path")?,
                    bundle_bytes: row.try_get("bundle_bytes")?,
                    bundle_sha256: row.try_get("bundle_sha256")?,
                    trigger_json: row.try_get("trigger_json")?,
                }
                .into_record()
            }
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn insert_incident(
                &self,
                new: &$crate::NewIncident,
            ) -> $crate::Result<rewind_model::IncidentSummary> {
                let id = rewind_model::IncidentId::new_v7();
                let trigger_json = serde_json::to_string(&new.trigger).map_err(|e| {
                    $crate::Error::Corrupt { column: "trigger_json", reason: e.to_string() }
                })?;
                let bytes = i64::try_from(new.bundle_bytes).unwrap_or(i64::MAX);
                sqlx::query(concat!(
                    "INSERT INTO incidents (",
                    columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ))
                    .bind(id.to_string())
                    .bind(new.device_id.as_str())
                    .bind(new.bundle_id.to_string())
                    .bind(&new.trigger.rule)
                    .bind(&new.trigger.rule_type)
                    .bind(new.trigger.severity.as_str())
                    .bind($crate::NewIncident::INITIAL_STATUS.as_str())
                    .bind(&new.trigger.summary)
                    .bind(new.trigger.fired_at.as_unix_nanos())
                    .bind(new.window.start.as_unix_nanos())
                    .bind(new.window.end.as_unix_nanos())
                    .bind(new.received_at.as_unix_nanos())
                    .bind(&new.bundle_path)
                    .bind(bytes)
                    .bind(&new.bundle_sha256)
                    .bind(trigger_json)
                    .execute(&self.pool)
                    .await?;
                Ok(self.get_incident(id).await?.summary)
            }

            async fn list_incidents(
                &self,
                filter: &$crate::IncidentFilter,
            ) -> $crate::Result<Vec<rewind_model::IncidentSummary>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM incidents WHERE 1 = 1"
                ));
                if let Some(device) = &filter.device_id {
                    qb.push(" AND device_id = ").push_bind(device.as_str().to_owned());
                }
                if let Some(min) = filter.min_severity {
                    qb.push(format!(" AND severity IN ({})", $crate::sql::severity_in_list(min)));
                }
                qb.push(" ORDER BY triggered_at DESC, id DESC LIMIT ")
                    .push_bind(i64::from(filter.limit));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(|r| Self::decode(r).map(|rec| rec.summary)).collect()
            }

            async fn get_incident(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<$crate::IncidentRecord> {
                let sql = concat!("SELECT ", columns!(), " FROM incidents WHERE id = $1");
                let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
                match row {
                    Some(row) => Self::decode(&row),
                    None => Err($crate::Error::NotFound { what: format!("incident {id}") }),
                }
            }

            async fn incident_by_bundle(
                &self,
                bundle: rewind_model::BundleId,
            ) -> $crate::Result<Option<$crate::IncidentRecord>> {
                let sql = concat!("SELECT ", columns!(), " FROM incidents WHERE bundle_id = $1");
                let row =
                    sqlx::query(sql).bind(bundle.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::decode).transpose()
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

impl_store!(SqliteStore, sqlx::Sqlite, sqlx::SqlitePool, "sqlite");
impl_store!(PostgresStore, sqlx::Postgres, sqlx::PgPool, "postgres");
