//! Reading and validating bundles that arrive from the network.
//!
//! Order of checks, cheapest first, nothing decompressed before the sizes
//! declared in the zip's central directory pass the limits:
//! 1. bundle size; 2. the zip opens; 3. entry count, duplicates (also
//!    ignoring case), member paths, file types, declared sizes and
//!    compression ratios; 4. `manifest.json` (version, fields, consistency,
//!    one role per member); 5. declared event count and attachment bytes
//!    against the limits; 6. every member listed, every listed file present;
//! 7. sizes and SHA-256 of every file, decompressed under hard caps;
//! 8. `trigger.json` and its agreement with the manifest; 9. the CSVs,
//!    `events.jsonl` and the logs, with their counts; 10. `recording.mcap`,
//!    parsed under the same caps and compared with everything above.

use std::{
    collections::{HashMap, HashSet},
    io::{Cursor, Read, Seek},
};

use rewind_model::{Event, SeriesData, SeriesName, Trigger};
use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::{
    Attachment, EVENTS_PATH, Error, Limits, LogFile, MANIFEST_PATH, Result, TRIGGER_PATH,
    csv::parse_csv,
    error::clip,
    events::parse_events,
    logs::parse_log,
    manifest::{FileEntry, Manifest},
};

mod archive;
mod recording;

use archive::{Budget, read_member, scan_members};

/// A bundle that passed every check of [`read_bundle`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The manifest.
    pub manifest: Manifest,
    /// The full trigger from `trigger.json`.
    pub trigger: Trigger,
    /// Every series, in manifest order.
    pub series: Vec<Series>,
    /// Every event from `events.jsonl`, in time order.
    pub events: Vec<Event>,
    /// Every log file, in manifest order.
    pub logs: Vec<LogFile>,
    /// Every attachment, in manifest order (sorted by path).
    pub attachments: Vec<Attachment>,
}

/// One series read back: exact times and values, plus float seconds for charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series name.
    pub name: SeriesName,
    /// Unit of the values.
    pub unit: String,
    /// Path of its CSV inside the zip.
    pub path: String,
    /// Sample times in Unix nanoseconds, exactly as recorded.
    pub t_nanos: Vec<i64>,
    /// The same times as Unix seconds (fractional), for charts.
    pub t: Vec<f64>,
    /// Sample values, same length as `t_nanos`, bit-exact.
    pub v: Vec<f64>,
}

impl Series {
    /// The chart-ready columnar form the API serves.
    #[must_use]
    pub fn to_data(&self) -> SeriesData {
        self.clone().into()
    }
}

impl From<Series> for SeriesData {
    fn from(s: Series) -> Self {
        Self {
            name: s.name.into(),
            unit: s.unit,
            t: s.t,
            v: s.v,
        }
    }
}

/// Validates a bundle completely and returns its contents.
///
/// Nothing is returned unless everything checks out; see
/// `docs/bundle-format.md` for the rules. Safe on hostile input: memory use is
/// bounded by `limits`, whatever the zip or the manifest declare.
///
/// # Errors
/// The [`Error`] variant naming the first problem found.
pub fn read_bundle(bytes: &[u8], limits: &Limits) -> Result<Bundle> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_bundle_bytes {
        return Err(Error::TooLarge {
            size,
            limit: limits.max_bundle_bytes,
        });
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes))?;
    let members = scan_members(&archive, bytes, limits)?;
    let mut budget = Budget::new(limits);
    let manifest_member = *members.get(MANIFEST_PATH).ok_or(Error::ManifestMissing)?;
    let manifest_bytes = read_member(&mut archive, manifest_member, MANIFEST_PATH, &mut budget)?;
    let manifest = Manifest::from_json(&manifest_bytes)?;
    check_declared(&manifest, limits)?;
    check_listing(&archive, &manifest, &members)?;
    let mut contents = verify_files(&mut archive, &manifest, &members, &mut budget)?;
    let mut take = |path: &str| contents.remove(path).unwrap_or_default();
    let trigger = parse_trigger(&take(TRIGGER_PATH), &manifest)?;
    let series = parse_series(&manifest, &mut take)?;
    let events = read_events(&manifest, &take(EVENTS_PATH), limits)?;
    let logs = read_logs(&manifest, &mut take)?;
    let attachments = manifest
        .attachments
        .iter()
        .map(|a| Attachment::new(a.path.clone(), take(&a.path)))
        .collect();
    if let Some(entry) = &manifest.recording {
        let mcap = take(&entry.path);
        let parts = recording::Parts {
            manifest: &manifest,
            series: &series,
            events: events.len(),
            log_lines: logs.iter().map(|l| l.lines.len()).sum(),
        };
        recording::check(entry, &mcap, &parts, limits, &mut budget)?;
    }
    Ok(Bundle {
        manifest,
        trigger,
        series,
        events,
        logs,
        attachments,
    })
}

/// What the manifest declares is within the limits, before decompressing.
fn check_declared(manifest: &Manifest, limits: &Limits) -> Result<()> {
    if manifest.events > limits.max_events {
        return Err(Error::TooManyEvents {
            count: manifest.events,
            limit: limits.max_events,
        });
    }
    let attached: HashSet<&str> = manifest
        .attachments
        .iter()
        .map(|a| a.path.as_str())
        .collect();
    let size = manifest
        .files
        .iter()
        .filter(|f| attached.contains(f.path.as_str()))
        .fold(0_u64, |sum, f| sum.saturating_add(f.size));
    if size > limits.max_attachment_bytes {
        return Err(Error::AttachmentsTooLarge {
            size,
            limit: limits.max_attachment_bytes,
        });
    }
    Ok(())
}

