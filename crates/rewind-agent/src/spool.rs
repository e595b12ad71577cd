//! The spool: bundles waiting for upload, as files in one directory.
//!
//! # Layout
//!
//! ```text
//! <state-dir>/spool/
//!   incident_<YYYYMMDDTHHMMSSZ>_<slug>.zip   complete bundles waiting, oldest first by name
//!   .rewind-bundle-*.tmp                     a bundle being written (or left by a crash)
//!   rejected/                                refused for good by the server (4xx); never retried
//!   quarantine/                              damaged bundles moved aside by `rewind agent fsck`
//! ```
//!
//! # Invariants
//!
//! - Every `*.zip` here is complete: `rewind-bundle` writes a temp file,
//!   fsyncs it and renames it into place. After a successful upload the file
//!   is deleted.
//! - The bundle being uploaded ([`Spool::uploading`]) is never deleted by
//!   budget eviction or per-rule rotation; the uploader skips a bundle that
//!   vanished before it got to it.
//! - After each admission ([`Spool::enforce_budget`]) the waiting bundles fit
//!   the budget ([`SpoolConfig`]: bytes and count), unless only critical
//!   bundles and the one in flight are left: those are kept and the overflow
//!   is logged as an ERROR on every admission.
//!
//! # Eviction
//!
//! Lowest severity first, then oldest (see [`evict`]). A bundle's severity is
//! read from the `trigger.severity` of its `manifest.json` (at most 1 MiB is
//! read) and remembered by file name, as a spooled file never changes. A
//! bundle whose manifest cannot be read counts as `info`: it is evicted first
//! (the server would refuse it anyway). Each eviction is logged (WARN) and
//! counted ([`Spool::evicted`]).
//!
//! Because the spool is on disk, bundles survive agent restarts and server
//! outages.

use std::{
    collections::HashMap,
    ffi::OsString,
    io::Read as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rewind_model::Severity;
use serde::Deserialize;

use crate::{Error, Result};

pub(crate) mod evict;
pub mod fsck;

pub use evict::Budget;

/// `spool` in the agent config: the disk budget and the upload retry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// Bytes all waiting bundles may take together; beyond it bundles are evicted
    /// (lowest severity first, then oldest; never critical ones nor the one uploading).
    pub max_bytes: u64,
    /// Bundles that may wait at once; beyond it bundles are evicted the same way.
    pub max_bundles: usize,
    /// Wait after the first failed upload; it doubles after each failure, with jitter.
    #[serde(with = "crate::config::duration")]
    pub retry_initial: Duration,
    /// Longest wait between two upload attempts.
    #[serde(with = "crate::config::duration")]
    pub retry_max: Duration,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024 * 1024,
            max_bundles: 500,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
        }
    }
}

impl SpoolConfig {
    /// The budget part.
    #[must_use]
    pub fn budget(&self) -> Budget {
        Budget {
            max_bytes: self.max_bytes,
            max_bundles: self.max_bundles,
        }
    }

    /// Problems that make these settings unusable, as sentences.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_bundles == 0 {
            out.push("spool.max_bundles must be at least 1".to_owned());
        }
        if self.max_bytes < 1024 * 1024 {
            out.push("spool.max_bytes must be at least 1048576 (1 MiB)".to_owned());
        }
        let (min, max) = (self.retry_initial, self.retry_max);
        if min < Duration::from_millis(10) || max < min || max > Duration::from_secs(3600) {
            out.push(
                "spool.retry_initial must be at least 10ms, and spool.retry_max at least retry_initial and at most 1h"
                    .to_owned(),
            );
        }
        out
    }
}

/// A directory of bundles waiting for upload. Clones share one state (the
/// bundle in flight, the eviction counter).
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    budget: Budget,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// The bundle the uploader is sending now.
    in_flight: Mutex<Option<PathBuf>>,
    /// Held while the budget is enforced, so two admissions do not race.
    admission: Mutex<()>,
    /// Severity by file name (a spooled file never changes).
    severities: Mutex<HashMap<OsString, Severity>>,
    evicted: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The bundle being uploaded; eviction and rotation leave it alone until this is dropped.
#[derive(Debug)]
#[must_use = "the bundle counts as in flight only while this is held"]
pub struct InFlight<'a> {
    spool: &'a Spool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        *lock(&self.spool.shared.in_flight) = None;
    }
}

/// What one [`Spool::enforce_budget`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Eviction {
    /// The bundles deleted, in eviction order.
    pub evicted: Vec<PathBuf>,
    /// Still over budget: only critical bundles (and the one in flight) are left.
    pub over_budget: bool,
}

