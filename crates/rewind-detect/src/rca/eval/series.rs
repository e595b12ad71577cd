//! Candidates from numeric series and text states: the runs during which a
//! condition held.

use std::collections::BTreeMap;

use rewind_model::{Comparison, Sample, Timestamp};

use super::events::star;
use super::{Candidate, ItemKind, Prepared, cap, when};
use crate::rca::lang::{ChangeDirection, ChangeSpec, MetricPredicate, StatePredicate};
use crate::regression::{MetricKind, RegressionConfig, RobustBaseline};
use crate::words::{number, seconds};

/// Two samples further apart than this end a run: what happened between
/// them is unknown (the rules' default `max_gap`).
const MAX_GAP_NANOS: i64 = 30_000_000_000;
/// Fewest samples an earlier level is learnt from.
const MIN_BASELINE_SAMPLES: usize = 5;

/// Runs of a numeric series meeting `p`, per matching series.
pub(crate) fn metric(p: &MetricPredicate, prepared: &Prepared<'_>) -> Vec<Candidate> {
    let mut matching: Vec<_> = prepared
        .timeline
        .series
        .iter()
        .filter(|(name, _)| p.series.matches(name.as_str()))
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (name, samples) in matching {
        let mut samples = samples.clone();
        samples.sort_by_key(|s| s.ts);
        let (from, reference) = match p.change {
            Some(spec) => match learn(&samples, spec) {
                Some((from, base)) => (from, Some((spec, base))),
                None => continue,
            },
            None => (0, None),
        };
        let holds = |v: f64| {
            v.is_finite()
                && p.threshold.as_ref().is_none_or(|c| c.holds(v))
                && reference.is_none_or(|(spec, base)| changed(v, spec, &base))
        };
        for (start, end) in runs(&samples[from..], |s| holds(s.value)) {
            let run = &samples[from + start..=from + end];
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            if last.ts.nanos_since(first.ts) < p.for_nanos {
                continue;
            }
            out.push(metric_candidate(
                p,
                name.as_str(),
                run,
                reference,
                prepared.at,
            ));
        }
    }
    out.sort_by_key(|c| c.start);
    cap(out)
}

/// The earlier level: the series' first `baseline` (but at least
/// [`MIN_BASELINE_SAMPLES`], and at most half its samples), and the index
/// judging starts at.
fn learn(samples: &[Sample], spec: ChangeSpec) -> Option<(usize, RobustBaseline)> {
    let first = samples.first()?.ts;
    let end = first.add_nanos(spec.baseline_nanos);
    let half = samples.len() / 2;
    let n = samples
        .iter()
        .take(half)
        .take_while(|s| s.ts < end)
        .count()
        .max(MIN_BASELINE_SAMPLES.min(half));
    let values: Vec<f64> = samples[..n]
        .iter()
        .map(|s| s.value)
        .filter(|v| v.is_finite())
        .collect();
    if values.len() < MIN_BASELINE_SAMPLES {
        return None;
    }
    let base = RobustBaseline::learn(&values, MetricKind::Other, &RegressionConfig::default())?;
    Some((n, base))
}

/// Whether `v` moved far enough from the earlier level.
fn changed(v: f64, spec: ChangeSpec, base: &RobustBaseline) -> bool {
    let d = v - base.median;
    let need = (spec.spreads * base.spread).max(spec.by_pct / 100.0 * base.median.abs());
    match spec.direction {
        ChangeDirection::Up => d > 0.0 && d >= need,
        ChangeDirection::Down => d < 0.0 && -d >= need,
        ChangeDirection::Either => d != 0.0 && d.abs() >= need,
    }
}

/// Index ranges `(first, last)` of runs of consecutive items meeting
/// `holds`, a gap over [`MAX_GAP_NANOS`] ending a run.
fn runs<T: Timed>(items: &[T], holds: impl Fn(&T) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    for (i, item) in items.iter().enumerate() {
        if !holds(item) {
            out.extend(open.take());
            continue;
        }
        open = match open {
            Some((s, last)) if item.ts().nanos_since(items[last].ts()) <= MAX_GAP_NANOS => {
                Some((s, i))
            }
            Some(run) => {
                out.push(run);
                Some((i, i))
            }
            None => Some((i, i)),
        };
    }
    out.extend(open);
    out
}

trait Timed {
    fn ts(&self) -> Timestamp;
}

impl Timed for Sample {
    fn ts(&self) -> Timestamp {
        self.ts
    }
}

impl Timed for (Timestamp, String) {
    fn ts(&self) -> Timestamp {
        self.0
    }
}