/// Every zip member is listed in `files`; every listed or described file exists.
fn check_listing<R: Read + Seek>(
    archive: &ZipArchive<R>,
    manifest: &Manifest,
    members: &HashMap<String, (usize, u64)>,
) -> Result<()> {
    let listed: HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    // Zip order, so the first unlisted member reported is deterministic.
    for name in archive.file_names_raw() {
        let name = String::from_utf8_lossy(name);
        if name != MANIFEST_PATH && !listed.contains(name.as_ref()) {
            return Err(Error::UnlistedMember {
                path: name.into_owned(),
            });
        }
    }
    let needed = manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain(manifest.roles().map(|(path, _)| path));
    for path in needed {
        if !members.contains_key(path) || !listed.contains(path) {
            return Err(Error::MissingMember {
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads every listed file and checks its size and hash; returns path → bytes.
fn verify_files<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    manifest: &Manifest,
    members: &HashMap<String, (usize, u64)>,
    budget: &mut Budget,
) -> Result<HashMap<String, Vec<u8>>> {
    let mut contents = HashMap::with_capacity(manifest.files.len());
    for file in &manifest.files {
        let member = members
            .get(&file.path)
            .copied()
            .ok_or_else(|| Error::MissingMember {
                path: file.path.clone(),
            })?;
        let bytes = read_member(archive, member, &file.path, budget)?;
        check_size_and_hash(file, &bytes)?;
        contents.insert(file.path.clone(), bytes);
    }
    Ok(contents)
}

/// The bytes found for `file` have the size and SHA-256 the manifest declares.
fn check_size_and_hash(file: &FileEntry, bytes: &[u8]) -> Result<()> {
    let path = || file.path.clone();
    let actual = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if actual != file.size {
        return Err(Error::SizeMismatch {
            path: path(),
            declared: file.size,
            actual,
        });
    }
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != file.sha256 {
        return Err(Error::HashMismatch {
            path: path(),
            expected: file.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

fn parse_trigger(bytes: &[u8], manifest: &Manifest) -> Result<Trigger> {
    let trigger: Trigger = serde_json::from_slice(bytes).map_err(|e| Error::TriggerInvalid {
        reason: clip(e.to_string()),
    })?;
    manifest.trigger.check_matches(&trigger)?;
    // Bundles written before the manifest had `labels` have none there.
    if !manifest.labels.is_empty() && manifest.labels != trigger.labels {
        let json = |l| serde_json::to_string(l).unwrap_or_default();
        return Err(Error::TriggerMismatch {
            field: "labels",
            manifest: clip(json(&manifest.labels)),
            trigger: clip(json(&trigger.labels)),
        });
    }
    Ok(trigger)
}

fn parse_series(
    manifest: &Manifest,
    take: &mut impl FnMut(&str) -> Vec<u8>,
) -> Result<Vec<Series>> {
    let mut out = Vec::with_capacity(manifest.series.len());
    for entry in &manifest.series {
        let samples = parse_csv(&entry.path, &take(&entry.path))?;
        let actual = u64::try_from(samples.len()).unwrap_or(u64::MAX);
        if actual != entry.samples {
            let path = entry.path.clone();
            return Err(Error::SampleCountMismatch {
                path,
                declared: entry.samples,
                actual,
            });
        }
        out.push(Series {
            name: entry.name.clone(),
            unit: entry.unit.clone(),
            path: entry.path.clone(),
            t_nanos: samples.iter().map(|s| s.ts.as_unix_nanos()).collect(),
            t: samples.iter().map(|s| s.ts.as_unix_secs_f64()).collect(),
            v: samples.iter().map(|s| s.value).collect(),
        });
    }
    Ok(out)
}

/// `events.jsonl` (absent, and `events` 0, in bundles from before events).
fn read_events(manifest: &Manifest, bytes: &[u8], limits: &Limits) -> Result<Vec<Event>> {
    if manifest.file(EVENTS_PATH).is_none() {
        return Ok(Vec::new()); // `check_listing` made sure `events` is 0
    }
    let events = parse_events(bytes, limits.max_events)?;
    count_matches(EVENTS_PATH, "events", manifest.events, events.len())?;
    Ok(events)
}

fn read_logs(manifest: &Manifest, take: &mut impl FnMut(&str) -> Vec<u8>) -> Result<Vec<LogFile>> {
    manifest
        .logs
        .iter()
        .map(|entry| {
            let lines = parse_log(&entry.path, &take(&entry.path))?;
            count_matches(&entry.path, "lines", entry.lines, lines.len())?;
            Ok(LogFile {
                source: entry.source.clone(),
                path: entry.path.clone(),
                lines,
            })
        })
        .collect()
}

pub(crate) fn count_matches(
    path: &str,
    what: &'static str,
    declared: u64,
    found: usize,
) -> Result<()> {
    let actual = u64::try_from(found).unwrap_or(u64::MAX);
    if actual == declared {
        Ok(())
    } else {
        Err(Error::CountMismatch {
            path: path.to_owned(),
            what,
            declared,
            actual,
        })
    }
}
