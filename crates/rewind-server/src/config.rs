//! Server settings.

use std::path::PathBuf;

/// Where the server keeps its state and how much it accepts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Directory for the embedded database and the bundle files.
    pub state_dir: PathBuf,
    /// Database URL; `None` means embedded SQLite at `<state_dir>/rewind.db`.
    pub database_url: Option<String>,
    /// Largest bundle accepted, in bytes.
    pub max_bundle_bytes: u64,
}

impl ServerConfig {
    /// Defaults: embedded SQLite in `state_dir`, 64 MiB bundles.
    #[must_use]
    pub fn new(state_dir: PathBuf) -> Self {
        Self {
            state_dir,
            database_url: None,
            max_bundle_bytes: 64 * 1024 * 1024,
        }
    }

    /// The database URL in effect.
    #[must_use]
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.state_dir.join("rewind.db").display()))
    }

    /// Where bundle files are kept.
    #[must_use]
    pub fn bundle_dir(&self) -> PathBuf {
        self.state_dir.join("bundles")
    }
}
