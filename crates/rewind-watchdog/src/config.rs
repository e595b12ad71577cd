//! What the watchdog watches and what it keeps: the metrics with their
//! rules, the capture budgets, baselines and the contention diagnostic.
//! Every default named in `docs/watchdog.md` is set here.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A runtime signal the watchdog checks every tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Resident set size in bytes (`VmRSS`), against the cgroup memory limit.
    Rss,
    /// Heap in use in bytes (jemalloc `stats.allocated`; `jemalloc` feature),
    /// against the cgroup memory limit.
    Heap,
    /// Threads of the process.
    Threads,
    /// Open file descriptors, against `RLIMIT_NOFILE` (soft limit).
    Fds,
    /// p99 of the tokio probe's wake-up delay over its window, in milliseconds.
    SchedLatency,
}

impl Metric {
    /// Every metric, in the order they are checked.
    pub const ALL: [Self; 5] = [
        Self::Rss,
        Self::Heap,
        Self::Threads,
        Self::Fds,
        Self::SchedLatency,
    ];

    /// The name in files, events and capture kinds (`sched_latency`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rss => "rss",
            Self::Heap => "heap",
            Self::Threads => "threads",
            Self::Fds => "fds",
            Self::SchedLatency => "sched_latency",
        }
    }

    /// What it measures, for sentences.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Rss => "resident memory",
            Self::Heap => "heap in use",
            Self::Threads => "thread count",
            Self::Fds => "open file descriptors",
            Self::SchedLatency => "tokio scheduling latency p99",
        }
    }

    /// The limit a [`Rule::FractionOfLimit`] is taken of, for sentences.
    #[must_use]
    pub fn limit_name(self) -> &'static str {
        match self {
            Self::Rss | Self::Heap => "the cgroup memory limit",
            Self::Fds => "RLIMIT_NOFILE",
            Self::Threads | Self::SchedLatency => "no limit",
        }
    }

    /// A value in this metric's unit, for sentences (`1.5 GiB`, `812`, `12.3 ms`).
    #[must_use]
    pub fn format(self, value: f64) -> String {
        match self {
            Self::Rss | Self::Heap => format_bytes(value),
            Self::Threads | Self::Fds => format!("{value:.0}"),
            Self::SchedLatency => format!("{value:.1} ms"),
        }
    }
}

fn format_bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = value;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// One condition on a metric. A metric breaches when any of its rules does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    /// The value is above this, in the metric's unit (bytes, a count, ms).
    Above {
        /// The threshold.
        value: f64,
    },
    /// The value is above this fraction of the metric's limit (the cgroup
    /// memory limit, `RLIMIT_NOFILE`). Inactive while the limit is unknown
    /// (no cgroup limit): then only absolute rules apply.
    FractionOfLimit {
        /// The fraction, in (0, 1].
        fraction: f64,
    },
    /// The value jumped more than `percent` above its own rolling average
    /// over the last `samples` ticks: a sudden leak well below any cap.
    /// Needs half the window of history before it can trip.
    JumpAbove {
        /// How far above the average, in percent (50 = 1.5 × the average).
        percent: f64,
        /// The rolling window, in ticks (120 = one minute at 500 ms).
        samples: usize,
    },
}

impl Rule {
    /// [`Rule::Above`].
    #[must_use]
    pub fn above(value: f64) -> Self {
        Self::Above { value }
    }

    /// [`Rule::Above`] a latency (for [`Metric::SchedLatency`]).
    #[must_use]
    pub fn above_duration(value: Duration) -> Self {
        Self::Above {
            value: value.as_secs_f64() * 1000.0,
        }
    }

    /// [`Rule::FractionOfLimit`].
    #[must_use]
    pub fn fraction_of_limit(fraction: f64) -> Self {
        Self::FractionOfLimit { fraction }
    }

    /// [`Rule::JumpAbove`].
    #[must_use]
    pub fn jump_above(percent: f64, samples: usize) -> Self {
        Self::JumpAbove { percent, samples }
    }

