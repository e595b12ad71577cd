//! Evaluation of `metric_threshold` rules: tracking one unbroken run of
//! samples that meet the condition (see [`crate::rules`] for the rule type).

use rewind_model::{Comparison, Evidence, Sample, SeriesName, Timestamp, Trigger};

use crate::Rule;

/// The parameters of one `metric_threshold` rule, borrowed from it.
#[derive(Debug)]
pub(super) struct Limits<'a> {
    pub(super) metric: &'a SeriesName,
    pub(super) condition: Comparison,
    pub(super) duration_nanos: i64,
}

/// The state of one rule: the current run of samples meeting its condition, if any.
#[derive(Debug, Clone, Default)]
pub(super) struct Run {
    current: Option<Current>,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    since: Timestamp,
    peak: f64,
    samples: u64,
    fired: bool,
}

/// What a run looked like when its rule fired.
#[derive(Debug)]
pub(super) struct Fired {
    at: Timestamp,
    observed: f64,
    since: Timestamp,
    peak: f64,
    samples: u64,
}

impl Run {
    /// Adds one sample (in time order) to the run; returns what fired, if
    /// this sample completes the run for the first time.
    pub(super) fn observe(&mut self, limits: &Limits<'_>, sample: Sample) -> Option<Fired> {
        if !limits.condition.holds(sample.value) {
            self.current = None; // re-arm; NaN and ±inf never hold, so they land here too
            return None;
        }
        let run = self.current.get_or_insert(Current {
            since: sample.ts,
            peak: sample.value,
            samples: 0,
            fired: false,
        });
        run.samples = run.samples.saturating_add(1);
        run.peak = more_extreme(limits.condition, run.peak, sample.value);
        if run.fired || sample.ts.nanos_since(run.since) < limits.duration_nanos {
            return None;
        }
        run.fired = true;
        Some(Fired {
            at: sample.ts,
            observed: sample.value,
            since: run.since,
            peak: run.peak,
            samples: run.samples,
        })
    }
}

/// The value further past the limit: the larger for `above`, the smaller for `below`.
fn more_extreme(condition: Comparison, a: f64, b: f64) -> f64 {
    match condition {
        Comparison::Above(_) => a.max(b),
        Comparison::Below(_) => a.min(b),
        Comparison::Equals(_) => b,
    }
}

impl Fired {
    /// The trigger reporting this run of `rule`.
    pub(super) fn into_trigger(self, rule: &Rule, limits: &Limits<'_>) -> Trigger {
        Trigger {
            rule: rule.name.clone(),
            rule_type: rule.kind.type_name().to_owned(),
            severity: rule.severity,
            fired_at: self.at,
            summary: self.summary(limits),
            evidence: vec![Evidence {
                series: limits.metric.clone(),
                condition: limits.condition,
                observed: self.observed,
                peak: self.peak,
                since: self.since,
                samples: self.samples,
            }],
        }
    }

    /// One sentence quoting the measured values, e.g.
    /// `cpu.total.busy_pct stayed above 80 for 2.0 s (peak 97.5, now 96.1)`.
    fn summary(&self, limits: &Limits<'_>) -> String {
        let Limits {
            metric, condition, ..
        } = limits;
        let now = number(self.observed);
        // A peak says something only for above/below, over several samples.
        let values = match condition {
            Comparison::Above(_) | Comparison::Below(_) if self.samples > 1 => {
                format!("peak {}, now {now}", number(self.peak))
            }
            _ => format!("now {now}"),
        };
        let held = self.at.nanos_since(self.since);
        if held == 0 {
            format!("{metric} was {condition} ({values})")
        } else {
            format!(
                "{metric} stayed {condition} for {} s ({values})",
                seconds(held)
            )
        }
    }
}

/// A measured value for people: at most three decimals, no trailing zeros,
/// but never rounded to zero.
fn number(value: f64) -> String {
    let rounded = format!("{value:.3}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "0" | "-0" if value != 0.0 => value.to_string(),
        "-0" => "0".to_owned(),
        _ => trimmed.to_owned(),
    }
}

/// Nanoseconds as seconds with one to three decimals: `2.0`, `0.25`, `120.0`.
#[allow(clippy::cast_precision_loss)] // nanosecond precision is not needed for display
fn seconds(nanos: i64) -> String {
    let rounded = format!("{:.3}", nanos as f64 / 1e9);
    let trimmed = rounded.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_but_not_lost() {
        assert_eq!(number(80.0), "80");
        assert_eq!(number(97.5), "97.5");
        assert_eq!(number(33.333_333_3), "33.333");
        assert_eq!(number(52_428_800.0), "52428800");
        assert_eq!(number(0.000_12), "0.00012");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(-2.5), "-2.5");
    }

    #[test]
    fn seconds_keep_one_decimal() {
        assert_eq!(seconds(2_000_000_000), "2.0");
        assert_eq!(seconds(250_000_000), "0.25");
        assert_eq!(seconds(120_000_000_000), "120.0");
        assert_eq!(seconds(1), "0.0");
    }
}
