//! The story suite: every `Store` behaviour, run against SQLite always and
//! against PostgreSQL when `REWIND_TEST_PG_URL` is set (skipped loudly
//! otherwise; `scripts/test` sets it when a local server answers).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is the failure report

mod stories;

use std::sync::Arc;

use rewind_store::Store;

/// A store on each available backend, each with fresh, empty tables.
pub(crate) async fn backends() -> Vec<(Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rewind.db").display());
    let mut out = vec![(rewind_store::open(&url).await.unwrap(), Some(dir))];
    match std::env::var("REWIND_TEST_PG_URL") {
        Ok(pg) if !pg.is_empty() => {
            let schema = format!("rewind_test_{}", uuid::Uuid::new_v4().simple());
            out.push((
                rewind_store::open_postgres_in_schema(&pg, &schema)
                    .await
                    .unwrap(),
                None,
            ));
        }
        _ => eprintln!(
            "\n*** SKIPPED the PostgreSQL half of the store story suite: REWIND_TEST_PG_URL is \
             not set (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n"
        ),
    }
    out
}
