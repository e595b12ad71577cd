//! Server settings (the CLI fills them from flags, `REWIND_*` variables and
//! a config file; see `docs/operations.md`).

use std::path::PathBuf;

/// TLS certificate and key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Where the server keeps its state and how much it accepts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Directory for the embedded database and the bundle files.
    pub state_dir: PathBuf,
    /// Database URL; `None` means embedded SQLite at `<state_dir>/rewind.db`.
    pub database_url: Option<String>,
    /// Blob store URL (`s3://bucket/prefix`); `None` means `<state_dir>/bundles`.
    pub blob_url: Option<String>,
    /// Largest bundle accepted, in bytes.
    pub max_bundle_bytes: u64,
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    /// Sustained requests per second allowed per token.
    pub rate_limit_per_second: u32,
    /// Requests a token may send in a burst above the sustained rate.
    pub rate_limit_burst: u32,
    /// TLS, when the server terminates it itself.
    pub tls: Option<TlsFiles>,
}

impl ServerConfig {
    /// Defaults: embedded SQLite in `state_dir`, 64 MiB bundles, 1 MiB JSON,
    /// 50 requests/s per token with bursts of 200, no TLS.
    #[must_use]
    pub fn new(state_dir: PathBuf) -> Self {
        Self {
            state_dir,
            database_url: None,
            blob_url: None,
            max_bundle_bytes: 64 * 1024 * 1024,
            max_json_bytes: 1024 * 1024,
            rate_limit_per_second: 50,
            rate_limit_burst: 200,
            tls: None,
        }
    }

    /// The database URL in effect.
    #[must_use]
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.state_dir.join("rewind.db").display()))
    }

    /// Where bundle files are kept when no blob URL is set.
    #[must_use]
    pub fn bundle_dir(&self) -> PathBuf {
        self.state_dir.join("bundles")
    }
}
