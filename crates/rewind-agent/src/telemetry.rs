//! The agent's own health: failures counted per source and logged without
//! flooding (the first time, then at most once a minute with the count).

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
}
