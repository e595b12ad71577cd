//! The checks of one tick: a [`Sample`] of the process, the [`Limits`] it
//! is held against, and the [`Breach`]es the metrics' rules find.
//!
//! Memory is bounded: a metric keeps only the history its `jump_above`
//! rules need (their largest `samples`).

use std::{collections::VecDeque, path::PathBuf, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::{
    config::{Config, Metric, Rule},
    probe::LatencyWindow,
};

pub(crate) mod cgroup;
pub(crate) mod read;

/// One reading of the process. A metric that could not be read is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Resident set size in bytes.
    pub rss_bytes: Option<u64>,
    /// Heap in use in bytes (jemalloc).
    pub heap_bytes: Option<u64>,
    /// Threads.
    pub threads: Option<u64>,
    /// Open file descriptors.
    pub fds: Option<u64>,
    /// Scheduling latency p99 over the probe's window, in milliseconds.
    pub sched_latency_ms: Option<f64>,
}

impl Sample {
    /// The value of `metric` in its unit.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // counts and bytes far below 2^52
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Rss => self.rss_bytes.map(|v| v as f64),
            Metric::Heap => self.heap_bytes.map(|v| v as f64),
            Metric::Threads => self.threads.map(|v| v as f64),
            Metric::Fds => self.fds.map(|v| v as f64),
            Metric::SchedLatency => self.sched_latency_ms,
        }
    }
}

/// The limits the fractional rules are taken of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The cgroup memory limit in bytes (`None`: no limit found).
    pub memory_bytes: Option<u64>,
    /// The soft `RLIMIT_NOFILE` (`None`: unlimited or unreadable).
    pub nofile: Option<u64>,
}

impl Limits {
    /// Reads both limits.
    pub(crate) fn read(cfg: &Config) -> Self {
        Self {
            memory_bytes: cgroup::memory_limit(&cfg.proc_root, &cfg.cgroup_root),
            nofile: read::nofile_limit(&cfg.proc_root),
        }
    }

    /// The limit of `metric`.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn of(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Rss | Metric::Heap => self.memory_bytes.map(|v| v as f64),
            Metric::Fds => self.nofile.map(|v| v as f64),
            Metric::Threads | Metric::SchedLatency => None,
        }
    }
}

/// A metric over one of its rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// The metric.
    pub metric: Metric,
    /// Its value, in its unit.
    pub value: f64,
    /// The value the rule compared against, in the same unit.
    pub threshold: f64,
    /// The rule that tripped.
    pub rule: Rule,
    /// For `fraction_of_limit`, the limit; for `jump_above`, the average.
    pub reference: Option<f64>,
}

impl Breach {
    /// One sentence quoting the measured values.
    #[must_use]
    pub fn sentence(&self) -> String {
        let m = self.metric;
        let (value, threshold) = (m.format(self.value), m.format(self.threshold));
        match self.rule {
            Rule::Above { .. } => format!("{} is {value}, above {threshold}", m.describe()),
            Rule::FractionOfLimit { fraction } => format!(
                "{} is {value}, above {:.0}% of {} {} ({threshold})",
                m.describe(),
                fraction * 100.0,
                m.limit_name(),
                m.format(self.reference.unwrap_or(0.0)),
            ),
            Rule::JumpAbove { percent, samples } => format!(
                "{} is {value}, more than {percent:.0}% above its average of {} over the last {samples} checks ({threshold})",
                m.describe(),
                m.format(self.reference.unwrap_or(0.0)),
            ),
        }
    }
}

/// Reads samples, keeping the limits fresh and the metrics' history.
#[derive(Debug)]
pub(crate) struct Sampler {
    proc_root: PathBuf,
    latency: Option<Arc<LatencyWindow>>,
    heap: bool,
}

impl Sampler {
    pub(crate) fn new(cfg: &Config, latency: Option<Arc<LatencyWindow>>) -> Self {
        Self {
            proc_root: cfg.proc_root.clone(),
            latency,
            heap: cfg.metric(Metric::Heap).enabled,
        }
    }

