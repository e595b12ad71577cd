//! `manifest.json`: what a bundle holds and how to check it.

use std::collections::BTreeMap;

use rewind_model::{BundleId, DeviceId, SeriesName, Severity, TimeRange, Timestamp, Trigger};
use serde::{Deserialize, Serialize};

use crate::{AttachmentKind, Error, Result, error::clip};

pub(crate) mod check;

/// The bundle format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Path of the manifest inside the zip.
pub const MANIFEST_PATH: &str = "manifest.json";
/// Path of the full trigger inside the zip.
pub const TRIGGER_PATH: &str = "trigger.json";

/// The table of contents of a bundle, stored as `manifest.json`.
///
/// Unknown fields are ignored when reading. Every field added after the
/// first release of version 1 is optional with a default, so bundles written
/// before it still read; see `docs/bundle-format.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bundle format version; this crate reads and writes [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Chosen by the agent; the server deduplicates uploads by it.
    pub bundle_id: BundleId,
    /// The device whose agent wrote the bundle.
    pub device_id: DeviceId,
    /// Version of the agent that wrote the bundle.
    pub agent_version: String,
    /// When the bundle was written.
    pub created_at: Timestamp,
    /// The fleet the device belongs to, if the agent was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    /// The trigger, without its evidence (that is in `trigger.json`).
    pub trigger: TriggerSummary,
    /// The rule's labels (the trigger's `labels`), sorted by key.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The span of time the bundle covers.
    pub time_range: TimeRange,
    /// One entry per metric series, in the order they were written.
    pub series: Vec<SeriesEntry>,
    /// Number of events in `events.jsonl` (0 and no `events.jsonl` in
    /// bundles written before events were recorded).
    #[serde(default)]
    pub events: u64,
    /// One entry per log source rendered under `logs/`, sorted by source.
    #[serde(default)]
    pub logs: Vec<LogEntry>,
    /// The MCAP recording, if the bundle has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingEntry>,
    /// Files the agent attached (`system/`, `processes/`, `baseline/`,
    /// `diagnostics/`), sorted by path.
    #[serde(default)]
    pub attachments: Vec<AttachmentEntry>,
    /// What the agent scrubbed from logs and attachments before writing.
    #[serde(default)]
    pub redactions: Vec<Redaction>,
    /// Loss counters the agent reports (`window.ring_overwritten`,
    /// `ring_overwritten`, `series_refused`, `batches_dropped_queue_full`,
    /// `events_dropped_for_space`, `bundles_evicted`, …), by name; see
    /// `docs/bundle-format.md`.
    #[serde(default)]
    pub losses: BTreeMap<String, u64>,
    /// Sentences for people about what the bundle lacks or why (e.g. "eu-stack
    /// not installed: no user-space stacks").
    #[serde(default)]
    pub notes: Vec<String>,
    /// Every member of the zip except `manifest.json`, with size and hash.
    pub files: Vec<FileEntry>,
}

/// The headline fields of the [`Trigger`], copied from `trigger.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerSummary {
    /// The rule's name.
    pub rule: String,
    /// The rule's type, e.g. `metric_threshold`.
    pub rule_type: String,
    /// Severity from the rule.
    pub severity: Severity,
    /// When the rule tripped.
    pub fired_at: Timestamp,
    /// One sentence for people.
    pub summary: String,
}

/// One metric series in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesEntry {
    /// The series name.
    pub name: SeriesName,
    /// Unit of the values.
    pub unit: String,
    /// Path of its CSV inside the zip, e.g. `metrics/cpu.total.busy_pct.csv`.
    pub path: String,
    /// Number of data rows in the CSV.
    pub samples: u64,
}

/// One member of the zip with its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the zip.
    pub path: String,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// SHA-256 of the uncompressed bytes, 64 lowercase hex digits.
    pub sha256: String,
}

/// One log source rendered as text under `logs/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The events' `source` (`kmsg`, `journal`, `file:/var/log/app.log`, …).
    pub source: String,
    /// Path of its file inside the zip, e.g. `logs/journal.log`.
    pub path: String,
    /// Number of lines in the file.
    pub lines: u64,
}

