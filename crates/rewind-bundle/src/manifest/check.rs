//! The manifest's internal consistency: safe unique paths, well-formed
//! hashes, unique series and log sources, and exactly one role for every
//! member listed in `files`.

use std::collections::{HashMap, HashSet};

use super::{Manifest, TRIGGER_PATH};
use crate::{
    EVENTS_PATH, Error, MANIFEST_PATH, RECORDING_PATH, Result,
    error::clip,
    layout::{check_attachment_path, check_log_path, check_series_path},
    paths::check_member_path,
};

/// Longest `fleet` accepted, in bytes.
pub(crate) const MAX_FLEET_BYTES: usize = 256;
/// The chunk compressions a recording may declare (`""`: uncompressed).
pub(crate) const RECORDING_COMPRESSIONS: [&str; 2] = ["zstd", ""];

impl Manifest {
    pub(super) fn validate(&self) -> Result<()> {
        if self.time_range.start > self.time_range.end {
            return Err(Error::manifest(format!(
                "`time_range` starts at {} after it ends at {}",
                self.time_range.start, self.time_range.end
            )));
        }
        if let Some(fleet) = &self.fleet
            && (fleet.is_empty() || fleet.len() > MAX_FLEET_BYTES)
        {
            return Err(Error::manifest(format!(
                "`fleet` must be 1 to {MAX_FLEET_BYTES} bytes, found {}",
                fleet.len()
            )));
        }
        self.validate_files()?;
        self.validate_series()?;
        self.validate_logs()?;
        self.validate_recording()?;
        self.validate_attachments()?;
        self.validate_roles()
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
        for s in &self.series {
            check_member_path(s.path.as_bytes())?;
            if !names.insert(&s.name) {
                return Err(Error::manifest(format!(
                    "series `{}` appears twice",
                    s.name
                )));
            }
            check_series_path(&s.name, &s.path).map_err(Error::manifest)?;
        }
        Ok(())
    }

    fn validate_logs(&self) -> Result<()> {
        let mut sources = HashSet::new();
        for log in &self.logs {
            check_member_path(log.path.as_bytes())?;
            check_log_path(&log.path).map_err(|reason| Error::UnsafePath {
                path: log.path.clone(),
                reason,
            })?;
            if log.source.is_empty() || !sources.insert(log.source.as_str()) {
                return Err(Error::manifest(format!(
                    "`logs` has an empty or repeated source `{}`",
                    clip(log.source.clone())
                )));
            }
        }
        Ok(())
    }

    fn validate_recording(&self) -> Result<()> {
        let Some(rec) = &self.recording else {
            return Ok(());
        };
        if rec.path != RECORDING_PATH {
            return Err(Error::manifest(format!(
                "`recording.path` is `{}`: it must be `{RECORDING_PATH}`",
                clip(rec.path.clone())
            )));
        }
        if !RECORDING_COMPRESSIONS.contains(&rec.compression.as_str()) {
            return Err(Error::manifest(format!(
                "`recording.compression` is `{}`: expected `zstd` or `` (uncompressed)",
                clip(rec.compression.clone())
            )));
        }
        Ok(())
    }

    fn validate_attachments(&self) -> Result<()> {
        for a in &self.attachments {
            let kind = check_attachment_path(&a.path).map_err(|reason| Error::UnsafePath {
                path: clip(a.path.clone()),
                reason,
            })?;
            if kind != a.kind {
                return Err(Error::manifest(format!(
                    "attachment `{}` is in `{}/` but its kind says `{}/`",
                    a.path,
                    kind.dir(),
                    a.kind.dir()
                )));
            }
        }
        Ok(())
    }

    /// No two parts of the manifest name the same path, and every member in
    /// `files` is one of them.
    fn validate_roles(&self) -> Result<()> {
        let mut roles: HashMap<&str, &'static str> = HashMap::new();
        for (path, role) in self.roles() {
            if let Some(other) = roles.insert(path, role) {
                return Err(Error::manifest(format!(
                    "path `{path}` is used both as {other} and as {role}"
                )));
            }
        }
        if let Some(f) = self
            .files
            .iter()
            .find(|f| !roles.contains_key(f.path.as_str()))
        {
            return Err(Error::UnexpectedMember {
                path: f.path.clone(),
            });
        }
        Ok(())
    }

    /// Every member path the manifest describes, with what it is. `events.jsonl`
    /// is included whenever `files` lists it or `events` is not 0.
    pub(crate) fn roles(&self) -> impl Iterator<Item = (&str, &'static str)> {
        let events = (self.events > 0 || self.file(EVENTS_PATH).is_some())
            .then_some((EVENTS_PATH, "the event log"));
        [(TRIGGER_PATH, "the trigger")]
            .into_iter()
            .chain(events)
            .chain(self.series.iter().map(|s| (s.path.as_str(), "a series")))
            .chain(self.logs.iter().map(|l| (l.path.as_str(), "a log")))
            .chain(
                self.recording
                    .iter()
                    .map(|r| (r.path.as_str(), "the recording")),
            )
            .chain(
                self.attachments
                    .iter()
                    .map(|a| (a.path.as_str(), "an attachment")),
            )
    }
}