    fn check(&self, metric: Metric) -> Result<()> {
        let bad = |problem: String| {
            Err(Error::config(
                "rules",
                format!("{}: {problem}", metric.as_str()),
            ))
        };
        match *self {
            Self::Above { value } if !value.is_finite() || value < 0.0 => {
                bad(format!("`above` must be a finite value ≥ 0 (got {value})"))
            }
            Self::FractionOfLimit { fraction } if !(fraction > 0.0 && fraction <= 1.0) => bad(
                format!("`fraction_of_limit` must be in (0, 1] (got {fraction})"),
            ),
            Self::FractionOfLimit { .. }
                if matches!(metric, Metric::Threads | Metric::SchedLatency) =>
            {
                bad("has no limit to take a fraction of; use `above`".to_owned())
            }
            Self::JumpAbove { percent, samples }
                if !(percent.is_finite() && percent > 0.0 && (4..=100_000).contains(&samples)) =>
            {
                bad(format!(
                    "`jump_above` needs percent > 0 and 4 to 100000 samples (got {percent}%, {samples})"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// What a breach of a metric does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Capture diagnostics (cooldown and rotation apply) and notify.
    Capture,
    /// Only a warning event, under the warning budget.
    Warn,
}

/// The rules and action of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricConfig {
    /// Whether the metric is checked at all.
    pub enabled: bool,
    /// The rules; the metric breaches when any trips.
    pub rules: Vec<Rule>,
    /// What a breach does.
    pub action: Action,
}

impl MetricConfig {
    /// Checked, capturing on any of `rules`.
    #[must_use]
    pub fn capture(rules: impl IntoIterator<Item = Rule>) -> Self {
        Self {
            enabled: true,
            rules: rules.into_iter().collect(),
            action: Action::Capture,
        }
    }

    /// Checked, warning only on any of `rules`.
    #[must_use]
    pub fn warn(rules: impl IntoIterator<Item = Rule>) -> Self {
        Self {
            action: Action::Warn,
            ..Self::capture(rules)
        }
    }

    /// Not checked.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            rules: Vec::new(),
            action: Action::Capture,
        }
    }

    /// The default of `metric`: RSS and heap above 0.85 of the cgroup memory
    /// limit, more than 10 000 threads, fds above 0.80 of `RLIMIT_NOFILE`,
    /// scheduling latency p99 above 10 ms; all capture.
    #[must_use]
    pub fn default_for(metric: Metric) -> Self {
        Self::capture([match metric {
            Metric::Rss | Metric::Heap => Rule::fraction_of_limit(0.85),
            Metric::Threads => Rule::above(10_000.0),
            Metric::Fds => Rule::fraction_of_limit(0.80),
            Metric::SchedLatency => Rule::above(10.0),
        }])
    }
}

/// The short CPU profile taken at a breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuProfileConfig {
    /// How long it samples; it starts in the tick of the breach.
    pub window: Duration,
    /// Samples per second.
    pub frequency: u32,
}

impl Default for CpuProfileConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(5),
            frequency: 99,
        }
    }
}

/// Scheduled baseline captures (`captures/baseline/`), never notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaselineConfig {
    /// Time between two baselines; the first is taken on the first tick.
    pub every: Duration,
    /// Baselines kept.
    pub keep: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(600),
            keep: 6,
        }
    }
}

/// The on-demand contention diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentionConfig {
    /// How long the expensive sampling runs when not told otherwise.
    pub window: Duration,
    /// CPU samples per second while it runs.
    pub frequency: u32,
    /// Time between two thread snapshots while it runs.
    pub snapshot_every: Duration,
    /// Start it on this many scheduling-latency breaches within `auto_within`
    /// (`None`: only on demand).
    pub auto_after: Option<u32>,
    /// The window of `auto_after`.
    pub auto_within: Duration,
    /// Diagnostics kept.
    pub keep: usize,
}

impl Default for ContentionConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            frequency: 999,
            snapshot_every: Duration::from_secs(5),
            auto_after: None,
            auto_within: Duration::from_secs(300),
            keep: 5,
        }
    }
}

