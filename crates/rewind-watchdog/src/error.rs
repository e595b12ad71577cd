//! The one error type of this crate.

use std::{io, path::PathBuf};

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong installing the watchdog or reading its
/// directory.
///
/// Once installed, the watchdog returns no errors to the program: a failure
/// while capturing stops capturing and is reported in
/// [`WatchdogStatus`](crate::WatchdogStatus) and as an
/// [`EventKind::Error`](crate::EventKind::Error) event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range.
    #[error("watchdog config: `{key}` {problem}")]
    Config {
        /// The setting (`interval`, `keep`, …).
        key: &'static str,
        /// What is wrong with it, as a phrase.
        problem: String,
    },
    /// A file or directory could not be created, read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done (`create`, `read`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system error.
        source: io::Error,
    },
    /// A JSON file (a manifest, a history row) does not parse.
    #[error("`{}` is not valid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A webhook URL is not `http://host[:port]/path`.
    #[error(
        "invalid webhook URL `{url}`: {problem}; hint: the built-in webhook speaks plain http:// only \
         (implement `Notifier` for https)"
    )]
    WebhookUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// No capture has this id (`<kind>/<name>`).
    #[error("no capture `{id}` in `{}`", dir.display())]
    NoSuchCapture {
        /// The id asked for.
        id: String,
        /// The watchdog directory.
        dir: PathBuf,
    },
    /// A thread of the watchdog could not be started.
    #[error("cannot start the watchdog's thread: {0}")]
    Spawn(#[source] io::Error),
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(key: &'static str, problem: impl Into<String>) -> Self {
        Self::Config {
            key,
            problem: problem.into(),
        }
    }
}
