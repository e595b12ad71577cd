//! Incremental evaluation: samples in, triggers out.
//!
//! The engine keeps, per rule, only the state of the current run (when it
//! started, its peak, how many samples, whether it already fired), so memory
//! is constant and each sample costs work proportional to the number of
//! rules watching its series. It never reads a clock: time arrives with the
//! samples.

mod threshold;

use std::collections::HashMap;

use rewind_model::{Sample, SeriesName, Timestamp, Trigger};

use crate::{Rule, RuleKind, RuleSet};

/// Evaluates a [`RuleSet`] over streams of samples.
///
/// Samples of one series must arrive in time order. A sample older than the
/// latest one already seen for its series is ignored (it neither fires nor
/// breaks a run), so a stray late sample cannot re-arm a rule; a sample with
/// the same time as the previous one counts as a new sample. Samples of
/// series that no rule watches are ignored.
#[derive(Debug, Clone)]
pub struct Engine {
    watchers: Vec<Watcher>,
    by_series: HashMap<SeriesName, SeriesWatch>,
}

/// One rule and its evaluation state.
#[derive(Debug, Clone)]
struct Watcher {
    rule: Rule,
    state: State,
}

/// Evaluation state, by rule type.
#[derive(Debug, Clone)]
enum State {
    Threshold(threshold::Run),
}

/// The rules watching one series, and the latest sample time seen on it.
#[derive(Debug, Clone, Default)]
struct SeriesWatch {
    latest: Option<Timestamp>,
    watchers: Vec<usize>,
}

impl Engine {
    /// An engine evaluating every rule of `rules`, with no history.
    #[must_use]
    pub fn new(rules: &RuleSet) -> Self {
        let mut by_series: HashMap<SeriesName, SeriesWatch> = HashMap::new();
        let mut watchers = Vec::with_capacity(rules.rules().len());
        for (index, rule) in rules.rules().iter().enumerate() {
            let state = match rule.kind {
                RuleKind::MetricThreshold { .. } => State::Threshold(threshold::Run::default()),
            };
            by_series
                .entry(rule.kind.series().clone())
                .or_default()
                .watchers
                .push(index);
            watchers.push(Watcher {
                rule: rule.clone(),
                state,
            });
        }
        Self {
            watchers,
            by_series,
        }
    }

    /// Feeds one sample of one series; returns the triggers that fire at this
    /// sample, in rules-file order (usually none).
    pub fn observe(&mut self, series: &SeriesName, sample: Sample) -> Vec<Trigger> {
        let Some(watch) = self.by_series.get_mut(series) else {
            return Vec::new();
        };
        if watch.latest.is_some_and(|latest| sample.ts < latest) {
            return Vec::new();
        }
        watch.latest = Some(sample.ts);
        let mut fired = Vec::new();
        for &index in &watch.watchers {
            if let Some(trigger) = self.watchers.get_mut(index).and_then(|w| w.observe(sample)) {
                fired.push(trigger);
            }
        }
        fired
    }

    /// Whether some rule watches `series`; samples of other series can be skipped.
    #[must_use]
    pub fn watches(&self, series: &SeriesName) -> bool {
        self.by_series.contains_key(series)
    }
}

impl Watcher {
    fn observe(&mut self, sample: Sample) -> Option<Trigger> {
        match (&self.rule.kind, &mut self.state) {
            (
                RuleKind::MetricThreshold {
                    metric,
                    condition,
                    duration_nanos,
                },
                State::Threshold(run),
            ) => {
                let limits = threshold::Limits {
                    metric,
                    condition: *condition,
                    duration_nanos: *duration_nanos,
                };
                run.observe(&limits, sample)
                    .map(|fired| fired.into_trigger(&self.rule, &limits))
            }
        }
    }
}
