//! `rewind rules test FILE --bundle B…`: replays recorded bundles through a
//! rules file and reports what would fire, when, and why.
//!
//! Each bundle gets a fresh [`Engine`]. Its samples, all series merged, go
//! in in time order (samples at the same instant in series-name order, so a
//! replay is deterministic), then the engine is advanced to the end of the
//! bundle's window so rules that hold on silence get their say. Times are
//! shown relative to the trigger the bundle recorded.
//!
//! A bundle gives its sample times as float seconds, precise to well under
//! a microsecond; they are rounded to the microsecond, and a replayed firing
//! within [`SAME_TIME_NANOS`] of the recorded `fired_at` counts as the same
//! time.

mod print;
mod verdict;

use std::path::{Path, PathBuf};

use rewind_bundle::{Bundle, Limits, read_bundle};
use rewind_detect::{Decision, Engine, RuleSet, Signal, SignalKind, Suppression};
use rewind_model::{Sample, SeriesName, Severity, TimeRange, Timestamp};
use serde::Serialize;

use self::verdict::{Verdict, missed_expectations, notes, verdict};
use super::words::{offset, seconds};
use crate::UsageError;

/// A replayed firing this close to the recorded one is at the recorded time.
const SAME_TIME_NANOS: i64 = 2_000;
/// Larger files are refused before they are read (the agent's bundles are far smaller).
const MAX_BUNDLE_BYTES: u64 = 1 << 30;

