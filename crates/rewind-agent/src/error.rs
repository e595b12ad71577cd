//! Agent errors.

use std::path::PathBuf;

/// Why the agent could not start or keep going.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The state directory (spool) could not be prepared.
    #[error("cannot prepare the agent state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a bundle failed.
    #[error("cannot write the incident bundle: {0}")]
    Bundle(#[from] rewind_bundle::Error),
    /// The server URL is unusable.
    #[error("invalid server url `{url}`: {reason}")]
    ServerUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A collector's configuration is unusable.
    #[error("collectors.{collector}: {reason}")]
    Collector {
        /// Which collector section.
        collector: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
    /// An internal task failed.
    #[error("agent task failed: {0}")]
    Task(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