fn metric_candidate(
    p: &MetricPredicate,
    series: &str,
    run: &[Sample],
    reference: Option<(ChangeSpec, RobustBaseline)>,
    at: Timestamp,
) -> Candidate {
    let (first, last) = (run[0], run[run.len() - 1]);
    let peak = peak(p, run, reference.map(|(_, b)| b.median));
    let held = last.ts.nanos_since(first.ts);
    let mut values = BTreeMap::from([
        ("series".to_owned(), series.to_owned()),
        ("value".to_owned(), number(first.value)),
        ("peak".to_owned(), number(peak)),
        ("since".to_owned(), first.ts.to_string()),
        (
            "onset".to_owned(),
            seconds(first.ts.nanos_since(at).saturating_abs()),
        ),
        ("held".to_owned(), seconds(held)),
    ]);
    values.extend(star(&p.series, series).map(|s| ("star".to_owned(), s)));
    let mut text = format!("`{series}`");
    if let Some((spec, base)) = reference {
        let verb = match spec.direction {
            ChangeDirection::Up => "rose",
            ChangeDirection::Down => "fell",
            ChangeDirection::Either => "moved",
        };
        let spreads = ((peak - base.median) / base.spread).clamp(-1000.0, 1000.0);
        values.insert("level".into(), number(base.median));
        values.insert("spread".into(), number(base.spread));
        values.insert("spreads".into(), number(spreads.abs()));
        text.push_str(&format!(
            " {verb} from its earlier level {} to {}",
            number(base.median),
            number(peak)
        ));
        let mut detail = Vec::new();
        if base.median != 0.0 {
            let pct = (peak - base.median) / base.median.abs() * 100.0;
            values.insert("change_pct".into(), number(pct.abs()));
            detail.push(format!("{} %", number(pct.abs())));
        }
        detail.push(format!("{} spreads", number(spreads.abs())));
        text.push_str(&format!(" ({})", detail.join(", ")));
    }
    if let Some(c) = &p.threshold {
        values.insert("limit".into(), limit(c));
        let sep = if reference.is_some() { ", and" } else { "" };
        text.push_str(&format!("{sep} {c}"));
    }
    text.push_str(&format!(
        ", from {} for {} s (first {}, peak {})",
        when(first.ts, at),
        seconds(held),
        number(first.value),
        number(peak)
    ));
    Candidate {
        start: first.ts,
        end: last.ts,
        not_before: None,
        kind: ItemKind::Metric,
        subject: series.to_owned(),
        text,
        values,
        approximate: false,
    }
}

/// The most extreme value of the run in the direction the step looks.
fn peak(p: &MetricPredicate, run: &[Sample], level: Option<f64>) -> f64 {
    let values = run.iter().map(|s| s.value).filter(|v| v.is_finite());
    let up = matches!(
        (p.change.map(|c| c.direction), &p.threshold),
        (Some(ChangeDirection::Up), _) | (None, Some(Comparison::Above(_)))
    );
    let down = matches!(
        (p.change.map(|c| c.direction), &p.threshold),
        (Some(ChangeDirection::Down), _) | (None, Some(Comparison::Below(_)))
    );
    let center = match (&p.threshold, level) {
        (_, Some(level)) => level,
        (Some(Comparison::Outside { low, high }), None) => (low + high) / 2.0,
        _ => 0.0,
    };
    let first = run.first().map_or(0.0, |s| s.value);
    if up {
        values.fold(first, f64::max)
    } else if down {
        values.fold(first, f64::min)
    } else {
        values.fold(first, |a, b| {
            if (b - center).abs() > (a - center).abs() {
                b
            } else {
                a
            }
        })
    }
}

fn limit(c: &Comparison) -> String {
    match c {
        Comparison::Above(v) | Comparison::Below(v) | Comparison::Equals(v) => number(*v),
        Comparison::Outside { low, high } => format!("{}..{}", number(*low), number(*high)),
        Comparison::Is(t) => t.clone(),
    }
}

/// Runs of a text state equal to `p.is`, per matching series.
pub(crate) fn state(p: &StatePredicate, prepared: &Prepared<'_>) -> Vec<Candidate> {
    let mut matching: Vec<_> = prepared
        .timeline
        .text_states
        .iter()
        .filter(|(name, _)| p.series.matches(name.as_str()))
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (name, points) in matching {
        let mut points = points.clone();
        points.sort_by_key(|(t, _)| *t);
        for (s, e) in runs(&points, |(_, text)| *text == p.is) {
            let (first, last) = (points[s].0, points[e].0);
            let held = last.nanos_since(first);
            if held < p.for_nanos {
                continue;
            }
            let series = name.as_str();
            let mut values = BTreeMap::from([
                ("series".to_owned(), series.to_owned()),
                ("state".to_owned(), p.is.clone()),
                ("since".to_owned(), first.to_string()),
                (
                    "onset".to_owned(),
                    seconds(first.nanos_since(prepared.at).saturating_abs()),
                ),
                ("held".to_owned(), seconds(held)),
            ]);
            values.extend(star(&p.series, series).map(|s| ("star".to_owned(), s)));
            out.push(Candidate {
                start: first,
                end: last,
                not_before: None,
                kind: ItemKind::State,
                subject: series.to_owned(),
                text: format!(
                    "`{series}` was `{}` from {} for {} s",
                    p.is,
                    when(first, prepared.at),
                    seconds(held)
                ),
                values,
                approximate: false,
            });
        }
    }
    out.sort_by_key(|c| c.start);
    cap(out)
}