/// Every setting of the watchdog. [`Watchdog::builder`](crate::Watchdog::builder)
/// starts from [`Config::new`] and its methods change these fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The watchdog's directory: `history.jsonl`, `captures/`, `control/`.
    pub dir: PathBuf,
    /// Time between two checks (default 500 ms).
    pub interval: Duration,
    /// Rules per metric, in [`Metric::ALL`] order.
    pub metrics: [MetricConfig; 5],
    /// Time after a capture during which the same kind does not capture
    /// again (default 2 min).
    pub cooldown: Duration,
    /// Captures kept per kind (default 5).
    pub keep: usize,
    /// Warning events allowed per `warning_window` (default 10).
    pub warning_budget: u32,
    /// The window of the warning budget (default 10 min).
    pub warning_window: Duration,
    /// The CPU profile at a breach (`None`: none).
    pub cpu_profile: Option<CpuProfileConfig>,
    /// A CPU profile (at a breach or in the contention diagnostic) is
    /// skipped when the memory headroom (the cgroup limit minus RSS, and
    /// `MemAvailable`) is below this (default 512 MiB): pprof-rs's sample
    /// table adds about 100–170 MiB of resident memory. It is also always
    /// skipped for RSS and heap breaches.
    pub profile_headroom: u64,
    /// The stack tool (`eu-stack`), by name on `PATH` or by path (`None`:
    /// thread snapshots from /proc only).
    pub stack_tool: Option<PathBuf>,
    /// Longest run of the stack tool (default 1 s).
    pub stack_timeout: Duration,
    /// Scheduled baselines (`None`: none).
    pub baseline: Option<BaselineConfig>,
    /// Copy the latest baseline into each breach capture (default off).
    pub delta: bool,
    /// The contention diagnostic.
    pub contention: ContentionConfig,
    /// Events kept in memory (default 256).
    pub ring_capacity: usize,
    /// Crash artefacts kept (default 5).
    pub keep_crashes: usize,
    /// Runs kept in `history.jsonl` (default 100).
    pub keep_runs: usize,
    /// Register the panic hook (default on).
    pub panic_hook: bool,
    /// Write `history.jsonl` (default on).
    pub history: bool,
    /// Run the tick on the watchdog's own thread (default on); when off, the
    /// program calls [`Watchdog::tick_now`](crate::Watchdog::tick_now).
    pub own_thread: bool,
    /// The program's version, in history rows and manifests.
    pub version: String,
    /// Where `/proc` is (tests use fixture trees); the process is `<proc_root>/self`.
    pub proc_root: PathBuf,
    /// Where the cgroup file systems are mounted (default `/sys/fs/cgroup`).
    pub cgroup_root: PathBuf,
    /// How often the limits (cgroup memory limit, `RLIMIT_NOFILE`) are re-read.
    pub limits_every: Duration,
    /// The probe's sleep period (default 20 ms).
    pub probe_period: Duration,
    /// The window of the probe's p99 (default 5 s).
    pub probe_window: Duration,
}

