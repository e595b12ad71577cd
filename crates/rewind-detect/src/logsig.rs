//! Log signatures: log lines grouped into templates, and the templates that
//! are new or more frequent after a deploy.
//!
//! Three steps, each usable on its own:
//!
//! 1. [`mask`](fn@mask) replaces the variable parts of a line (numbers, ids, UUIDs,
//!    addresses, paths, URLs, e-mail addresses, durations, timestamps,
//!    optionally quoted strings) with typed placeholders such as `<IP>`.
//! 2. [`Drain`] mines templates from masked lines with the Drain algorithm,
//!    generalising the positions that still differ to `<*>`. A [`Miner`]
//!    does both.
//! 3. [`compare`](fn@compare) mines the lines around a deploy and reports the
//!    [`SignatureChange`]s: templates never seen before it, and templates
//!    whose rate jumped (a count test, not a ratio of noisy rates).
//!
//! Like the rest of the crate this reads no clock and does no I/O: the
//! same lines in the same order give the same templates, ids and report.
//!
//! ```
//! use rewind_detect::logsig::{compare, CompareConfig, LogLine, Windows};
//! use rewind_model::{Level, Timestamp};
//!
//! // 2026-03-30T14:00:00Z plus `m` minutes; the deploy is at 14:10.
//! let minute = |m: i64| Timestamp::from_unix_millis(1_774_879_200_000 + m * 60_000);
//! let mut lines = Vec::new();
//! for m in 0..10 {
//!     lines.push((minute(m), format!("GET /users/{m}/profile timed out after {m}00 ms")));
//! }
//! for m in 10..15 {
//!     for i in 0..4 {
//!         lines.push((minute(m), format!("connection to 10.0.0.{i}:5432 refused")));
//!     }
//! }
//! let windows = Windows::new(minute(0), minute(10), minute(15))?;
//! let report = compare(
//!     lines.iter().map(|(ts, text)| LogLine::new(*ts, Some(Level::Error), "app", text)),
//!     &windows,
//!     &CompareConfig::default(),
//! )?;
//! assert_eq!(report.changes.len(), 1);
//! assert_eq!(
//!     report.changes[0].summary(),
//!     "new after the deploy: `connection to <IP> refused` (20 times, first 14:10:00)"
//! );
//! # Ok::<(), rewind_detect::logsig::ConfigError>(())
//! ```
//!
//! ## Why written here
//!
//! Two Rust crates mine Drain templates. `logdrain` is built for concurrent
//! servers (a `DashMap` of `RwLock`ed clusters), persists through files,
//! Kafka or Redis, pulls in `bincode` 1, and bounds clusters only per leaf.
//! `drain3` is a young single-author port whose cap is an error once reached
//! and which brings `bon`, `snafu`, `string-interner` and `fastrand`. This
//! crate needs neither concurrency nor persistence, but needs a global
//! bound with a policy, ids documented as stable, and masks that know what a
//! robot's and a service's logs hold. Drain itself is two hundred lines.

mod compare;
mod count_test;
mod drain;
mod mask;

pub use compare::{
    ChangeKind, CompareConfig, LineFilter, LogLine, ReportCounts, SignatureChange, SignatureReport,
    Windows, compare,
};
pub use drain::{Drain, DrainConfig, Outcome, TemplateId, WILDCARD, WhenFull, template_key};
pub use mask::{MaskConfig, Masked, mask, truncate};

use rewind_model::Timestamp;

/// A setting out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The tree must have a root, a token-count level and one token level.
    #[error("drain depth must be at least 3, got {value}")]
    Depth {
        /// The depth given.
        value: usize,
    },
    /// Similarity is a share.
    #[error("drain similarity must be between 0 and 1, got {value}")]
    Similarity {
        /// The similarity given.
        value: f64,
    },
    /// A node needs room for one child.
    #[error("drain max_children must be at least 1")]
    MaxChildren,
    /// The miner needs room for one template.
    #[error("drain max_templates must be at least 1")]
    MaxTemplates,
    /// A line needs room for one character.
    #[error("max_line_bytes must be at least 4")]
    MaxLineBytes,
    /// The windows must be in order.
    #[error(
        "the windows must satisfy before_start < deploy_at < after_end, got {before_start}, {deploy_at}, {after_end}"
    )]
    Windows {
        /// Start of the window before the deploy.
        before_start: Timestamp,
        /// The deploy.
        deploy_at: Timestamp,
        /// End of the window after the deploy.
        after_end: Timestamp,
    },
    /// A comparison setting out of range.
    #[error("{field} must be {expected}, got {value}")]
    Compare {
        /// The setting.
        field: &'static str,
        /// Its range, in words.
        expected: &'static str,
        /// The value given.
        value: f64,
    },
}

/// Masking and mining settings together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MinerConfig {
    /// How lines are masked.
    pub mask: MaskConfig,
    /// How templates are mined.
    pub drain: DrainConfig,
}

impl MinerConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// The first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mask.max_line_bytes < 4 {
            return Err(ConfigError::MaxLineBytes);
        }
        self.drain.validate()
    }
}

/// Masks raw lines and mines their templates, counting what it cut.
#[derive(Debug)]
pub struct Miner {
    mask: MaskConfig,
    drain: Drain,
    lines: u64,
    truncated: u64,
    empty: u64,
}

impl Miner {
    /// An empty miner.
    ///
    /// # Errors
    /// When `config` has a field out of range.
    pub fn new(config: MinerConfig, when_full: WhenFull) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            drain: Drain::new(config.drain, when_full)?,
            mask: config.mask,
            lines: 0,
            truncated: 0,
            empty: 0,
        })
    }

    /// Masks and mines one raw line.
    pub fn add(&mut self, line: &str) -> Outcome {
        let masked = mask(line, &self.mask);
        self.lines += 1;
        self.truncated += u64::from(masked.truncated);
        let outcome = self.drain.add(&masked.text);
        self.empty += u64::from(outcome == Outcome::Empty);
        outcome
    }

    /// The template a raw line would join, without changing anything.
    #[must_use]
    pub fn find(&self, line: &str) -> Option<TemplateId> {
        self.drain.find(&mask(line, &self.mask).text)
    }

    /// The templates mined.
    #[must_use]
    pub const fn drain(&self) -> &Drain {
        &self.drain
    }

    /// Lines added.
    #[must_use]
    pub const fn lines(&self) -> u64 {
        self.lines
    }

    /// Lines cut to the masker's `max_line_bytes`.
    #[must_use]
    pub const fn truncated(&self) -> u64 {
        self.truncated
    }

    /// Lines with nothing left after masking (blank, or only a timestamp).
    #[must_use]
    pub const fn empty(&self) -> u64 {
        self.empty
    }
}
