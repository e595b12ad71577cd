//! The recent trajectory of a `trend` rule: samples averaged into time
//! buckets, and a Theil–Sen line through the buckets.
//!
//! The window is cut into [`BUCKETS`] buckets of equal length; each keeps
//! the count, mean time and mean value of its samples (O(1) per sample).
//! The line's slope is the median of the slopes between every two buckets
//! and its intercept the median of the buckets' residuals (Theil–Sen): it
//! ignores up to about 29 % of wild buckets, and passes exactly through
//! samples that lie on a line. With at most 64 points a fit costs at most
//! 2016 slopes and two selections; the rule refits only when a new bucket
//! starts, so a fast series pays for one fit per bucket, not per sample.

use rewind_model::Timestamp;

/// Time buckets the window is cut into (points of the fit).
pub(crate) const BUCKETS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// The bucket's number: its start time divided by the bucket length.
    number: i64,
    count: u64,
    /// Sum of the samples' seconds since the bucket's start.
    sum_secs: f64,
    sum_values: f64,
}

impl Bucket {
    const EMPTY: Self = Self {
        number: i64::MIN,
        count: 0,
        sum_secs: 0.0,
        sum_values: 0.0,
    };
}

/// A fitted line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Line {
    /// The time `intercept` is the value at.
    pub(crate) anchor: Timestamp,
    /// The value at `anchor`.
    pub(crate) intercept: f64,
    /// Change per second.
    pub(crate) slope: f64,
}

impl Line {
    /// The line's value at `at`.
    pub(crate) fn at(&self, at: Timestamp) -> f64 {
        self.intercept + self.slope * secs(at.nanos_since(self.anchor))
    }
}

/// The recent samples of one series, by bucket.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    /// Bucket length in nanoseconds.
    width: i64,
    /// The number of the newest bucket written.
    latest: i64,
    /// Boxed: a rule's state stays small wherever it is moved.
    buckets: Box<[Bucket; BUCKETS]>,
    points: Vec<(f64, f64)>,
    scratch: Vec<f64>,
}