/// The MCAP recording of the bundle's series and events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingEntry {
    /// Path inside the zip: always `recording.mcap`.
    pub path: String,
    /// Number of channels.
    pub channels: u64,
    /// Number of messages over all channels.
    pub messages: u64,
    /// Chunk compression (`zstd`).
    pub compression: String,
}

/// One file the agent attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentEntry {
    /// Path inside the zip, e.g. `processes/camera/status`.
    pub path: String,
    /// What it is, from its top directory.
    pub kind: AttachmentKind,
}

/// How often one redaction pattern matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The pattern's name, e.g. `bearer_token`, `email`, `ipv4`.
    pub name: String,
    /// How many matches were replaced.
    pub count: u64,
}

impl TriggerSummary {
    /// The summary of a full trigger.
    #[must_use]
    pub fn of(trigger: &Trigger) -> Self {
        Self {
            rule: trigger.rule.clone(),
            rule_type: trigger.rule_type.clone(),
            severity: trigger.severity,
            fired_at: trigger.fired_at,
            summary: trigger.summary.clone(),
        }
    }

    /// Checks that `trigger` (from `trigger.json`) agrees with this summary.
    ///
    /// # Errors
    /// [`Error::TriggerMismatch`] naming the first field that differs.
    pub fn check_matches(&self, trigger: &Trigger) -> Result<()> {
        let other = Self::of(trigger);
        let fields: [(&'static str, String, String); 5] = [
            ("rule", self.rule.clone(), other.rule),
            ("rule_type", self.rule_type.clone(), other.rule_type),
            (
                "severity",
                self.severity.to_string(),
                other.severity.to_string(),
            ),
            (
                "fired_at",
                self.fired_at.to_string(),
                other.fired_at.to_string(),
            ),
            ("summary", self.summary.clone(), other.summary),
        ];
        for (field, manifest, trigger) in fields {
            if manifest != trigger {
                let (manifest, trigger) = (clip(manifest), clip(trigger));
                return Err(Error::TriggerMismatch {
                    field,
                    manifest,
                    trigger,
                });
            }
        }
        Ok(())
    }
}

/// Just the version, read before the rest so that a newer layout gets
/// [`Error::UnsupportedVersion`] rather than a confusing parse error.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses and checks `manifest.json`: version first, then the fields, then
    /// internal consistency (safe unique paths, well-formed hashes, unique
    /// series, ordered time range).
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`], [`Error::ManifestInvalid`] or [`Error::UnsafePath`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let probe: VersionProbe =
            serde_json::from_slice(bytes).map_err(|e| Error::manifest(e.to_string()))?;
        match probe.format_version {
            None => return Err(Error::manifest("missing field `format_version`")),
            Some(v) => match v.as_u64() {
                Some(found) if found == u64::from(FORMAT_VERSION) => {}
                Some(found) => {
                    return Err(Error::UnsupportedVersion {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                None => {
                    return Err(Error::manifest(format!(
                        "`format_version` must be a non-negative integer, found {v}"
                    )));
                }
            },
        }
        let manifest: Self =
            serde_json::from_slice(bytes).map_err(|e| Error::manifest(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if serialisation fails (it does not for valid data).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| Error::input(e.to_string()))
    }

    /// The `files` entry for `path`, if listed.
    #[must_use]
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> serde_json::Value {
        json!({
            "format_version": 1,
            "bundle_id": "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f",
            "device_id": "robot-7",
            "agent_version": "0.1.0",
            "created_at": "2026-11-23T10:00:06Z",
            "trigger": {"rule": "cpu-saturated", "rule_type": "metric_threshold",
                        "severity": "high", "fired_at": "2026-11-23T10:00:05Z", "summary": "cpu hot"},
            "time_range": {"start": "2026-11-23T09:55:05Z", "end": "2026-11-23T10:00:05Z"},
            "series": [{"name": "cpu.total.busy_pct", "unit": "percent",
                        "path": "metrics/cpu.total.busy_pct.csv", "samples": 0}],
            "files": [{"path": "metrics/cpu.total.busy_pct.csv", "size": 26,
                       "sha256": "0".repeat(64)},
                      {"path": "trigger.json", "size": 2, "sha256": "0".repeat(64)}]
        })
    }

    fn parse(v: &serde_json::Value) -> Result<Manifest> {
        Manifest::from_json(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn parses_and_ignores_unknown_fields() {
        let mut v = sample();
        v["future_field"] = json!({"anything": true});
        let m = parse(&v).unwrap();
        assert_eq!(m.trigger.rule, "cpu-saturated");
        assert_eq!(
            m.file("metrics/cpu.total.busy_pct.csv").map(|f| f.size),
            Some(26)
        );
    }

    #[test]
    fn version_is_checked_before_the_rest() {
        let v = json!({"format_version": 2, "totally": "different"});
        let err = parse(&v).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedVersion {
                    found: 2,
                    supported: 1
                }
            ),
            "{err}"
        );
        let err = parse(&json!({"format_version": "1"})).unwrap_err();
        assert!(matches!(err, Error::ManifestInvalid { .. }), "{err}");
        let err = parse(&json!({})).unwrap_err();
        assert!(err.to_string().contains("format_version"), "{err}");
    }

    #[test]
    fn inconsistencies_are_rejected() {
        let cases: [(&str, serde_json::Value); 4] = [
            ("/files/0/sha256", json!("ABC")),
            ("/files/0/path", json!("manifest.json")),
            ("/time_range/start", json!("2027-01-01T00:00:00Z")),
            ("/series/0/path", json!("trigger.json")),
        ];
        for (pointer, value) in cases {
            let mut v = sample();
            *v.pointer_mut(pointer).unwrap() = value;
            let err = parse(&v).unwrap_err();
            assert!(
                matches!(err, Error::ManifestInvalid { .. }),
                "{pointer}: {err}"
            );
        }
        let mut v = sample();
        v["files"][0]["path"] = json!("../x");
        assert!(matches!(parse(&v).unwrap_err(), Error::UnsafePath { .. }));
    }

    #[test]
    fn fields_added_within_v1_default_when_absent() {
        let m = parse(&sample()).unwrap();
        assert_eq!((m.fleet, m.events, m.recording), (None, 0, None));
        assert!(m.labels.is_empty() && m.logs.is_empty() && m.attachments.is_empty());
        assert!(m.redactions.is_empty() && m.losses.is_empty() && m.notes.is_empty());
    }

    #[test]
    fn every_listed_file_has_exactly_one_role() {
        let mut v = sample();
        v["files"][1] = json!({"path": "notes.txt", "size": 1, "sha256": "0".repeat(64)});
        let err = parse(&v).unwrap_err();
        assert!(
            matches!(err, Error::UnexpectedMember { ref path } if path == "notes.txt"),
            "{err}"
        );

        let mut v = sample();
        v["attachments"] = json!([{"path": "system/x", "kind": "system"}]);
        v["logs"] = json!([{"source": "kmsg", "path": "logs/k.log", "lines": 0}]);
        v["events"] = json!(3);
        v["files"] = json!([]);
        parse(&v).unwrap(); // roles without files: the reader reports them missing

        let mut v = sample();
        let mut twin = v["series"][0].clone();
        twin["name"] = json!("other");
        v["series"].as_array_mut().unwrap().push(twin);
        let err = parse(&v).unwrap_err();
        assert!(err.to_string().contains("used both as"), "{err}");

        let mut v = sample();
        v["fleet"] = json!("");
        assert!(matches!(
            parse(&v).unwrap_err(),
            Error::ManifestInvalid { .. }
        ));
    }

    #[test]
    fn trigger_mismatch_names_the_field() {
        let m = parse(&sample()).unwrap();
        let trigger = Trigger {
            rule: "cpu-saturated".into(),
            rule_type: "metric_threshold".into(),
            severity: Severity::High,
            fired_at: Timestamp::from_unix_millis(0),
            summary: "cpu hot".into(),
            evidence: vec![],
            labels: Default::default(),
        };
        let err = m.trigger.check_matches(&trigger).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TriggerMismatch {
                    field: "fired_at",
                    ..
                }
            ),
            "{err}"
        );
    }
}