    /// One sample; the second value lists what could not be read.
    pub(crate) fn sample(&self) -> (Sample, Vec<(Metric, String)>) {
        let mut problems = Vec::new();
        let mut sample = Sample::default();
        match read::status(&self.proc_root) {
            Ok(s) => {
                sample.rss_bytes = s.rss_bytes;
                sample.threads = s.threads;
            }
            Err(e) => {
                let why = format!(
                    "cannot read {}: {e}",
                    self.proc_root.join("self/status").display()
                );
                problems.push((Metric::Rss, why.clone()));
                problems.push((Metric::Threads, why));
            }
        }
        match read::fd_count(&self.proc_root) {
            Ok(n) => sample.fds = Some(n),
            Err(e) => problems.push((
                Metric::Fds,
                format!(
                    "cannot list {}: {e}",
                    self.proc_root.join("self/fd").display()
                ),
            )),
        }
        if self.heap {
            sample.heap_bytes = crate::capture::heap::in_use();
        }
        if let Some(window) = &self.latency {
            sample.sched_latency_ms = window.p99().map(|d| d.as_secs_f64() * 1000.0);
        }
        (sample, problems)
    }
}

/// The rules of every metric with the history they need.
#[derive(Debug)]
pub(crate) struct Evaluator {
    history: [History; 5],
}

impl Evaluator {
    pub(crate) fn new(cfg: &Config) -> Self {
        Self {
            history: Metric::ALL.map(|m| {
                let cap = cfg
                    .metric(m)
                    .rules
                    .iter()
                    .filter_map(|r| match r {
                        Rule::JumpAbove { samples, .. } => Some(*samples),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0);
                History::new(cap)
            }),
        }
    }

    /// The breaches of `sample` (at most one per metric: its first rule
    /// that trips), then the sample joins the history.
    pub(crate) fn evaluate(
        &mut self,
        cfg: &Config,
        sample: &Sample,
        limits: &Limits,
    ) -> Vec<Breach> {
        let mut out = Vec::new();
        for metric in Metric::ALL {
            let mc = cfg.metric(metric);
            let Some(value) = sample.value(metric).filter(|v| v.is_finite()) else {
                continue;
            };
            let history = &mut self.history[metric as usize];
            if mc.enabled {
                let found = mc
                    .rules
                    .iter()
                    .find_map(|rule| check(metric, *rule, value, limits, history));
                out.extend(found);
            }
            history.push(value);
        }
        out
    }
}

fn check(
    metric: Metric,
    rule: Rule,
    value: f64,
    limits: &Limits,
    history: &History,
) -> Option<Breach> {
    let (threshold, reference) = match rule {
        Rule::Above { value: t } => (t, None),
        Rule::FractionOfLimit { fraction } => {
            let limit = limits.of(metric)?;
            (limit * fraction, Some(limit))
        }
        Rule::JumpAbove { percent, samples } => {
            let mean = history.mean_of_last(samples)?;
            (mean * (1.0 + percent / 100.0), Some(mean))
        }
    };
    (value > threshold).then_some(Breach {
        metric,
        value,
        threshold,
        rule,
        reference,
    })
}

/// The last values of one metric, at most `cap`.
#[derive(Debug)]
struct History {
    values: VecDeque<f64>,
    cap: usize,
}

impl History {
    fn new(cap: usize) -> Self {
        Self {
            values: VecDeque::with_capacity(cap.min(1024)),
            cap,
        }
    }

    fn push(&mut self, v: f64) {
        if self.cap == 0 {
            return;
        }
        if self.values.len() == self.cap {
            self.values.pop_front();
        }
        self.values.push_back(v);
    }

    /// The mean of the last `n` values, once at least half of them are known.
    #[allow(clippy::cast_precision_loss)]
    fn mean_of_last(&self, n: usize) -> Option<f64> {
        let have = self.values.len().min(n);
        if have == 0 || have * 2 < n {
            return None;
        }
        let sum: f64 = self.values.iter().rev().take(have).sum();
        Some(sum / have as f64)
    }
}

#[cfg(test)]
mod tests;
