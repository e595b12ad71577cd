//! `manifest.json`: what a bundle holds and how to check it.

use std::collections::HashSet;

use rewind_model::{BundleId, DeviceId, SeriesName, Severity, TimeRange, Timestamp, Trigger};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, error::clip, paths::check_member_path};

/// The bundle format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Path of the manifest inside the zip.
pub const MANIFEST_PATH: &str = "manifest.json";
/// Path of the full trigger inside the zip.
pub const TRIGGER_PATH: &str = "trigger.json";

/// The table of contents of a bundle, stored as `manifest.json`.
///
/// Unknown fields are ignored when reading, so a newer writer may add
/// optional fields without a version bump; see `docs/bundle-format.md`.
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
    /// The trigger, without its evidence (that is in `trigger.json`).
    pub trigger: TriggerSummary,
    /// The span of time the bundle covers.
    pub time_range: TimeRange,
    /// One entry per metric series, in the order they were written.
    pub series: Vec<SeriesEntry>,
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

    fn validate(&self) -> Result<()> {
        if self.time_range.start > self.time_range.end {
            return Err(Error::manifest(format!(
                "`time_range` starts at {} after it ends at {}",
                self.time_range.start, self.time_range.end
            )));
        }
        self.validate_files()?;
        self.validate_series()
    }

    fn validate_files(&self) -> Result<()> {
        let mut seen = HashSet::new();
        for f in &self.files {
            check_member_path(f.path.as_bytes())?;
            if f.path == MANIFEST_PATH {
                return Err(Error::manifest(
                    "`files` must not list `manifest.json` itself",
                ));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(Error::manifest(format!("`files` lists `{}` twice", f.path)));
            }
            let hex_ok = f.sha256.len() == 64
                && f.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return Err(Error::manifest(format!(
                    "`files` entry `{}` has sha256 `{}`: expected 64 lowercase hex digits",
                    f.path, f.sha256
                )));
            }
        }
        Ok(())
    }

    fn validate_series(&self) -> Result<()> {
        let mut names = HashSet::new();
        let mut paths = HashSet::new();
        for s in &self.series {
            check_member_path(s.path.as_bytes())?;
            if !names.insert(&s.name) {
                return Err(Error::manifest(format!(
                    "series `{}` appears twice",
                    s.name
                )));
            }
            if !paths.insert(s.path.as_str()) || s.path == MANIFEST_PATH || s.path == TRIGGER_PATH {
                return Err(Error::manifest(format!(
                    "series `{}` uses path `{}`, which another member already uses",
                    s.name, s.path
                )));
            }
        }
        Ok(())
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
                       "sha256": "0".repeat(64)}]
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