/// What one bundle's replay showed.
#[derive(Debug, Serialize)]
struct Report {
    /// The bundle file.
    bundle: String,
    bundle_id: String,
    device_id: String,
    window: TimeRange,
    series: usize,
    samples: usize,
    /// The trigger the bundle recorded.
    recorded: Recorded,
    /// Every change of state, in order.
    signals: Vec<Row>,
    /// Whether the recorded trigger's rule fired again.
    original: Verdict,
    /// Firing signals per rule.
    fired: std::collections::BTreeMap<String, u64>,
    /// What the replay cannot show.
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Recorded {
    rule: String,
    severity: Severity,
    fired_at: Timestamp,
    summary: String,
}

/// One change of state.
#[derive(Debug, Serialize)]
struct Row {
    /// Seconds after the recorded trigger (negative: before).
    offset_s: f64,
    at: Timestamp,
    rule: String,
    subject: String,
    /// `pending`, `firing`, `resolved` or `cancelled`.
    state: &'static str,
    /// `capture`, `dry_run`, `suppressed` or `nothing`.
    decision: &'static str,
    /// For `suppressed`: `cooldown` or `warning_budget`.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed_by: Option<&'static str>,
    /// For `suppressed`: when the budget has room again.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed_until: Option<Timestamp>,
    /// Why: the trigger's summary for `firing`, a sentence otherwise.
    summary: String,
    #[serde(skip)]
    decision_text: String,
}

/// `rewind rules test FILE --bundle B… [--expect-fire RULE…] [--json]`.
pub(super) fn run(
    rules_path: &Path,
    bundles: &[PathBuf],
    expect_fire: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let rules = super::load(rules_path)?;
    for name in expect_fire {
        if rules.rule(name).is_none() {
            let names: Vec<&str> = rules.rules().iter().map(|r| r.name.as_str()).collect();
            return Err(UsageError(format!(
                "error: --expect-fire names rule \"{name}\", which {} does not have\n  hint: the rules are: {}",
                rules_path.display(),
                names.join(", ")
            ))
            .into());
        }
    }
    let mut reports = Vec::with_capacity(bundles.len());
    for path in bundles {
        let bundle = read(path)?;
        reports.push(replay(&rules, path, &bundle)?);
    }
    let missed = missed_expectations(&reports, expect_fire);
    print::write(
        &rules_path.display().to_string(),
        &reports,
        expect_fire,
        json,
    )?;
    if missed.is_empty() {
        return Ok(());
    }
    anyhow::bail!("--expect-fire: {}", missed.join("; "))
}

/// Reads and validates a bundle; any problem is a usage error naming the file.
fn read(path: &Path) -> anyhow::Result<Bundle> {
    let refuse = |why: String| UsageError(format!("error: {}: {why}", path.display()));
    let size = fs_err::metadata(path)
        .map_err(|e| UsageError(format!("error: cannot read the bundle: {e}")))?
        .len();
    if size > MAX_BUNDLE_BYTES {
        return Err(refuse(format!(
            "the file is {size} bytes, over the {MAX_BUNDLE_BYTES} bytes a bundle may have"
        ))
        .into());
    }
    let bytes = fs_err::read(path)
        .map_err(|e| UsageError(format!("error: cannot read the bundle: {e}")))?;
    let limits = Limits {
        max_bundle_bytes: MAX_BUNDLE_BYTES,
        ..Limits::default()
    };
    read_bundle(&bytes, &limits).map_err(|e| {
        refuse(format!(
            "not a valid bundle ({}): {e}\n  hint: give a bundle written by a Rewind agent; `rewind bundle verify` checks one",
            e.code()
        ))
        .into()
    })
}

/// One sample of one series, for merging.
struct Point {
    at: i64,
    series: usize,
    value: f64,
}

/// Feeds `bundle` to a fresh engine and reports what happened.
fn replay(rules: &RuleSet, path: &Path, bundle: &Bundle) -> anyhow::Result<Report> {
    let (names, points) = merge(path, bundle)?;
    let fired_at = bundle.trigger.fired_at;
    let mut engine = Engine::new(rules);
    let mut signals = Vec::new();
    // Events (logs, process and node events, deploys) go in with the
    // samples, in time order; an event comes before a sample at its instant.
    let mut events: Vec<&rewind_model::Event> = bundle.events.iter().collect();
    events.sort_by_key(|e| e.ts);
    let mut next_event = events.iter().peekable();
    for p in &points {
        let at = Timestamp::from_unix_nanos(p.at);
        while let Some(event) = next_event.next_if(|e| e.ts <= at) {
            signals.extend(engine.observe_event(event));
        }
        signals.extend(engine.observe(&names[p.series], Sample::new(at, p.value)));
    }
    for event in next_event {
        signals.extend(engine.observe_event(event));
    }
    signals.extend(engine.advance(bundle.manifest.time_range.end));
    let rows = signals.iter().map(|s| row(rules, s, fired_at)).collect();
    let original = verdict(rules, &engine, &signals, bundle, &names);
    Ok(Report {
        bundle: path.display().to_string(),
        bundle_id: bundle.manifest.bundle_id.to_string(),
        device_id: bundle.manifest.device_id.to_string(),
        window: bundle.manifest.time_range,
        series: names.len(),
        samples: points.len(),
        recorded: Recorded {
            rule: bundle.trigger.rule.clone(),
            severity: bundle.trigger.severity,
            fired_at,
            summary: bundle.trigger.summary.clone(),
        },
        signals: rows,
        original,
        fired: engine.stats().fired.clone(),
        notes: notes(rules, &names, bundle.events.len()),
    })
}

/// The bundle's series names, sorted, and all samples in time order (ties
/// in name order).
fn merge(path: &Path, bundle: &Bundle) -> anyhow::Result<(Vec<SeriesName>, Vec<Point>)> {
    let bad = |why: String| UsageError(format!("error: {}: {why}", path.display()));
    let mut order: Vec<usize> = (0..bundle.series.len()).collect();
    order.sort_by(|&a, &b| bundle.series[a].name.cmp(&bundle.series[b].name));
    let mut names = Vec::with_capacity(order.len());
    let mut points = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        let s = &bundle.series[i];
        names.push(
            SeriesName::new(s.name.as_str())
                .map_err(|e| bad(format!("series `{}`: {e}", s.name)))?,
        );
        for (&t, &value) in s.t.iter().zip(&s.v) {
            let at = micros(t)
                .ok_or_else(|| bad(format!("series `{}` has a sample at {t} s", s.name)))?;
            points.push(Point {
                at,
                series: rank,
                value,
            });
        }
    }
    // Stable: a series' own samples keep their order.
    points.sort_by_key(|p| (p.at, p.series));
    Ok((names, points))
}

