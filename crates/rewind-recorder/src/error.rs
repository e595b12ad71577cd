//! The one error type of this crate.

use std::{io, path::PathBuf};

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong configuring, recording, reading, recovering
/// or cutting a session.
///
/// [`Recorder::record`](crate::Recorder::record) never returns an error: a
/// record that cannot be queued is dropped and counted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration text does not parse, or has an unknown or
    /// mistyped key.
    #[error("recorder config: {message}")]
    ConfigParse {
        /// The parser's message, naming the key and, for YAML, the line.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("recorder config: `{key}` {problem} (got {value})")]
    Config {
        /// The key, as written in the file (`window_sec`, …).
        key: &'static str,
        /// The value found.
        value: String,
        /// What is wrong with it, as a phrase (`must be greater than 0`).
        problem: String,
    },
    /// A file or directory could not be created, read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done (`create`, `read`, `write`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system error.
        source: io::Error,
    },
    /// The MCAP library refused to read or write a file.
    #[error("MCAP error in `{}`: {source}", path.display())]
    Mcap {
        /// The file.
        path: PathBuf,
        /// The library's error.
        source: mcap::McapError,
    },
    /// The file has no summary section: it is being written, or its writer
    /// was killed. `recover` rewrites it with one.
    #[error(
        "`{}` has no MCAP summary (still being written, or its writer crashed); \
         hint: recover it first (`rewind mcap recover`)",
        path.display()
    )]
    NoSummary {
        /// The file.
        path: PathBuf,
    },
    /// A topic name is empty, lacks its leading `/`, or has a control character.
    #[error("invalid topic `{topic}`: {problem}")]
    InvalidTopic {
        /// The topic.
        topic: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A channel's schema is not a JSON Schema document (a JSON object or boolean).
    #[error("schema of channel `{topic}` is not a JSON Schema: {problem}")]
    InvalidSchema {
        /// The channel's topic.
        topic: String,
        /// What is wrong.
        problem: String,
    },
    /// A topic was registered twice with different schemas or roles.
    #[error("channel `{topic}` is already registered with a different schema or role")]
    ConflictingChannel {
        /// The topic.
        topic: String,
    },
    /// More channels than MCAP can number.
    #[error("too many channels: at most {max} can be registered")]
    TooManyChannels {
        /// The limit.
        max: usize,
    },
    /// A session id has characters that cannot go into a file name.
    #[error(
        "invalid session id `{id}`: use 1 to 64 ASCII letters, digits, `_`, `-` or `.`, not starting with `.`"
    )]
    InvalidSessionId {
        /// The id.
        id: String,
    },
    /// A camera name or guard layer is not valid for a built-in channel.
    #[error("invalid built-in channel: {problem}")]
    InvalidBuiltin {
        /// What is wrong.
        problem: String,
    },
    /// The writer thread is gone (the recorder was closed or the thread
    /// panicked).
    #[error("the recorder's writer thread has stopped")]
    WriterStopped,
    /// The writer thread could not be started.
    #[error("cannot start the recorder's writer thread: {0}")]
    Spawn(#[source] io::Error),
    /// A value could not be encoded as JSON.
    #[error("cannot encode a payload as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A cut filter's range is empty or reversed.
    #[error("invalid cut filter: {problem}")]
    InvalidFilter {
        /// What is wrong.
        problem: String,
    },
    /// `recover` or `cut` was asked to write over an existing file.
    #[error("`{}` already exists; refusing to overwrite it", path.display())]
    OutputExists {
        /// The output file.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn mcap(path: impl Into<PathBuf>, source: mcap::McapError) -> Self {
        Self::Mcap {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(
        key: &'static str,
        value: impl ToString,
        problem: impl Into<String>,
    ) -> Self {
        Self::Config {
            key,
            value: value.to_string(),
            problem: problem.into(),
        }
    }
}
