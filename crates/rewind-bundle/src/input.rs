//! What the agent hands the writer, and the checks that input must pass.

use std::collections::{BTreeMap, HashSet};

use rewind_model::{BundleId, DeviceId, Event, Sample, SeriesName, TimeRange, Timestamp, Trigger};

use crate::{
    Error, Redaction, Result, layout::check_attachment_path, manifest::check::MAX_FLEET_BYTES,
};

/// Everything a bundle is made of. Borrowed, so the agent keeps its data.
#[derive(Debug, Clone, Copy)]
pub struct BundleInput<'a> {
    /// Id for this bundle; the server deduplicates uploads by it.
    pub bundle_id: BundleId,
    /// The device writing the bundle.
    pub device_id: &'a DeviceId,
    /// The agent's version string.
    pub agent_version: &'a str,
    /// When the bundle is written (also used as the zip entries' mtime).
    pub created_at: Timestamp,
    /// The rule that tripped.
    pub trigger: &'a Trigger,
    /// The span of time the bundle covers; `start <= end`.
    pub window: TimeRange,
    /// The metric series; names must be unique.
    pub series: &'a [SeriesInput],
    /// Every event in the window, in any order (the writer sorts them by time).
    pub events: &'a [Event],
    /// Files to attach under `system/`, `processes/<name>/`, `baseline/` and
    /// `diagnostics/`; paths must be unique.
    pub attachments: &'a [Attachment],
    /// Fleet, redactions, losses and notes for the manifest.
    pub extras: &'a BundleExtras,
}

/// One metric series to store.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInput {
    /// The series name.
    pub name: SeriesName,
    /// Unit of the values.
    pub unit: String,
    /// The samples, written in the given order.
    pub samples: Vec<Sample>,
}

/// A file the agent attaches to the bundle, e.g. `processes/camera/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Path inside the bundle: relative, under `system/`,
    /// `processes/<name>/`, `baseline/` or `diagnostics/`, printable ASCII
    /// without `\`, `:` or `<>"|?*`, no `.` or `..` components, components of
    /// at most 255 bytes (see `docs/bundle-format.md#attachments`).
    pub path: String,
    /// The contents, stored as given (redact before attaching).
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// An attachment at `path` holding `bytes`.
    #[must_use]
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

/// The manifest fields that only the agent knows. `Default` is "nothing to
/// say", so a caller without them writes `extras: &BundleExtras::default()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleExtras {
    /// The fleet the device belongs to (1 to 256 bytes), if configured.
    pub fleet: Option<String>,
    /// What was scrubbed before writing, one entry per pattern.
    pub redactions: Vec<Redaction>,
    /// Loss counters by name: `window.ring_overwritten`, `ring_overwritten`,
    /// `series_refused`, `batches_dropped_queue_full`,
    /// `events_dropped_for_space`, `bundles_evicted`, ….
    pub losses: BTreeMap<String, u64>,
    /// Sentences for people, e.g. "eu-stack not installed: no user-space stacks".
    pub notes: Vec<String>,
}

/// Checks everything the writer cannot store faithfully, before writing a byte.
pub(crate) fn check_input(input: &BundleInput<'_>) -> Result<()> {
    if input.window.start > input.window.end {
        return Err(Error::input(format!(
            "window starts at {} after it ends at {}",
            input.window.start, input.window.end
        )));
    }
    let mut names = HashSet::new();
    if let Some(dup) = input.series.iter().find(|s| !names.insert(&s.name)) {
        return Err(Error::input(format!(
            "series `{}` is given twice",
            dup.name
        )));
    }
    let bad = input
        .trigger
        .evidence
        .iter()
        .find(|e| !(e.observed.is_finite() && e.peak.is_finite()));
    if let Some(e) = bad {
        return Err(Error::input(format!(
            "trigger evidence for `{}` has a non-finite observed or peak value, which JSON cannot hold",
            e.series
        )));
    }
    if let Some(fleet) = &input.extras.fleet
        && (fleet.is_empty() || fleet.len() > MAX_FLEET_BYTES)
    {
        return Err(Error::input(format!(
            "fleet must be 1 to {MAX_FLEET_BYTES} bytes, not {}",
            fleet.len()
        )));
    }
    check_attachments(input.attachments)
}

/// Attachment paths are valid, unique (also ignoring case), and none is the
/// directory of another.
fn check_attachments(attachments: &[Attachment]) -> Result<()> {
    let mut files = HashSet::new();
    let mut dirs = HashSet::new();
    for a in attachments {
        check_attachment_path(&a.path)
            .map_err(|reason| Error::input(format!("attachment path `{}`: {reason}", a.path)))?;
        let lower = a.path.to_ascii_lowercase();
        for (i, _) in lower.match_indices('/') {
            dirs.insert(lower[..i].to_owned());
        }
        if !files.insert(lower) {
            return Err(Error::input(format!(
                "attachment path `{}` is given twice (ignoring case)",
                a.path
            )));
        }
    }
    if let Some(clash) = files.iter().find(|f| dirs.contains(*f)) {
        return Err(Error::input(format!(
            "attachment path `{clash}` is both a file and the directory of another attachment"
        )));
    }
    Ok(())
}
