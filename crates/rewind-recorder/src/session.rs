//! Session identity and the two MCAP metadata records every file carries:
//! `rewind.session` (written first, once per file) and `rewind.file_end`
//! (written last, when the file is rotated or closed).
//!
//! MCAP metadata values are strings; numbers are written in decimal, times
//! as RFC 3339, absent values as the empty string.

use std::{
    collections::BTreeMap,
    hash::{BuildHasher as _, Hasher as _},
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// Name of the metadata record written at the start of every file.
pub const SESSION_METADATA: &str = "rewind.session";
/// Name of the metadata record written at the end of every finished file.
pub const FILE_END_METADATA: &str = "rewind.file_end";

/// What the caller tells the recorder about the session; everything
/// optional. Written into every file's `rewind.session` metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionInfo {
    /// The session id, also the file name stem; generated
    /// (`sess_YYYYMMDD_HHMMSS_xxxxxx`, UTC) when absent.
    pub session_id: Option<String>,
    /// Version of the program running the control loop (the seed's
    /// `dam_version`).
    pub app_version: Option<String>,
    /// The loop's nominal frequency.
    pub control_frequency_hz: Option<f64>,
    /// The configuration file the loop runs with (the seed's `stackfile_path`).
    pub config_path: Option<PathBuf>,
    /// Its hash, `sha256:<hex>` (see [`SessionInfo::with_config_file`]).
    pub config_hash: Option<String>,
    /// More keys, written as `extra.<key>`.
    pub extra: BTreeMap<String, String>,
}

impl SessionInfo {
    /// Sets `config_path` and `config_hash` from a file's content.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn with_config_file(mut self, path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        self.config_hash = Some(config_hash(&bytes));
        self.config_path = Some(path);
        Ok(self)
    }
}

/// `sha256:<hex>` of a configuration file's bytes.
pub fn config_hash(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Checks a caller's session id: it becomes a file name.
pub(crate) fn check_session_id(id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len())
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSessionId { id: id.to_owned() })
    }
}

/// `sess_YYYYMMDD_HHMMSS_xxxxxx` for a session starting at `start`.
pub(crate) fn generate_session_id(start: Timestamp) -> String {
    let when = jiff::Timestamp::from_nanosecond(i128::from(start.as_unix_nanos()))
        .map(|t| t.strftime("%Y%m%d_%H%M%S").to_string())
        .unwrap_or_else(|_| "19700101_000000".to_owned());
    // RandomState is seeded from the OS: enough to keep two sessions started
    // in the same second apart, without a random-number crate.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(start.as_unix_nanos());
    h.write_u32(std::process::id());
    format!("sess_{when}_{:06x}", h.finish() & 0xff_ffff)
}

/// The file name of a session's file number `index`: `<session>_<NNN>.mcap`.
pub fn file_name(session_id: &str, index: u32) -> String {
    format!("{session_id}_{index:03}.mcap")
}

/// The session's identity as the writer stamps it into each file.
#[derive(Debug, Clone)]
pub(crate) struct SessionStamp {
    pub(crate) session_id: String,
    pub(crate) start: Timestamp,
    pub(crate) info: SessionInfo,
    pub(crate) config_json: String,
}

impl SessionStamp {
    /// The `rewind.session` metadata of file number `index`.
    pub(crate) fn metadata(&self, index: u32, previous: Option<&str>) -> BTreeMap<String, String> {
        let info = &self.info;
        let mut m = BTreeMap::from([
            ("session_id".to_owned(), self.session_id.clone()),
            (
                "recorder".to_owned(),
                format!("rewind-recorder {}", env!("CARGO_PKG_VERSION")),
            ),
            (
                "app_version".to_owned(),
                info.app_version.clone().unwrap_or_default(),
            ),
            (
                "control_frequency_hz".to_owned(),
                info.control_frequency_hz
                    .map(|f| f.to_string())
                    .unwrap_or_default(),
            ),
            (
                "config_path".to_owned(),
                info.config_path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            (
                "config_hash".to_owned(),
                info.config_hash.clone().unwrap_or_default(),
            ),
            ("start_time".to_owned(), self.start.to_string()),
            (
                "start_time_unix_ns".to_owned(),
                self.start.as_unix_nanos().to_string(),
            ),
            ("file_index".to_owned(), index.to_string()),
            ("file_name".to_owned(), file_name(&self.session_id, index)),
            (
                "previous_file".to_owned(),
                previous.unwrap_or_default().to_owned(),
            ),
            ("recorder_config".to_owned(), self.config_json.clone()),
        ]);
        for (k, v) in &info.extra {
            m.insert(format!("extra.{k}"), v.clone());
        }
        m
    }
}

/// Why a file was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// It reached `rotate_mb`.
    RotateSize,
    /// It spanned `rotate_minutes` of message time.
    RotateTime,
    /// The recorder was closed.
    Close,
}

