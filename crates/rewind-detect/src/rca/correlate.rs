//! The strongest correlated changes: the series that moved most around the
//! trigger, measured in robust spreads of their own level before it. What
//! the analysis offers when no chain matches ("no known cause").

use rewind_model::{Level, Timestamp};
use serde::Serialize;

use super::Timeline;
use super::eval::{events::level_name, i64_f64, seconds};
use super::grounded::plain;
use crate::regression::{MetricKind, RegressionConfig, RobustBaseline, stats};
use crate::words::number;

/// "Before" is up to this long before the trigger …
const BEFORE_NANOS: i64 = 120_000_000_000;
/// … and ends this long before it; "around" runs from there to
/// [`AFTER_NANOS`] after the trigger.
const GUARD_NANOS: i64 = 5_000_000_000;
/// How long after the trigger "around" reaches.
const AFTER_NANOS: i64 = 10_000_000_000;
/// Fewest samples "before" must have.
const MIN_BEFORE: usize = 5;
/// Changes smaller than this many spreads are not listed.
const MIN_SPREADS: f64 = 3.0;
/// Spreads are reported up to this many.
const MAX_SPREADS: f64 = 1000.0;

/// A series that changed around the trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlated {
    /// The series.
    pub series: String,
    /// Its median before the trigger (from 120 s to 5 s before it).
    pub before: f64,
    /// Its median around the trigger (5 s before to 10 s after).
    pub after: f64,
    /// The change in robust spreads of `before` (at most 1000), signed.
    pub spreads: f64,
    /// One sentence saying so.
    pub text: String,
}

/// The `limit` series that changed most around the trigger, most first.
#[must_use]
pub fn strongest(timeline: &Timeline, limit: usize) -> Vec<Correlated> {
    let at = timeline.fired_at();
    let (from, guard, to) = (
        at.add_nanos(-BEFORE_NANOS),
        at.add_nanos(-GUARD_NANOS),
        at.add_nanos(AFTER_NANOS),
    );
    let cfg = RegressionConfig::default();
    let mut out: Vec<Correlated> = timeline
        .series
        .iter()
        .filter_map(|(name, samples)| {
            let pick = |lo, hi| -> Vec<f64> {
                samples
                    .iter()
                    .filter(|s| s.ts >= lo && s.ts < hi && s.value.is_finite())
                    .map(|s| s.value)
                    .collect()
            };
            let before = pick(from, guard);
            let around = pick(guard, to.add_nanos(1));
            if before.len() < MIN_BEFORE || around.is_empty() {
                return None;
            }
            let base = RobustBaseline::learn(&before, MetricKind::Other, &cfg)?;
            let after = stats::median(&around)?;
            let spreads = base.z(after).clamp(-MAX_SPREADS, MAX_SPREADS);
            if !spreads.is_finite() || spreads.abs() < MIN_SPREADS {
                return None;
            }
            let verb = if spreads > 0.0 { "rose" } else { "fell" };
            let text = format!(
                "`{name}` {verb} from {} to {} around the trigger ({} spreads)",
                number(base.median),
                number(after),
                number(spreads.abs())
            );
            Some(Correlated {
                series: name.to_string(),
                before: base.median,
                after,
                spreads,
                text,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.spreads
            .abs()
            .total_cmp(&a.spreads.abs())
            .then_with(|| a.series.cmp(&b.series))
    });
    out.truncate(limit);
    out
}

/// How far before the trigger notable events are looked for …
const EVENTS_BEFORE_NANOS: i64 = 30_000_000_000;
/// … and after it.
const EVENTS_AFTER_NANOS: i64 = 10_000_000_000;

/// An event at warning level or above close to the trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notable {
    /// When.
    pub at: Timestamp,
    /// Seconds from the trigger (negative: before it).
    pub offset_s: f64,
    /// Its source.
    pub source: String,
    /// Its kind (`oom_kill`, `log`, …).
    pub kind: String,
    /// Its level.
    pub level: String,
    /// Its message, as recorded.
    pub message: String,
}

/// The `limit` events at warning or above from 30 s before to 10 s after
/// the trigger, closest to it first.
#[must_use]
pub fn notable(timeline: &Timeline, limit: usize) -> Vec<Notable> {
    let at = timeline.fired_at();
    let (from, to) = (
        at.add_nanos(-EVENTS_BEFORE_NANOS),
        at.add_nanos(EVENTS_AFTER_NANOS),
    );
    let mut events: Vec<_> = timeline
        .events
        .iter()
        .filter(|e| e.level >= Level::Warning && e.ts >= from && e.ts <= to)
        .filter(|e| !e.message.trim().is_empty())
        .collect();
    events.sort_by_key(|e| (e.ts.nanos_since(at).saturating_abs(), e.ts));
    events
        .into_iter()
        .take(limit)
        .map(|e| Notable {
            at: e.ts,
            offset_s: seconds(e.ts.nanos_since(at)),
            source: e.source.clone(),
            kind: e.kind.to_string(),
            level: level_name(e.level).to_owned(),
            message: plain(&e.message).chars().take(300).collect(),
        })
        .collect()
}

/// Seconds the recording reaches before and after the trigger.
#[must_use]
pub(crate) fn reach(timeline: &Timeline) -> (f64, f64) {
    let span = timeline.span();
    let at = timeline.fired_at();
    let secs = |n: i64| (i64_f64(n.max(0)) / 1e8).round() / 10.0;
    (
        secs(at.nanos_since(span.start)),
        secs(span.end.nanos_since(at)),
    )
}
