//! The story suite: every `Store` behaviour, run against SQLite always and
//! against PostgreSQL when `REWIND_TEST_PG_URL` is set (skipped loudly
//! otherwise; `scripts/test` sets it when a local server answers).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

mod admin;
mod ingest;
mod lifecycle;
mod list;
mod replay_prop;
mod schema;

use std::{str::FromStr as _, sync::Arc};

use rewind_model::{
    BundleId, Comparison, DeviceId, Evidence, SeriesName, Severity, TimeRange, Timestamp, Trigger,
};
use rewind_store::{NewBundle, Store};
use sqlx::{ConnectOptions as _, Connection as _};

/// Where a test store lives, for reaching its database behind the store's back.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    Sqlite { url: String },
    Postgres { url: String, schema: String },
}

/// A store on one backend, with fresh, empty tables.
pub(crate) struct Backend {
    pub store: Arc<dyn Store>,
    pub location: Location,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// Which backend, for assertion messages.
    pub fn name(&self) -> &'static str {
        self.store.backend()
    }

    /// Runs `sql` on a separate connection to the same database.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.location {
            Location::Sqlite { url } => {
                let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                    .connect()
                    .await?;
                let r = sqlx::query(sql).execute(&mut c).await?;
                c.close().await?;
                Ok(r.rows_affected())
            }
            Location::Postgres { url, schema } => {
                let mut c = sqlx::postgres::PgConnectOptions::from_str(url)?
                    .options([("search_path", schema.as_str())])
                    .connect()
                    .await?;
                let r = sqlx::query(sql).execute(&mut c).await?;
                c.close().await?;
                Ok(r.rows_affected())
            }
        }
    }
}

/// The PostgreSQL URL to test against, if any (announced loudly when not).
pub(crate) fn pg_url() -> Option<String> {
    match std::env::var("REWIND_TEST_PG_URL") {
        Ok(pg) if !pg.is_empty() => Some(pg),
        _ => {
            eprintln!(
                "\n*** SKIPPED the PostgreSQL half of the store story suite: REWIND_TEST_PG_URL \
                 is not set (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n"
            );
            None
        }
    }
}

/// A fresh SQLite location in a new temporary directory.
pub(crate) fn sqlite_location() -> (Location, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rewind.db").display());
    (Location::Sqlite { url }, dir)
}

/// A fresh PostgreSQL schema name.
pub(crate) fn pg_schema() -> String {
    format!("rewind_test_{}", uuid::Uuid::new_v4().simple())
}

/// Opens the store at `location` (migrating it).
pub(crate) async fn open_at(location: &Location) -> Arc<dyn Store> {
    match location {
        Location::Sqlite { url } => rewind_store::open(url).await.unwrap(),
        Location::Postgres { url, schema } => rewind_store::open_postgres_in_schema(url, schema)
            .await
            .unwrap(),
    }
}

/// A store on each available backend, each with fresh, empty tables.
pub(crate) async fn backends() -> Vec<Backend> {
    let (location, dir) = sqlite_location();
    let mut out = vec![Backend {
        store: open_at(&location).await,
        location,
        _dir: Some(dir),
    }];
    if let Some(url) = pg_url() {
        let location = Location::Postgres {
            url,
            schema: pg_schema(),
        };
        out.push(Backend {
            store: open_at(&location).await,
            location,
            _dir: None,
        });
    }
    out
}

/// A trigger of `rule` on `device` at `at_ms`, with `labels`.
pub(crate) fn trigger(
    rule: &str,
    at_ms: i64,
    severity: Severity,
    labels: &[(&str, &str)],
) -> Trigger {
    let fired_at = Timestamp::from_unix_millis(at_ms);
    Trigger {
        rule: rule.into(),
        rule_type: "metric_threshold".into(),
        severity,
        fired_at,
        summary: format!("cpu.total.busy_pct stayed above 80 for 2.0 s ({rule})"),
        evidence: vec![Evidence::new(
            SeriesName::new("cpu.total.busy_pct").unwrap(),
            Comparison::Above(80.0),
            97.0,
            99.0,
            fired_at.add_nanos(-2_000_000_000),
            21,
        )],
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// A checked bundle carrying `trigger` from `device`.
pub(crate) fn bundle_of(device: &str, trigger: Trigger) -> NewBundle {
    let device_id = DeviceId::new(device).unwrap();
    let fired_at = trigger.fired_at;
    let bundle_id = BundleId::new_v7();
    NewBundle {
        fingerprint: rewind_model::fingerprint(&device_id, &trigger),
        service: trigger.labels.get("service").cloned(),
        fleet: Some("warehouse".into()),
        device_id,
        bundle_id,
        trigger,
        window: TimeRange {
            start: fired_at.add_nanos(-60_000_000_000),
            end: fired_at.add_nanos(3_000_000_000),
        },
        received_at: fired_at.add_nanos(4_000_000_000),
        blob_key: format!("{device}/{bundle_id}.zip"),
        bytes: 4096,
        sha256: "ab".repeat(32),
        actor: format!("device:{device}"),
    }
}

/// A bundle of rule `CPU saturated` from `device` at `at_ms`.
pub(crate) fn bundle(device: &str, at_ms: i64) -> NewBundle {
    bundle_of(device, trigger("CPU saturated", at_ms, Severity::High, &[]))
}