/// Float Unix seconds as nanoseconds, rounded to the microsecond.
#[allow(clippy::cast_possible_truncation)] // range checked first
fn micros(secs: f64) -> Option<i64> {
    let us = (secs * 1e6).round();
    // Timestamps span the years 1678..2262: ±9.2e18 ns.
    (us.is_finite() && us.abs() < 9.2e15).then(|| us as i64 * 1_000)
}

fn row(rules: &RuleSet, s: &Signal, fired_at: Timestamp) -> Row {
    let (decision, by, until) = match s.decision {
        Decision::Capture => ("capture", None, None),
        Decision::DryRun => ("dry_run", None, None),
        Decision::Suppressed(Suppression::Cooldown { until }) => {
            ("suppressed", Some("cooldown"), Some(until))
        }
        Decision::Suppressed(Suppression::WarningBudget { until }) => {
            ("suppressed", Some("warning_budget"), Some(until))
        }
        Decision::Nothing => ("nothing", None, None),
    };
    let decision_text = match (decision, s.kind, by, until) {
        ("capture", SignalKind::Pending, ..) => "pre-record".to_owned(),
        ("dry_run", ..) => "dry run".to_owned(),
        ("suppressed", _, Some(by), Some(until)) => format!(
            "suppressed ({} until {})",
            by.replace('_', " "),
            offset(until.nanos_since(fired_at), 1)
        ),
        ("nothing", ..) => "-".to_owned(),
        (other, ..) => other.to_owned(),
    };
    Row {
        offset_s: secs(s.at.nanos_since(fired_at)),
        at: s.at,
        rule: s.rule.clone(),
        subject: s.subject.clone(),
        state: s.kind.as_str(),
        decision,
        suppressed_by: by,
        suppressed_until: until,
        summary: why(rules, s),
        decision_text,
    }
}

/// Why the signal happened, in one sentence.
fn why(rules: &RuleSet, s: &Signal) -> String {
    let held = seconds(s.at.nanos_since(s.since));
    let duration = rules.rule(&s.rule).map_or(0, |r| r.duration_nanos);
    match s.kind {
        SignalKind::Firing => s
            .trigger
            .as_ref()
            .map_or_else(|| "fired".to_owned(), |t| t.summary.clone()),
        SignalKind::Pending => format!(
            "condition holds; fires once it has held for {} s",
            seconds(duration)
        ),
        SignalKind::Cancelled => format!(
            "condition cleared after {held} s, short of {} s",
            seconds(duration)
        ),
        SignalKind::Resolved => format!("condition cleared; it held for {held} s"),
    }
}

/// Nanoseconds as seconds, to the microsecond (what a bundle's times keep).
#[allow(clippy::cast_precision_loss)] // display only
fn secs(nanos: i64) -> f64 {
    (nanos as f64 / 1e3).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_come_back_to_the_microsecond() {
        let t = Timestamp::from_unix_millis(1_795_428_004_100);
        assert_eq!(micros(t.as_unix_secs_f64()), Some(t.as_unix_nanos()));
        let odd = Timestamp::from_unix_nanos(1_795_428_004_123_456_789);
        let back = micros(odd.as_unix_secs_f64()).unwrap();
        assert!(
            (back - odd.as_unix_nanos()).abs() <= SAME_TIME_NANOS,
            "{back}"
        );
        assert_eq!(micros(f64::NAN), None);
        assert_eq!(micros(1e300), None);
    }
}
