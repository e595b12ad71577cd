//! Server settings (the CLI fills them from flags, `REWIND_*` variables and
//! a config file; see `docs/operations.md`).

use std::{path::PathBuf, time::Duration};

use crate::regress::prometheus::PrometheusConfig;

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
    /// The regression watch: windows and metric sources.
    pub regression: RegressionSettings,
}

/// How the server judges deploys (issue 7; `docs/regressions.md`).
#[derive(Debug, Clone)]
pub struct RegressionSettings {
    /// How long after a deploy its window runs (default 5 min).
    pub window: Duration,
    /// How far back the pre-deploy baseline reaches (default 30 min).
    pub baseline: Duration,
    /// The stretch just before a deploy watched rather than learned from,
    /// so a change that began before it is seen as such (default 2 min).
    pub guard: Duration,
    /// How long after a window ends the verdict waits for late samples
    /// (default 30 s: a Prometheus scrape interval and a little more).
    pub lateness: Duration,
    /// Smallest relative change that is a regression (default 0.05).
    pub min_effect: f64,
    /// Most series watched at once; new series beyond it are dropped and
    /// counted (default 5 000).
    pub max_series: usize,
    /// Points of one series closer together than this are thinned to the
    /// first (default 1 s): memory stays bounded (5 000 series × 37 min at
    /// 1 Hz is about 180 MB at most) whatever rate agents sample at.
    pub min_interval: Duration,
    /// JSON Lines metric files to follow (the seed's format), like `tail -F`.
    pub metric_files: Vec<PathBuf>,
    /// Log files to follow (plain lines starting with a time, or JSON lines).
    pub log_files: Vec<PathBuf>,
    /// A Prometheus server to pull configured queries from.
    pub prometheus: Option<PrometheusConfig>,
}

impl Default for RegressionSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(300),
            baseline: Duration::from_secs(1_800),
            guard: Duration::from_secs(120),
            lateness: Duration::from_secs(30),
            min_effect: 0.05,
            max_series: 5_000,
            min_interval: Duration::from_secs(1),
            metric_files: Vec::new(),
            log_files: Vec::new(),
            prometheus: None,
        }
    }
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
            regression: RegressionSettings::default(),
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
