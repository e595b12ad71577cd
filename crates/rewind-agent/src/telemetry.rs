//! The agent's own health: failures counted per source and logged without
//! flooding (the first time, then at most once a minute with the count),
//! and what was lost: series refused by the cardinality limit, and samples
//! a bundle's window lacked because the ring no longer held them, per
//! stream (the collector a series comes from).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// How often a recurring problem is logged again.
const RELOG_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Count {
    total: u64,
    since_logged: u64,
    logged_at: Option<Instant>,
}

/// Counters of everything that went wrong, by source.
#[derive(Debug, Default)]
pub struct Telemetry {
    problems: BTreeMap<String, Count>,
    series_refused: u64,
    series_logged_at: Option<Instant>,
    /// Samples missing from bundles because the ring had dropped them, by stream.
    ring_overwritten: BTreeMap<String, u64>,
    overwritten_logged_at: Option<Instant>,
}

impl Telemetry {
    /// Counts a failure of `source`; logs it if it is new or a minute has passed.
    pub fn problem(&mut self, source: &str, error: &str) {
        let now = Instant::now();
        let c = match self.problems.get_mut(source) {
            Some(c) => c,
            None => self.problems.entry(source.to_owned()).or_insert(Count {
                total: 0,
                since_logged: 0,
                logged_at: None,
            }),
        };
        c.total += 1;
        c.since_logged += 1;
        if c.logged_at
            .is_none_or(|t| now.duration_since(t) >= RELOG_AFTER)
        {
            tracing::warn!(
                source,
                error,
                failures = c.total,
                since_last_log = c.since_logged,
                "collector read failed"
            );
            c.logged_at = Some(now);
            c.since_logged = 0;
        }
    }

    /// Counts a series refused by the cardinality limit; warns at most once a minute.
    pub fn series_refused(&mut self, series: &str, limit: usize) {
        self.series_refused += 1;
        let now = Instant::now();
        if self
            .series_logged_at
            .is_none_or(|t| now.duration_since(t) >= RELOG_AFTER)
        {
            tracing::warn!(
                series,
                limit,
                refused = self.series_refused,
                "too many distinct series: new series are dropped (raise ring.max_series, or fix the stream that invents names)"
            );
            self.series_logged_at = Some(now);
        }
    }

    /// Counts `samples` of series `series` that a bundle's window should have
    /// held but the ring had already dropped (overwritten before the capture
    /// was taken); warns at most once a minute.
    pub fn ring_overwritten(&mut self, series: &str, samples: u64) {
        if samples == 0 {
            return;
        }
        let stream = stream_of(series);
        *self.ring_overwritten.entry(stream.clone()).or_default() += samples;
        let now = Instant::now();
        if self
            .overwritten_logged_at
            .is_none_or(|t| now.duration_since(t) >= RELOG_AFTER)
        {
            tracing::warn!(
                series,
                stream,
                samples,
                total = self.ring_overwritten_total(),
                "a bundle lacks samples of its window: the ring had already dropped them (the capture was taken late)"
            );
            self.overwritten_logged_at = Some(now);
        }
    }

    /// Samples missing from bundles because the ring had dropped them, by
    /// stream (see [`stream_of`]).
    #[must_use]
    pub fn ring_overwritten_by_stream(&self) -> &BTreeMap<String, u64> {
        &self.ring_overwritten
    }

    /// [`Self::ring_overwritten_by_stream`] over all streams.
    #[must_use]
    pub fn ring_overwritten_total(&self) -> u64 {
        self.ring_overwritten.values().sum()
    }

    /// Failures so far, by source (sorted).
    #[must_use]
    pub fn problem_counts(&self) -> BTreeMap<&str, u64> {
        self.problems
            .iter()
            .map(|(k, c)| (k.as_str(), c.total))
            .collect()
    }

    /// Samples of new series refused by the cardinality limit.
    #[must_use]
    pub fn series_refused_total(&self) -> u64 {
        self.series_refused
    }
}

/// The stream a series comes from: the collector of its family in the
/// [`catalogue`](crate::catalogue) (`system`, `system_disk`, `processes`,
/// `gpu_nvml`, `gpu_tegrastats`, `socket`, `prometheus`), `agent` for the
/// agent's own series, and `custom` for any other name (custom-stream
/// clients, Prometheus targets with their own prefix). `/` becomes `_`, so
/// the stream is one part of a dotted series name.
#[must_use]
pub fn stream_of(series: &str) -> String {
    if series.starts_with(SELF_PREFIX) {
        return "agent".to_owned();
    }
    crate::catalogue::family_of(series)
        .map_or("custom", |f| f.collector)
        .replace('/', "_")
}

/// Prefix of the agent's own series.
pub(crate) const SELF_PREFIX: &str = "agent.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_failure_per_source() {
        let mut t = Telemetry::default();
        for _ in 0..1000 {
            t.problem("system/meminfo", "gone");
        }
        t.problem("logs/file:/x", "vanished");
        assert_eq!(t.problem_counts().get("system/meminfo"), Some(&1000));
        assert_eq!(t.problem_counts().get("logs/file:/x"), Some(&1));
        t.series_refused("a", 1);
        t.series_refused("b", 1);
        assert_eq!(t.series_refused_total(), 2);
    }

    #[test]
    fn ring_overwrites_are_counted_per_stream() {
        let mut t = Telemetry::default();
        t.ring_overwritten("cpu.total.busy_pct", 3);
        t.ring_overwritten("disk.root.used_pct", 2);
        t.ring_overwritten("memory.used_pct", 1);
        t.ring_overwritten("robot.arm.torque", 4);
        t.ring_overwritten("robot.arm.speed", 0);
        let by_stream: Vec<_> = t
            .ring_overwritten_by_stream()
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            by_stream,
            [("custom", 4), ("system", 4), ("system_disk", 2)]
        );
        assert_eq!(t.ring_overwritten_total(), 10);
        assert_eq!(stream_of("agent.loss.series_refused"), "agent");
    }
}
