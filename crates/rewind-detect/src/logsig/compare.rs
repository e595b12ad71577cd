//! Signatures around a deploy: which templates are new after it, and which
//! became more frequent.
//!
//! Lines in `[before_start, deploy_at)` are *before*, lines in
//! `[deploy_at, after_end)` are *after*, others are counted and skipped.
//! By default only error-ish lines are mined ([`LineFilter`]). One [`Miner`]
//! takes them all, in the order given, refusing new templates when full (a
//! comparison must not forget what it saw before the deploy). Then, per
//! template with at least [`CompareConfig::min_count`] lines after:
//!
//! - **new**: no line before;
//! - **rate jump**: the rate after is at least [`CompareConfig::jump_ratio`]
//!   times the rate before, and the count test (see `count_test.rs`) gives a
//!   p-value at most [`CompareConfig::max_p_value`]: 2/min → 20/min over
//!   five minutes each is a jump; 1 line → 2 lines is not;
//! - otherwise unchanged (counted, not listed).
//!
//! Changes are sorted by p-value (smallest first), then by the count after
//! (largest first), then by template id.

mod report;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::{Level, Timestamp};

pub use report::{ChangeKind, ReportCounts, SignatureChange, SignatureReport};

use super::count_test::ln_upper_tail;
use super::{ConfigError, Miner, MinerConfig, TemplateId, WhenFull};

/// Distinct sources kept per signature.
const MAX_SOURCES: usize = 8;

/// One log line as the comparison sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// When it was written.
    pub ts: Timestamp,
    /// Its level, when the source says.
    pub level: Option<Level>,
    /// Where it came from (`file:/var/log/app.log`, `journal`, a service).
    pub source: &'a str,
    /// The line as written.
    pub text: &'a str,
}

impl<'a> LogLine<'a> {
    /// A line.
    #[must_use]
    pub const fn new(ts: Timestamp, level: Option<Level>, source: &'a str, text: &'a str) -> Self {
        Self {
            ts,
            level,
            source,
            text,
        }
    }
}

impl<'a> From<&'a rewind_model::Event> for LogLine<'a> {
    fn from(event: &'a rewind_model::Event) -> Self {
        Self::new(event.ts, Some(event.level), &event.source, &event.message)
    }
}

/// Which lines are mined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineFilter {
    /// Every line.
    All,
    /// Lines at `min_level` or above, and lines of any level (or none) that
    /// contain one of `keywords` (ASCII case ignored).
    ErrorLike {
        /// The lowest level taken whatever the text.
        min_level: Level,
        /// Words that make a line error-ish, lowercase.
        keywords: Vec<String>,
    },
}

impl Default for LineFilter {
    fn default() -> Self {
        Self::ErrorLike {
            min_level: Level::Warning,
            keywords: [
                "error",
                "exception",
                "panic",
                "fatal",
                "timeout",
                "timed out",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl LineFilter {
    /// Whether a line is mined; looks at most at `max_bytes` of its text.
    #[must_use]
    pub fn accepts(&self, line: &LogLine<'_>, max_bytes: usize) -> bool {
        match self {
            Self::All => true,
            Self::ErrorLike {
                min_level,
                keywords,
            } => {
                line.level.is_some_and(|level| level >= *min_level) || {
                    let text = super::truncate(line.text, max_bytes).0.as_bytes();
                    keywords
                        .iter()
                        .any(|k| contains_ignore_case(text, k.as_bytes()))
                }
            }
        }
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The two windows around a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    before_start: Timestamp,
    deploy_at: Timestamp,
    after_end: Timestamp,
}

impl Windows {
    /// `[before_start, deploy_at)` and `[deploy_at, after_end)`.
    ///
    /// # Errors
    /// When the three are not in strictly increasing order.
    pub fn new(
        before_start: Timestamp,
        deploy_at: Timestamp,
        after_end: Timestamp,
    ) -> Result<Self, ConfigError> {
        if before_start < deploy_at && deploy_at < after_end {
            Ok(Self {
                before_start,
                deploy_at,
                after_end,
            })
        } else {
            Err(ConfigError::Windows {
                before_start,
                deploy_at,
                after_end,
            })
        }
    }

    /// Start of the window before the deploy.
    #[must_use]
    pub const fn before_start(&self) -> Timestamp {
        self.before_start
    }

    /// The deploy.
    #[must_use]
    pub const fn deploy_at(&self) -> Timestamp {
        self.deploy_at
    }

    /// End of the window after the deploy.
    #[must_use]
    pub const fn after_end(&self) -> Timestamp {
        self.after_end
    }

    /// Minutes before and after (the exposures of the two counts).
    #[allow(clippy::cast_precision_loss)] // nanosecond precision is not needed for rates
    fn minutes(&self) -> (f64, f64) {
        let minutes = |nanos: i64| nanos as f64 / 60e9;
        (
            minutes(self.deploy_at.nanos_since(self.before_start)),
            minutes(self.after_end.nanos_since(self.deploy_at)),
        )
    }
}

/// What a comparison reports, and how it decides.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareConfig {
    /// Masking and mining (the miner refuses new templates when full).
    pub miner: MinerConfig,
    /// Which lines are mined. Default: error-ish lines.
    pub filter: LineFilter,
    /// Lines after the deploy a signature needs to be reported. Default 3.
    pub min_count: u64,
    /// How many times the rate before the rate after must be. Default 3.
    pub jump_ratio: f64,
    /// The largest p-value of the count test for a jump. Default 0.001.
    pub max_p_value: f64,
    /// Changes listed at most (the rest are counted). Default 50.
    pub max_reported: usize,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            miner: MinerConfig::default(),
            filter: LineFilter::default(),
            min_count: 3,
            jump_ratio: 3.0,
            max_p_value: 0.001,
            max_reported: 50,
        }
    }
}

impl CompareConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// The first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.miner.validate()?;
        if !(self.jump_ratio >= 1.0 && self.jump_ratio.is_finite()) {
            return Err(ConfigError::Compare {
                field: "jump_ratio",
                expected: "at least 1",
                value: self.jump_ratio,
            });
        }
        if !(self.max_p_value > 0.0 && self.max_p_value <= 1.0) {
            return Err(ConfigError::Compare {
                field: "max_p_value",
                expected: "above 0 and at most 1",
                value: self.max_p_value,
            });
        }
        Ok(())
    }
}