impl Buckets {
    /// Empty buckets covering `window_nanos`.
    pub(crate) fn new(window_nanos: i64) -> Self {
        Self {
            width: (window_nanos / BUCKETS as i64).max(1),
            latest: i64::MIN,
            buckets: Box::new([Bucket::EMPTY; BUCKETS]),
            points: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Adds a sample (samples arrive in time order); returns whether it
    /// started a new bucket.
    pub(crate) fn push(&mut self, at: Timestamp, value: f64) -> bool {
        let nanos = at.as_unix_nanos();
        let number = nanos.div_euclid(self.width);
        let index = usize::try_from(number.rem_euclid(BUCKETS as i64)).unwrap_or(0);
        let bucket = &mut self.buckets[index];
        let new = bucket.number != number;
        if new {
            *bucket = Bucket::EMPTY;
            bucket.number = number;
        }
        bucket.count = bucket.count.saturating_add(1);
        bucket.sum_secs += secs(nanos.rem_euclid(self.width));
        bucket.sum_values += value;
        self.latest = self.latest.max(number);
        new
    }

    /// The buckets inside the window: the newest and the `BUCKETS - 1` before it.
    fn live(&self) -> impl Iterator<Item = &Bucket> {
        let oldest = self.latest.saturating_sub(BUCKETS as i64 - 1);
        self.buckets
            .iter()
            .filter(move |b| b.count > 0 && b.number >= oldest && b.number <= self.latest)
    }

    /// Samples in the window.
    pub(crate) fn count(&self) -> u64 {
        self.live().fold(0, |n, b| n.saturating_add(b.count))
    }

    /// The time from the start of the oldest bucket in the window to the
    /// start of the newest.
    pub(crate) fn span_nanos(&self) -> i64 {
        let oldest = self.live().map(|b| b.number).min().unwrap_or(self.latest);
        self.latest
            .saturating_sub(oldest)
            .saturating_mul(self.width)
    }

    /// The Theil–Sen line through the buckets' means; `None` with fewer than
    /// two buckets, or when the values overflow.
    pub(crate) fn fit(&mut self) -> Option<Line> {
        let (width, latest) = (self.width, self.latest);
        let mut points = std::mem::take(&mut self.points);
        points.clear();
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        points.extend(self.live().map(|b| {
            let n = b.count as f64;
            let start = secs(b.number.saturating_sub(latest).saturating_mul(width));
            (start + b.sum_secs / n, b.sum_values / n)
        }));
        let line = theil_sen(&points, &mut self.scratch).map(|(slope, intercept)| Line {
            anchor: Timestamp::from_unix_nanos(latest.saturating_mul(width)),
            intercept,
            slope,
        });
        self.points = points;
        line
    }
}

/// Nanoseconds as seconds.
#[allow(clippy::cast_precision_loss)] // nanosecond precision is not needed for a fit
fn secs(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

/// The Theil–Sen line through `points` (time, value): its slope and its
/// value at time 0; `None` with fewer than two distinct times, or when the
/// values overflow. `scratch` is reused between calls.
pub(crate) fn theil_sen(points: &[(f64, f64)], scratch: &mut Vec<f64>) -> Option<(f64, f64)> {
    scratch.clear();
    for (i, &(t1, v1)) in points.iter().enumerate() {
        for &(t2, v2) in &points[i + 1..] {
            if t2 != t1 {
                scratch.push((v2 - v1) / (t2 - t1));
            }
        }
    }
    let slope = median(scratch)?;
    scratch.clear();
    scratch.extend(points.iter().map(|&(t, v)| v - slope * t));
    let intercept = median(scratch)?;
    (slope.is_finite() && intercept.is_finite()).then_some((slope, intercept))
}

/// The median of `values` (reordered in place); `None` when empty or when a
/// value is NaN.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    super::super::change::baseline::median(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000)
    }

    #[test]
    fn theil_sen_is_exact_on_a_line_and_ignores_outliers() {
        let mut scratch = Vec::new();
        let line: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 3.0 + 0.5 * f64::from(i)))
            .collect();
        assert_eq!(theil_sen(&line, &mut scratch), Some((0.5, 3.0)));
        let mut wild = line.clone();
        wild[2].1 = 1e9;
        wild[7].1 = -1e9;
        assert_eq!(theil_sen(&wild, &mut scratch), Some((0.5, 3.0)));
    }

    #[test]
    fn theil_sen_needs_two_distinct_times() {
        let mut scratch = Vec::new();
        assert_eq!(theil_sen(&[], &mut scratch), None);
        assert_eq!(theil_sen(&[(1.0, 2.0)], &mut scratch), None);
        assert_eq!(theil_sen(&[(1.0, 2.0), (1.0, 3.0)], &mut scratch), None);
        assert_eq!(
            theil_sen(&[(0.0, f64::MAX), (1.0, -f64::MAX)], &mut scratch),
            None
        );
    }

    #[test]
    fn buckets_average_their_samples_and_forget_old_ones() {
        let mut b = Buckets::new(64_000_000_000); // 1 s buckets
        assert!(b.push(t(0), 0.0));
        assert!(!b.push(Timestamp::from_unix_millis(1_700_000_000_500), 1.0));
        assert!(b.push(t(1), 2.0));
        assert_eq!(b.count(), 3);
        assert_eq!(b.span_nanos(), 1_000_000_000);
        let line = b.fit().unwrap();
        // Means: (0.25 s, 0.5) and (1 s, 2): slope 2 per second.
        assert_eq!(line.slope, 2.0);
        assert_eq!(line.at(t(1)), 2.0);
        b.push(t(100), 7.0);
        assert_eq!(b.count(), 1);
        assert_eq!(b.span_nanos(), 0);
        assert_eq!(b.fit(), None);
    }
}