impl Spool {
    /// Opens (creating if needed) the spool at `dir`, with the default budget.
    ///
    /// # Errors
    /// [`Error::StateDir`] when the directory cannot be created.
    pub fn open(dir: PathBuf) -> Result<Self> {
        fs_err::create_dir_all(dir.join("rejected")).map_err(|source| Error::StateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            budget: SpoolConfig::default().budget(),
            shared: Arc::default(),
        })
    }

    /// The same spool with another budget.
    #[must_use]
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The spool directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bundles evicted to keep within the budget since this spool was opened.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.shared.evicted.load(Ordering::Relaxed)
    }

    /// Waiting bundles, oldest first (bundle names start with their UTC time,
    /// ties broken by name).
    #[must_use]
    pub fn pending(&self) -> Vec<PathBuf> {
        zips_in(&self.dir)
    }

    /// Marks `path` as being uploaded, or `None` when it is gone (uploaded,
    /// evicted or rotated out since it was listed).
    pub fn uploading(&self, path: &Path) -> Option<InFlight<'_>> {
        let mut in_flight = lock(&self.shared.in_flight);
        if !path.try_exists().unwrap_or(false) {
            return None;
        }
        *in_flight = Some(path.to_path_buf());
        Some(InFlight { spool: self })
    }

    /// Forgets an uploaded bundle.
    pub fn done(&self, path: &Path) {
        if let Err(err) = fs_err::remove_file(path) {
            tracing::warn!(error = %err, "cannot remove uploaded bundle from the spool");
        }
    }

    /// Keeps at most `keep` waiting bundles of the rule whose file-name slug
    /// is `slug` (see [`rewind_bundle::rule_slug`]), deleting the oldest;
    /// returns the bundles deleted. The bundle in flight is neither deleted
    /// nor counted (it leaves once the server has it). Two rules whose names
    /// give the same slug share one budget.
    pub fn rotate(&self, slug: &str, keep: usize) -> Vec<PathBuf> {
        let in_flight = lock(&self.shared.in_flight);
        let mine: Vec<PathBuf> = self
            .pending()
            .into_iter()
            .filter(|p| {
                in_flight.as_ref() != Some(p)
                    && p.file_stem()
                        .and_then(|s| s.to_str())
                        .is_some_and(|stem| names_rule(stem, slug))
            })
            .collect();
        let excess = mine.len().saturating_sub(keep);
        let mut removed = Vec::with_capacity(excess);
        for path in mine.into_iter().take(excess) {
            match fs_err::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot rotate an old bundle out of the spool")
                }
            }
        }
        removed
    }

    /// Deletes bundles until the waiting ones fit the budget: lowest severity
    /// first, then oldest; never a critical bundle nor the one in flight.
    /// Blocking (it lists the directory and may open zips): call it off the
    /// async loop.
    pub fn enforce_budget(&self) -> Eviction {
        let _one_at_a_time = lock(&self.shared.admission);
        let files = self.pending();
        let severities = self.severities(&files);
        let in_flight = lock(&self.shared.in_flight);
        let mut listed = Vec::with_capacity(files.len());
        let mut candidates = Vec::with_capacity(files.len());
        for (i, (path, severity)) in files.into_iter().zip(severities).enumerate() {
            // Gone since listed (uploaded): it takes no room any more.
            let Ok(meta) = fs_err::metadata(&path) else {
                continue;
            };
            candidates.push(evict::Candidate {
                size: meta.len(),
                severity,
                time: i as u64,
                in_flight: in_flight.as_ref() == Some(&path),
            });
            listed.push(path);
        }
        let plan = evict::plan(&candidates, self.budget);
        let mut evicted = Vec::with_capacity(plan.evict.len());
        for i in plan.evict {
            let (path, c) = (&listed[i], candidates[i]);
            match fs_err::remove_file(path) {
                Ok(()) => {
                    let total = self.shared.evicted.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(bundle = %path.display(), severity = %c.severity, bytes = c.size, evicted_total = total, "spool over budget: evicted a bundle");
                    evicted.push(path.clone());
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => tracing::warn!(error = %err, "cannot evict a bundle from the spool"),
            }
        }
        drop(in_flight);
        if plan.over_budget {
            tracing::error!(
                max_bytes = self.budget.max_bytes,
                max_bundles = self.budget.max_bundles,
                spool = %self.dir.display(),
                "spool over budget with only critical bundles (and the one uploading) left: keeping them; free disk space or reach the server"
            );
        }
        Eviction {
            evicted,
            over_budget: plan.over_budget,
        }
    }

    /// The severity of each file, from the cache or its manifest; the cache
    /// forgets files no longer listed.
    fn severities(&self, files: &[PathBuf]) -> Vec<Severity> {
        let mut cache = lock(&self.shared.severities);
        let names: Vec<OsString> = files
            .iter()
            .map(|p| p.file_name().unwrap_or_default().to_owned())
            .collect();
        cache.retain(|name, _| names.contains(name));
        files
            .iter()
            .zip(names)
            .map(|(path, name)| {
                *cache.entry(name).or_insert_with(|| {
                    severity_of(path).unwrap_or_else(|| {
                        tracing::warn!(bundle = %path.display(), "cannot read the severity of a spooled bundle; it counts as info");
                        Severity::Info
                    })
                })
            })
            .collect()
    }

    /// Moves a bundle the server refused for good out of the queue.
    pub fn reject(&self, path: &Path) {
        let Some(name) = path.file_name() else { return };
        if let Err(err) = fs_err::rename(path, self.dir.join("rejected").join(name)) {
            tracing::warn!(error = %err, "cannot move refused bundle to rejected/");
        }
    }
}

/// The `*.zip` files directly in `dir`, sorted by name.
pub(crate) fn zips_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "zip"))
        .collect();
    files.sort();
    files
}

/// Most of `manifest.json` read to learn a bundle's severity.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// `trigger.severity` from the bundle's `manifest.json`.
fn severity_of(path: &Path) -> Option<Severity> {
    #[derive(Deserialize)]
    struct Manifest {
        trigger: Trigger,
    }
    #[derive(Deserialize)]
    struct Trigger {
        severity: Severity,
    }
    let file = fs_err::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(file).ok()?;
    let member = zip.by_name(rewind_bundle::MANIFEST_PATH).ok()?;
    let mut bytes = Vec::new();
    member
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice::<Manifest>(&bytes)
        .ok()
        .map(|m| m.trigger.severity)
}

/// Whether the file stem `incident_<time>_<slug>` or `…_<slug>-<n>` names `slug`.
fn names_rule(stem: &str, slug: &str) -> bool {
    let Some(rest) = stem.strip_prefix("incident_") else {
        return false;
    };
    let Some((_time, name)) = rest.split_once('_') else {
        return false;
    };
    name == slug
        || name
            .strip_prefix(slug)
            .and_then(|n| n.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
pub(crate) mod tests;