impl EndReason {
    /// The name written in `rewind.file_end`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RotateSize => "rotate_size",
            Self::RotateTime => "rotate_time",
            Self::Close => "close",
        }
    }
}

/// Cycle counters of one file, from its `/dam/cycle` messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CycleCounts {
    /// `/dam/cycle` messages.
    pub cycles: u64,
    /// Of them with `has_violation: true`.
    pub violation_cycles: u64,
    /// Of them with `has_clamp: true`.
    pub clamp_cycles: u64,
    /// Smallest `cycle_id` seen.
    pub first_cycle: Option<u64>,
    /// Largest `cycle_id` seen.
    pub last_cycle: Option<u64>,
}

impl CycleCounts {
    pub(crate) fn add(&mut self, cycle_id: Option<u64>, violation: bool, clamp: bool) {
        self.cycles += 1;
        self.violation_cycles += u64::from(violation);
        self.clamp_cycles += u64::from(clamp);
        if let Some(id) = cycle_id {
            self.first_cycle = Some(self.first_cycle.map_or(id, |f| f.min(id)));
            self.last_cycle = Some(self.last_cycle.map_or(id, |l| l.max(id)));
        }
    }
}

/// The `rewind.file_end` metadata.
pub(crate) fn file_end_metadata(
    next: Option<&str>,
    reason: EndReason,
    messages: u64,
    counts: &CycleCounts,
    end: Timestamp,
) -> BTreeMap<String, String> {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    BTreeMap::from([
        ("next_file".to_owned(), next.unwrap_or_default().to_owned()),
        ("reason".to_owned(), reason.as_str().to_owned()),
        ("messages".to_owned(), messages.to_string()),
        ("cycles".to_owned(), counts.cycles.to_string()),
        (
            "violation_cycles".to_owned(),
            counts.violation_cycles.to_string(),
        ),
        ("clamp_cycles".to_owned(), counts.clamp_cycles.to_string()),
        ("first_cycle".to_owned(), opt(counts.first_cycle)),
        ("last_cycle".to_owned(), opt(counts.last_cycle)),
        ("closed_at".to_owned(), end.to_string()),
    ])
}

/// The `rewind.session` metadata of a file, read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionMeta {
    /// The session id.
    pub session_id: String,
    /// `rewind-recorder <version>`.
    pub recorder: String,
    /// The caller's program version.
    pub app_version: Option<String>,
    /// The loop's nominal frequency.
    pub control_frequency_hz: Option<f64>,
    /// The loop's configuration file.
    pub config_path: Option<String>,
    /// Its hash, `sha256:<hex>`.
    pub config_hash: Option<String>,
    /// When the session started.
    pub start_time: Option<Timestamp>,
    /// This file's number in the session, from 0.
    pub file_index: Option<u32>,
    /// The file before this one, if any.
    pub previous_file: Option<String>,
    /// The recorder settings, as JSON.
    pub recorder_config: Option<String>,
    /// The caller's `extra.*` keys, without the prefix.
    pub extra: BTreeMap<String, String>,
}

