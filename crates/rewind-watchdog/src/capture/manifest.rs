//! `manifest.json`, the table of contents of one capture.
//!
//! ```text
//! {
//!   "format": 1,
//!   "kind": "fds",                          // the capture kind = its directory
//!   "id": "fds/20261123T100000.123Z",       // <kind>/<name>
//!   "at": "2026-11-23T10:00:00.123Z",
//!   "pid": 4242, "host": "svc-1", "version": "1.4.0",
//!   "triggers": [{"breach": {...}, "message": "open file descriptors is 870, above 80% of RLIMIT_NOFILE 1024 (819)"}],
//!   "sample": {...}, "limits": {...},
//!   "files":   [{"path": "stacks.txt", "bytes": 9120, "what": "..."}],
//!   "pending": [{"path": "cpu.pprof", "bytes": 0, "what": "... until 2026-11-23T10:00:05.123Z"}],
//!   "notes":   ["heap profile unavailable: built without the `jemalloc` feature"],
//!   "baseline": "baseline/20261123T095000.000Z",
//!   "stacks_ms": 41.7
//! }
//! ```
//!
//! A pending file is written later by its own thread; then it moves from
//! `pending` to `files` (or becomes a note) and the manifest is replaced
//! atomically.

use std::path::Path;

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    thresholds::{Breach, Limits, Sample},
};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// Largest manifest read back.
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// The table of contents of one capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format, 1.
    pub format: u32,
    /// The capture kind: a metric name, `baseline`, `contention` or `crash`.
    pub kind: String,
    /// `<kind>/<name>`: what `list` shows and `download` takes.
    pub id: String,
    /// When it was taken.
    pub at: Timestamp,
    /// The process.
    pub pid: u32,
    /// The host name.
    pub host: String,
    /// The program's version.
    pub version: String,
    /// The breaches that caused it (empty for baselines, contention, crashes).
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// The sample of the tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
    /// The limits of the tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// The files written, relative to the capture directory.
    #[serde(default)]
    pub files: Vec<FileEntry>,
    /// Files still being produced (the CPU profile).
    #[serde(default)]
    pub pending: Vec<FileEntry>,
    /// What is missing or was cut, and why, as sentences.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The baseline copied under `baseline/` (delta mode), as its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Milliseconds from the start of the tick to the thread stacks being written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacks_ms: Option<f64>,
}

/// One breach behind a capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// The breach.
    pub breach: Breach,
    /// Its sentence.
    pub message: String,
}

/// One file of a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the capture directory, `/`-separated.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// What it holds.
    pub what: String,
}

impl Manifest {
    /// Reads `<capture>/manifest.json`.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Parse`].
    pub fn read(capture: &Path) -> Result<Self> {
        use std::io::Read as _;
        let path = capture.join(MANIFEST);
        let file = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
            path,
            message: e.to_string(),
        })
    }

    /// Writes it atomically into `capture`.
    pub(crate) fn write(&self, capture: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::atomic::write_file(&capture.join(MANIFEST), &bytes)
    }
}