impl Config {
    /// The defaults, writing into `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            interval: Duration::from_millis(500),
            metrics: Metric::ALL.map(MetricConfig::default_for),
            cooldown: Duration::from_secs(120),
            keep: 5,
            warning_budget: 10,
            warning_window: Duration::from_secs(600),
            cpu_profile: Some(CpuProfileConfig::default()),
            profile_headroom: 512 * 1024 * 1024,
            stack_tool: Some(PathBuf::from("eu-stack")),
            stack_timeout: Duration::from_secs(1),
            baseline: Some(BaselineConfig::default()),
            delta: false,
            contention: ContentionConfig::default(),
            ring_capacity: 256,
            keep_crashes: 5,
            keep_runs: 100,
            panic_hook: true,
            history: true,
            own_thread: true,
            version: "unknown".to_owned(),
            proc_root: PathBuf::from("/proc"),
            cgroup_root: PathBuf::from("/sys/fs/cgroup"),
            limits_every: Duration::from_secs(10),
            probe_period: Duration::from_millis(20),
            probe_window: Duration::from_secs(5),
        }
    }

    /// The settings of `metric`.
    #[must_use]
    pub fn metric(&self, metric: Metric) -> &MetricConfig {
        &self.metrics[metric as usize]
    }

    pub(crate) fn metric_mut(&mut self, metric: Metric) -> &mut MetricConfig {
        &mut self.metrics[metric as usize]
    }

    /// Checks every value; the first problem is the error.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        let positive = |key: &'static str, d: Duration, min: Duration| {
            if d < min {
                Err(Error::config(
                    key,
                    format!("must be at least {min:?} (got {d:?})"),
                ))
            } else {
                Ok(())
            }
        };
        positive("interval", self.interval, Duration::from_millis(10))?;
        positive("probe_period", self.probe_period, Duration::from_millis(1))?;
        positive("probe_window", self.probe_window, self.probe_period)?;
        positive(
            "stack_timeout",
            self.stack_timeout,
            Duration::from_millis(50),
        )?;
        positive("limits_every", self.limits_every, self.interval)?;
        for (key, n) in [
            ("keep", self.keep),
            ("keep_crashes", self.keep_crashes),
            ("keep_runs", self.keep_runs),
            ("ring_capacity", self.ring_capacity),
            ("contention.keep", self.contention.keep),
        ] {
            if n == 0 || n > 10_000 {
                return Err(Error::config(key, format!("must be 1 to 10000 (got {n})")));
            }
        }
        if let Some(p) = self.cpu_profile {
            positive("cpu_profile.window", p.window, Duration::from_millis(100))?;
            check_frequency("cpu_profile.frequency", p.frequency)?;
        }
        if let Some(b) = self.baseline {
            positive("baseline.every", b.every, self.interval)?;
            if b.keep == 0 || b.keep > 10_000 {
                return Err(Error::config("baseline.keep", "must be 1 to 10000"));
            }
        }
        let c = &self.contention;
        positive("contention.window", c.window, Duration::from_millis(100))?;
        positive(
            "contention.snapshot_every",
            c.snapshot_every,
            Duration::from_millis(100),
        )?;
        check_frequency("contention.frequency", c.frequency)?;
        if c.auto_after == Some(0) {
            return Err(Error::config("contention.auto_after", "must be at least 1"));
        }
        if self.version.is_empty() || self.version.len() > 200 {
            return Err(Error::config("version", "must be 1 to 200 characters"));
        }
        for metric in Metric::ALL {
            for rule in &self.metric(metric).rules {
                rule.check(metric)?;
            }
        }
        Ok(())
    }
}

fn check_frequency(key: &'static str, hz: u32) -> Result<()> {
    if (1..=10_000).contains(&hz) {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!("must be 1 to 10000 Hz (got {hz})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_as_documented() {
        let c = Config::new("/tmp/x");
        c.validate()
            .ok()
            .unwrap_or_else(|| panic!("defaults must validate"));
        assert_eq!(c.interval, Duration::from_millis(500));
        assert_eq!(
            c.metric(Metric::Rss).rules,
            vec![Rule::fraction_of_limit(0.85)]
        );
        assert_eq!(
            c.metric(Metric::Fds).rules,
            vec![Rule::fraction_of_limit(0.80)]
        );
        assert_eq!(
            c.metric(Metric::SchedLatency).rules,
            vec![Rule::above(10.0)]
        );
        assert_eq!(c.cooldown, Duration::from_secs(120));
        assert_eq!((c.keep, c.warning_budget), (5, 10));
        assert_eq!(
            c.baseline.map(|b| (b.every.as_secs(), b.keep)),
            Some((600, 6))
        );
        assert_eq!(c.contention.window, Duration::from_secs(60));
        assert_eq!(
            c.cpu_profile.map(|p| p.window),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_metric_named() {
        let mut c = Config::new("/tmp/x");
        c.metric_mut(Metric::Threads).rules = vec![Rule::fraction_of_limit(0.5)];
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("threads"), "{e}");
        c.metric_mut(Metric::Threads).rules = vec![Rule::jump_above(50.0, 2)];
        assert!(c.validate().is_err());
        c.metric_mut(Metric::Threads).rules = vec![Rule::above(f64::NAN)];
        assert!(c.validate().is_err());
        c.metric_mut(Metric::Threads).rules = vec![Rule::above(5.0)];
        c.interval = Duration::from_millis(1);
        assert!(c.validate().is_err());
    }

    #[test]
    fn values_are_formatted_in_their_unit() {
        assert_eq!(Metric::Rss.format(1536.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(Metric::Fds.format(812.0), "812");
        assert_eq!(Metric::SchedLatency.format(12.34), "12.3 ms");
        assert_eq!(
            Rule::above_duration(Duration::from_millis(10)),
            Rule::above(10.0)
        );
    }
}
