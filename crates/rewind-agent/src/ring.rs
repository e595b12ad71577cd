//! The pre-incident ring buffer: per series, the samples of the last
//! `window`, oldest dropped first.
//!
//! This first version keeps plain `(timestamp, value)` pairs (16 bytes a
//! sample) in a `VecDeque` per series; retention is by time, not count, so a
//! series sampled at any rate keeps exactly the window.

use std::collections::{BTreeMap, VecDeque};

use rewind_model::{Sample, SeriesName, TimeRange};

/// Samples of one series with its unit.
#[derive(Debug)]
struct SeriesRing {
    unit: &'static str,
    samples: VecDeque<Sample>,
}

/// Recent samples of every series, bounded by time.
#[derive(Debug)]
pub struct Ring {
    window_nanos: i64,
    series: BTreeMap<SeriesName, SeriesRing>,
}

impl Ring {
    /// A ring keeping `window_nanos` of history per series.
    #[must_use]
    pub fn new(window_nanos: i64) -> Self {
        Self {
            window_nanos: window_nanos.max(0),
            series: BTreeMap::new(),
        }
    }

    /// Appends a sample and drops the samples that fell out of the window.
    /// A sample older than the newest one held is dropped (time never runs
    /// backwards inside a series).
    pub fn push(&mut self, name: &SeriesName, unit: &'static str, sample: Sample) {
        let ring = match self.series.get_mut(name) {
            Some(r) => r,
            None => self.series.entry(name.clone()).or_insert(SeriesRing {
                unit,
                samples: VecDeque::new(),
            }),
        };
        if ring.samples.back().is_some_and(|last| last.ts > sample.ts) {
            return;
        }
        ring.samples.push_back(sample);
        let oldest_kept = sample.ts.add_nanos(-self.window_nanos);
        while ring.samples.front().is_some_and(|s| s.ts < oldest_kept) {
            ring.samples.pop_front();
        }
    }

    /// Every series' samples inside `range`, in chronological order, sorted by name.
    #[must_use]
    pub fn snapshot(&self, range: TimeRange) -> Vec<(SeriesName, &'static str, Vec<Sample>)> {
        self.series
            .iter()
            .map(|(name, r)| {
                let samples = r
                    .samples
                    .iter()
                    .filter(|s| range.contains(s.ts))
                    .copied()
                    .collect();
                (name.clone(), r.unit, samples)
            })
            .filter(|(_, _, s): &(_, _, Vec<Sample>)| !s.is_empty())
            .collect()
    }

    /// Total samples held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.series.values().map(|r| r.samples.len()).sum()
    }

    /// Whether no sample is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use rewind_model::Timestamp;

    use super::*;

    const S: i64 = 1_000_000_000;

    fn at(secs: i64, v: f64) -> Sample {
        Sample::new(Timestamp::from_unix_nanos(secs * S), v)
    }

    #[test]
    fn keeps_exactly_the_window_newest_first_kept() {
        let name = SeriesName::new("x").unwrap();
        let mut ring = Ring::new(10 * S);
        for i in 0..=100 {
            ring.push(&name, "count", at(i, i as f64));
        }
        let all = TimeRange {
            start: Timestamp::from_unix_nanos(0),
            end: Timestamp::from_unix_nanos(i64::MAX),
        };
        let snap = ring.snapshot(all);
        let values: Vec<f64> = snap[0].2.iter().map(|s| s.value).collect();
        assert_eq!(values, (90..=100).map(f64::from).collect::<Vec<_>>());
    }

    #[test]
    fn snapshot_is_limited_to_the_range_and_drops_backwards_samples() {
        let name = SeriesName::new("x").unwrap();
        let mut ring = Ring::new(60 * S);
        for i in [1, 2, 3, 2, 4, 5] {
            ring.push(&name, "count", at(i, i as f64));
        }
        let range = TimeRange {
            start: at(2, 0.0).ts,
            end: at(4, 0.0).ts,
        };
        let values: Vec<f64> = ring.snapshot(range)[0].2.iter().map(|s| s.value).collect();
        assert_eq!(values, [2.0, 3.0, 4.0]);
        assert_eq!(ring.len(), 5);
    }
}