/// What one template saw.
#[derive(Debug, Default)]
struct Tally {
    before: u64,
    after: u64,
    first_seen: Option<Timestamp>,
    /// The earliest line after the deploy: when, from where, its text.
    example: Option<(Timestamp, String, String)>,
    sources: BTreeSet<String>,
}

impl Tally {
    fn count(&mut self, line: &LogLine<'_>, after: bool, max_bytes: usize) {
        self.first_seen = Some(self.first_seen.map_or(line.ts, |t| t.min(line.ts)));
        if !after {
            self.before += 1;
            return;
        }
        self.after += 1;
        if self.example.as_ref().is_none_or(|(ts, _, _)| line.ts < *ts) {
            let text = super::truncate(line.text, max_bytes).0.to_owned();
            self.example = Some((line.ts, line.source.to_owned(), text));
        }
        if self.sources.len() < MAX_SOURCES && !self.sources.contains(line.source) {
            self.sources.insert(line.source.to_owned());
        }
    }
}

/// Mines `lines` and reports the signatures that are new or more frequent
/// after the deploy (see the module doc).
///
/// # Errors
/// When `config` has a field out of range.
pub fn compare<'a>(
    lines: impl IntoIterator<Item = LogLine<'a>>,
    windows: &Windows,
    config: &CompareConfig,
) -> Result<SignatureReport, ConfigError> {
    config.validate()?;
    let max_bytes = config.miner.mask.max_line_bytes;
    let mut miner = Miner::new(config.miner.clone(), WhenFull::RefuseNew)?;
    let mut tallies: BTreeMap<TemplateId, Tally> = BTreeMap::new();
    let mut counts = ReportCounts::default();
    for line in lines {
        counts.lines += 1;
        if line.ts < windows.before_start || line.ts >= windows.after_end {
            counts.outside_windows += 1;
            continue;
        }
        if !config.filter.accepts(&line, max_bytes) {
            counts.filtered_out += 1;
            continue;
        }
        let after = line.ts >= windows.deploy_at;
        if after {
            counts.mined_after += 1;
        } else {
            counts.mined_before += 1;
        }
        if let Some(id) = miner.add(line.text).template() {
            tallies
                .entry(id)
                .or_default()
                .count(&line, after, max_bytes);
        }
    }
    counts.truncated = miner.truncated();
    counts.empty = miner.empty();
    counts.refused = miner.drain().refused();
    counts.templates = miner.drain().len();
    let changes = classify(&miner, tallies, windows, config, &mut counts);
    Ok(SignatureReport {
        before_start: windows.before_start,
        deploy_at: windows.deploy_at,
        after_end: windows.after_end,
        changes,
        counts,
    })
}

/// The changes, sorted and cut to `max_reported`; the rest counted.
fn classify(
    miner: &Miner,
    tallies: BTreeMap<TemplateId, Tally>,
    windows: &Windows,
    config: &CompareConfig,
    counts: &mut ReportCounts,
) -> Vec<SignatureChange> {
    let (minutes_before, minutes_after) = windows.minutes();
    let share_after = minutes_after / (minutes_before + minutes_after);
    let mut found = Vec::new();
    for (id, tally) in tallies {
        if tally.after == 0 {
            continue;
        }
        let rate_before = count_rate(tally.before, minutes_before);
        let rate_after = count_rate(tally.after, minutes_after);
        let ln_p = ln_upper_tail(tally.after, tally.before + tally.after, share_after);
        let kind = if tally.after < config.min_count {
            if tally.before == 0 {
                counts.new_below_min_count += 1;
            } else {
                counts.unchanged += 1;
            }
            continue;
        } else if tally.before == 0 {
            ChangeKind::New
        } else if rate_after >= config.jump_ratio * rate_before && ln_p <= config.max_p_value.ln() {
            ChangeKind::RateJump
        } else {
            counts.unchanged += 1;
            continue;
        };
        let (Some(template), Some(first_seen), Some((first_after, source, example))) = (
            miner.drain().template_text(id),
            tally.first_seen,
            tally.example,
        ) else {
            continue;
        };
        let change = report::Parts {
            kind,
            id,
            template,
            before: tally.before,
            after: tally.after,
            rate_before,
            rate_after,
            ln_p,
            example,
            example_source: source,
            first_seen,
            first_after,
            sources: tally.sources.into_iter().collect(),
        };
        found.push((ln_p, change));
    }
    found.sort_by(|(pa, a), (pb, b)| {
        pa.total_cmp(pb)
            .then(b.after.cmp(&a.after))
            .then(a.id.cmp(&b.id))
    });
    counts.not_reported = found.len().saturating_sub(config.max_reported);
    found
        .into_iter()
        .take(config.max_reported)
        .map(|(_, parts)| parts.build())
        .collect()
}

#[allow(clippy::cast_precision_loss)] // counts are far below 2^52
fn count_rate(count: u64, minutes: f64) -> f64 {
    count as f64 / minutes
}