impl SessionMeta {
    pub(crate) fn parse(m: &BTreeMap<String, String>) -> Self {
        let s = |k: &str| m.get(k).filter(|v| !v.is_empty()).cloned();
        Self {
            session_id: s("session_id").unwrap_or_default(),
            recorder: s("recorder").unwrap_or_default(),
            app_version: s("app_version"),
            control_frequency_hz: s("control_frequency_hz").and_then(|v| v.parse().ok()),
            config_path: s("config_path"),
            config_hash: s("config_hash"),
            start_time: s("start_time_unix_ns")
                .and_then(|v| v.parse().ok())
                .map(Timestamp::from_unix_nanos),
            file_index: s("file_index").and_then(|v| v.parse().ok()),
            previous_file: s("previous_file"),
            recorder_config: s("recorder_config"),
            extra: m
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("extra.")?.to_owned(), v.clone())))
                .collect(),
        }
    }
}

/// The `rewind.file_end` metadata of a file, read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileEnd {
    /// The file after this one, if the session went on.
    pub next_file: Option<String>,
    /// `rotate_size`, `rotate_time` or `close`.
    pub reason: String,
    /// Messages in the file.
    pub messages: u64,
    /// Cycle counters of the file.
    pub cycles: CycleCounts,
}

impl FileEnd {
    pub(crate) fn parse(m: &BTreeMap<String, String>) -> Self {
        let s = |k: &str| m.get(k).filter(|v| !v.is_empty()).cloned();
        let n = |k: &str| s(k).and_then(|v| v.parse::<u64>().ok());
        Self {
            next_file: s("next_file"),
            reason: s("reason").unwrap_or_default(),
            messages: n("messages").unwrap_or(0),
            cycles: CycleCounts {
                cycles: n("cycles").unwrap_or(0),
                violation_cycles: n("violation_cycles").unwrap_or(0),
                clamp_cycles: n("clamp_cycles").unwrap_or(0),
                first_cycle: n("first_cycle"),
                last_cycle: n("last_cycle"),
            },
        }
    }
}

/// The session file a path names, if it follows `<session>_<NNN>.mcap`.
pub fn parse_file_name(path: &Path) -> Option<(String, u32)> {
    let name = path.file_name()?.to_str()?.strip_suffix(".mcap")?;
    let (session, index) = name.rsplit_once('_')?;
    if index.len() < 3 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((session.to_owned(), index.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_file_stems() {
        let t = Timestamp::from_unix_millis(1_733_841_022_000);
        let id = generate_session_id(t);
        assert!(id.starts_with("sess_20241210_143022_"), "{id}");
        check_session_id(&id).unwrap();
        assert_ne!(id, generate_session_id(t));
    }

    #[test]
    fn session_ids_that_are_not_file_names_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(check_session_id(bad).is_err(), "{bad}");
        }
        check_session_id("run-7_a.b").unwrap();
    }

    #[test]
    fn file_names_round_trip() {
        assert_eq!(file_name("sess_x", 7), "sess_x_007.mcap");
        assert_eq!(file_name("s", 1234), "s_1234.mcap");
        assert_eq!(
            parse_file_name(Path::new("/d/sess_a_b_012.mcap")),
            Some(("sess_a_b".to_owned(), 12))
        );
        assert_eq!(parse_file_name(Path::new("x_1.mcap")), None);
        assert_eq!(parse_file_name(Path::new("x_001.zip")), None);
    }

    #[test]
    fn session_metadata_reads_back() {
        let stamp = SessionStamp {
            session_id: "s1".to_owned(),
            start: Timestamp::from_unix_millis(1_700_000_000_123),
            info: SessionInfo {
                app_version: Some("1.5.0".to_owned()),
                control_frequency_hz: Some(30.0),
                config_hash: Some(config_hash(b"x")),
                extra: BTreeMap::from([("robot".to_owned(), "r2".to_owned())]),
                ..SessionInfo::default()
            },
            config_json: "{}".to_owned(),
        };
        let meta = SessionMeta::parse(&stamp.metadata(2, Some("s1_001.mcap")));
        assert_eq!(meta.session_id, "s1");
        assert_eq!(meta.control_frequency_hz, Some(30.0));
        assert_eq!(meta.file_index, Some(2));
        assert_eq!(meta.previous_file.as_deref(), Some("s1_001.mcap"));
        assert_eq!(meta.start_time, Some(stamp.start));
        assert_eq!(meta.extra["robot"], "r2");
        assert!(meta.config_hash.unwrap().starts_with("sha256:"));
    }
}
