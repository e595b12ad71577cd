//! Connecting to a database by URL and bringing its schema up to date.

use std::{str::FromStr as _, sync::Arc};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{
    Error, Result, Store,
    sql::{PostgresStore, SqliteStore},
};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Opens the store at `url` and applies pending migrations.
///
/// - `sqlite://PATH` (or `sqlite:PATH`): embedded, created if missing, WAL mode.
/// - `postgres://…` or `postgresql://…`: a PostgreSQL server.
///
/// # Errors
/// [`Error::UnsupportedUrl`] for other schemes; database and migration errors otherwise.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Arc::new(SqliteStore::new(pool)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let opts = PgConnectOptions::from_str(url)?;
        open_postgres(opts).await
    } else {
        Err(Error::UnsupportedUrl(url.to_owned()))
    }
}

/// Opens a PostgreSQL store whose tables live in `schema` (created if
/// missing). Lets tests and several Rewind installations share one database.
///
/// # Errors
/// Database and migration errors.
pub async fn open_postgres_in_schema(url: &str, schema: &str) -> Result<Arc<dyn Store>> {
    let valid = !schema.is_empty()
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(Error::UnsupportedUrl(format!(
            "{url} (schema `{schema}` must be [a-z0-9_]+)"
        )));
    }
    let base = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(base.clone())
        .await?;
    // The schema name was checked against [a-z0-9_]+ above.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&pool)
    .await?;
    pool.close().await;
    open_postgres(base.options([("search_path", schema)])).await
}

async fn open_postgres(opts: PgConnectOptions) -> Result<Arc<dyn Store>> {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await?;
    POSTGRES_MIGRATIONS.run(&pool).await?;
    Ok(Arc::new(PostgresStore::new(pool)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn both_dialects_have_the_same_migration_versions() {
        let versions = |dir: &str| -> BTreeSet<String> {
            std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(versions("sqlite"), versions("postgres"));
        assert!(!versions("sqlite").is_empty());
    }

    #[tokio::test]
    async fn refuses_unknown_schemes_with_a_hint() {
        let err = super::open("mysql://x").await.unwrap_err();
        assert!(err.to_string().contains("use sqlite://PATH"), "{err}");
    }
}
