//! What a comparison returns: serialisable, with a sentence per change.

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::logsig::{TemplateId, template_key};
use crate::words;

/// Template text quoted in a summary is cut to this many characters.
const SUMMARY_TEMPLATE_CHARS: usize = 160;

/// How a signature changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// Never seen before the deploy.
    New,
    /// Seen before, and significantly more frequent after.
    RateJump,
}

/// One signature that is new or more frequent after the deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureChange {
    /// New, or a rate jump.
    pub kind: ChangeKind,
    /// The template's creation number in this comparison's miner.
    pub template_id: TemplateId,
    /// [`template_key`] of the final template text: the same text gives the
    /// same key in any report.
    pub key: String,
    /// The template: masked, with `<*>` where its lines differ.
    pub template: String,
    /// Lines before the deploy.
    pub count_before: u64,
    /// Lines after the deploy.
    pub count_after: u64,
    /// Lines a minute before the deploy.
    pub rate_before_per_min: f64,
    /// Lines a minute after the deploy.
    pub rate_after_per_min: f64,
    /// Rate after over rate before; absent for a new signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// One-sided p-value of the count after under "the rate did not change"
    /// (may underflow to 0).
    pub p_value: f64,
    /// `−log10` of the p-value, without underflow: higher is more significant.
    pub significance: f64,
    /// The earliest line after the deploy, as written (cut to the masker's
    /// `max_line_bytes`).
    pub example: String,
    /// Where that line came from.
    pub example_source: String,
    /// The earliest line of this signature in either window.
    pub first_seen: Timestamp,
    /// The earliest line of this signature after the deploy.
    pub first_after: Timestamp,
    /// Sources of the lines after the deploy, sorted (at most 8).
    pub sources: Vec<String>,
    /// The change in one sentence (also [`SignatureChange::summary`]).
    pub summary: String,
}

impl SignatureChange {
    /// The change in plain words, e.g. ``new after the deploy: `connection
    /// to <IP> refused after <NUM> ms` (37 times, first 14:03:05)``. Times
    /// are UTC.
    #[must_use]
    pub fn summary(&self) -> &str {
        &self.summary
    }
}

/// A comparison's changes and what it counted on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureReport {
    /// Start of the window before the deploy.
    pub before_start: Timestamp,
    /// The deploy: lines at or after it are "after".
    pub deploy_at: Timestamp,
    /// End of the window after the deploy (exclusive).
    pub after_end: Timestamp,
    /// New and more frequent signatures, most significant first.
    pub changes: Vec<SignatureChange>,
    /// What happened to the lines.
    pub counts: ReportCounts,
}

/// What happened to the lines of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCounts {
    /// Lines given.
    pub lines: u64,
    /// Lines outside both windows.
    pub outside_windows: u64,
    /// Lines the filter left out (not error-ish, by default).
    pub filtered_out: u64,
    /// Lines mined before the deploy.
    pub mined_before: u64,
    /// Lines mined after the deploy.
    pub mined_after: u64,
    /// Mined lines cut to the masker's `max_line_bytes`.
    pub truncated: u64,
    /// Mined lines with nothing left after masking.
    pub empty: u64,
    /// Mined lines refused because the miner was full.
    pub refused: u64,
    /// Templates mined.
    pub templates: usize,
    /// Signatures seen after the deploy that did not change enough.
    pub unchanged: usize,
    /// New signatures with fewer lines than `min_count`.
    pub new_below_min_count: usize,
    /// Changes left out of the list by `max_reported`.
    pub not_reported: usize,
}

/// Everything a change is built from.
#[derive(Debug)]
pub(super) struct Parts {
    pub kind: ChangeKind,
    pub id: TemplateId,
    pub template: String,
    pub before: u64,
    pub after: u64,
    pub rate_before: f64,
    pub rate_after: f64,
    pub ln_p: f64,
    pub example: String,
    pub example_source: String,
    pub first_seen: Timestamp,
    pub first_after: Timestamp,
    pub sources: Vec<String>,
}

impl Parts {
    pub(super) fn build(self) -> SignatureChange {
        let summary = self.summary();
        SignatureChange {
            kind: self.kind,
            template_id: self.id,
            key: template_key(&self.template),
            template: self.template,
            count_before: self.before,
            count_after: self.after,
            rate_before_per_min: self.rate_before,
            rate_after_per_min: self.rate_after,
            ratio: (self.before > 0).then(|| self.rate_after / self.rate_before),
            p_value: self.ln_p.exp(),
            significance: -self.ln_p / std::f64::consts::LN_10,
            example: self.example,
            example_source: self.example_source,
            first_seen: self.first_seen,
            first_after: self.first_after,
            sources: self.sources,
            summary,
        }
    }

    fn summary(&self) -> String {
        let template = cut(&self.template, SUMMARY_TEMPLATE_CHARS);
        let first = time_of_day(self.first_after);
        match self.kind {
            ChangeKind::New => format!(
                "new after the deploy: `{template}` ({}, first {first})",
                times(self.after)
            ),
            ChangeKind::RateJump => format!(
                "more frequent after the deploy: `{template}` at {}/min, was {}/min \
                 ({} after, {} before; first after the deploy {first})",
                words::number(self.rate_after),
                words::number(self.rate_before),
                times(self.after),
                times(self.before),
            ),
        }
    }
}

fn times(count: u64) -> String {
    match count {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    }
}

/// `text` cut to `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `HH:MM:SS` in UTC.
fn time_of_day(ts: Timestamp) -> String {
    let second = ts
        .as_unix_nanos()
        .div_euclid(1_000_000_000)
        .rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_templates_are_cut_in_summaries_at_a_char() {
        assert_eq!(cut("ab€d", 3), "ab€…");
        assert_eq!(cut("ab€", 3), "ab€");
    }

    #[test]
    fn times_of_day_are_utc() {
        let ts = Timestamp::from_unix_millis(1_774_879_385_000); // 2026-03-30T14:03:05Z
        assert_eq!(time_of_day(ts), "14:03:05");
        assert_eq!(time_of_day(Timestamp::from_unix_millis(-1000)), "23:59:59");
    }
}
