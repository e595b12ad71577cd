//! Events: things that happened at an instant (a log line, a process that
//! vanished, an OOM kill), as opposed to samples of a series.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// What kind of thing happened. Typed kinds are what root-cause rules match on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A log line with nothing more specific recognised in it.
    Log,
    /// A watched process is gone (the seed's `node_status: missing`).
    ProcessMissing,
    /// A watched process came back, or runs under a new pid.
    ProcessRestarted,
    /// The kernel's OOM killer killed a process.
    OomKill,
    /// A thermal event: throttling, a trip point, a critical temperature.
    Thermal,
    /// An I/O error reported by the kernel (disk, filesystem, bus).
    IoError,
    /// A node or peer stopped sending heartbeats (custom streams, ROS2).
    NodeMissing,
    /// A node or peer was seen (first heartbeat or back after missing).
    NodeSeen,
    /// A new version was deployed (fields `service`, `version`): what
    /// `after_deploy` rules and release-regression checks measure from.
    Deploy,
    /// Anything else a custom stream reports, named by the stream.
    Custom(String),
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Log => f.write_str("log"),
            Self::ProcessMissing => f.write_str("process_missing"),
            Self::ProcessRestarted => f.write_str("process_restarted"),
            Self::OomKill => f.write_str("oom_kill"),
            Self::Thermal => f.write_str("thermal"),
            Self::IoError => f.write_str("io_error"),
            Self::NodeMissing => f.write_str("node_missing"),
            Self::NodeSeen => f.write_str("node_seen"),
            Self::Deploy => f.write_str("deploy"),
            Self::Custom(name) => write!(f, "custom:{name}"),
        }
    }
}

/// How important a log line or event is (syslog's levels, folded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant (syslog `notice`).
    Notice,
    /// Something may be wrong.
    Warning,
    /// Something is wrong.
    Error,
    /// Something is badly wrong (syslog `crit`, `alert`, `emerg`).
    Critical,
}

impl Level {
    /// From a syslog priority number (0 emerg … 7 debug); out-of-range is `Info`.
    #[must_use]
    pub const fn from_syslog(priority: u8) -> Self {
        match priority {
            0..=2 => Self::Critical,
            3 => Self::Error,
            4 => Self::Warning,
            5 => Self::Notice,
            7 => Self::Debug,
            _ => Self::Info,
        }
    }

    /// From a level word as loggers write it, ASCII case ignored: `ERROR`,
    /// `[warn]`, `level=error`, `E:`-style brackets and colons trimmed,
    /// `fatal`/`panic` as critical, `trace` as debug. `None` for any other word.
    #[must_use]
    pub fn from_word(word: &str) -> Option<Self> {
        let w = word
            .trim_start_matches("level=")
            .trim_matches(|c: char| matches!(c, '[' | ']' | ':' | '<' | '>' | '"'))
            .to_ascii_lowercase();
        Some(match w.as_str() {
            "trace" | "debug" | "dbg" => Self::Debug,
            "info" | "information" => Self::Info,
            "notice" => Self::Notice,
            "warn" | "warning" => Self::Warning,
            "error" | "err" => Self::Error,
            "critical" | "crit" | "fatal" | "alert" | "emerg" | "panic" => Self::Critical,
            _ => return None,
        })
    }
}

/// One thing that happened, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (as reported by the source when it says, else when read).
    pub ts: Timestamp,
    /// Where it came from: `kmsg`, `journal`, `file:/var/log/app.log`, `process`, `socket`, …
    pub source: String,
    /// What kind of thing it is.
    pub kind: EventKind,
    /// How important it is.
    pub level: Level,
    /// The text (a log line, or a sentence for typed events).
    pub message: String,
    /// Structured details (`pid`, `unit`, `process`, …), sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// An event with no fields.
    #[must_use]
    pub fn new(
        ts: Timestamp,
        source: impl Into<String>,
        kind: EventKind,
        level: Level,
        message: impl Into<String>,
    ) -> Self {
        Self {
            ts,
            source: source.into(),
            kind,
            level,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    /// Adds one field.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.fields.insert(key.into(), value.to_string());
        self
    }

    /// Approximate heap bytes, for byte-bounded buffers.
    #[must_use]
    pub fn approx_bytes(&self) -> usize {
        64 + self.source.len()
            + self.message.len()
            + self
                .fields
                .iter()
                .map(|(k, v)| 48 + k.len() + v.len())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_snake_case_and_custom_keeps_its_name() {
        assert_eq!(
            serde_json::to_string(&EventKind::OomKill).unwrap(),
            r#""oom_kill""#
        );
        assert_eq!(
            serde_json::to_string(&EventKind::Custom("x".into())).unwrap(),
            r#"{"custom":"x"}"#
        );
        assert_eq!(EventKind::Custom("x".into()).to_string(), "custom:x");
    }

    #[test]
    fn syslog_priorities_fold_into_levels() {
        assert_eq!(Level::from_syslog(0), Level::Critical);
        assert_eq!(Level::from_syslog(3), Level::Error);
        assert_eq!(Level::from_syslog(6), Level::Info);
        assert_eq!(Level::from_syslog(42), Level::Info);
    }
}
