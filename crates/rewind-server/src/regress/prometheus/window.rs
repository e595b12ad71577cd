//! Which times to ask for, and which points are new. Pure: times are Unix
//! milliseconds passed in.

use std::collections::HashMap;

use rewind_model::{Timestamp, metrics::MetricPoint};

use super::response::Identity;

/// Most points asked for per series in one call: Prometheus refuses more
/// than 11 000.
pub(super) const MAX_POINTS: i64 = 10_000;

/// `ms` rounded down to a multiple of `step` (so every pull of a query
/// evaluates it on the same grid of times).
pub(super) fn align(ms: i64, step: i64) -> i64 {
    let step = step.max(1);
    ms.div_euclid(step).saturating_mul(step)
}

/// The range the next pull of a query asks for, both ends on the step grid
/// and included: from where the previous pull ended (`cursor`; that point
/// is asked for again and deduplicated), but never before `now - lookback`;
/// up to `now`. `None` when there is nothing to ask for.
pub(super) fn plan(cursor: Option<i64>, now: i64, lookback: i64, step: i64) -> Option<(i64, i64)> {
    let end = align(now, step);
    let earliest = align(now.saturating_sub(lookback), step);
    let start = cursor.map_or(earliest, |c| c.max(earliest));
    (start <= end).then_some((start, end))
}

/// Splits `[start, end]` (on the grid of `step`) into calls of at most
/// `max_points` points each, in order, not overlapping.
pub(super) fn split(start: i64, end: i64, step: i64, max_points: i64) -> Vec<(i64, i64)> {
    let step = step.max(1);
    let span = step.saturating_mul(max_points.max(1) - 1);
    let mut out = Vec::new();
    let mut from = start;
    while from <= end {
        let to = from.saturating_add(span).min(end);
        out.push((from, to));
        if to == end {
            break;
        }
        from = to.saturating_add(step);
    }
    out
}

/// The newest point sent of every series of one query: a point at or
/// before it is not sent again (consecutive pulls overlap by one step).
#[derive(Debug, Default)]
pub(super) struct Sent {
    last: HashMap<Identity, Timestamp>,
}

impl Sent {
    /// Whether `point` is newer than every point sent of its series;
    /// if so it is remembered as the newest.
    pub(super) fn admit(&mut self, point: &MetricPoint) -> bool {
        let id = Identity {
            name: point.name.clone(),
            service: point.service.clone(),
            environment: point.environment.clone(),
            instance: point.instance.clone(),
        };
        match self.last.get_mut(&id) {
            Some(last) if point.at <= *last => false,
            Some(last) => {
                *last = point.at;
                true
            }
            None => {
                self.last.insert(id, point.at);
                true
            }
        }
    }

    /// Forgets series whose newest point is before `cursor`: the next
    /// pull starts there, so nothing it brings can repeat them. Keeps the
    /// map as small as the set of live series.
    pub(super) fn forget_before(&mut self, cursor: Timestamp) {
        self.last.retain(|_, last| *last >= cursor);
    }

    /// Series remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_start_at_the_cursor_and_stay_on_the_grid() {
        let step = 15_000;
        let now = 1_774_899_007_500;
        let lookback = 40 * 60_000;
        // First pull: the lookback, aligned down.
        let (start, end) = plan(None, now, lookback, step).unwrap();
        assert_eq!(end, 1_774_899_000_000);
        assert_eq!(start, 1_774_896_600_000);
        assert_eq!(start % step, 0);
        // Next pull: from the previous end (overlapping by one point).
        assert_eq!(
            plan(Some(end), now + 1_000, lookback, step),
            Some((end, end))
        );
        assert_eq!(
            plan(Some(end), now + 16_000, lookback, step),
            Some((end, end + step))
        );
        // A cursor far behind (Prometheus was down for hours) is clamped.
        assert_eq!(
            plan(Some(end - 86_400_000), now, lookback, step),
            Some((start, end))
        );
        // A cursor ahead of now (the clock went back): nothing to ask.
        assert_eq!(plan(Some(end + step), now, lookback, step), None);
        // Negative times and absurd values do not overflow.
        assert_eq!(align(-1, 1_000), -1_000);
        assert!(plan(None, i64::MIN, i64::MAX, 1).is_some());
        assert_eq!(align(5, 0), 5);
    }

    #[test]
    fn long_ranges_are_split_under_the_point_limit() {
        assert_eq!(split(0, 0, 1_000, MAX_POINTS), vec![(0, 0)]);
        assert_eq!(split(10, 0, 1_000, MAX_POINTS), vec![]);
        assert_eq!(split(0, 9_999_000, 1_000, MAX_POINTS), vec![(0, 9_999_000)]);
        assert_eq!(
            split(0, 10_000_000, 1_000, MAX_POINTS),
            vec![(0, 9_999_000), (10_000_000, 10_000_000)]
        );
        // A day at a one-second step: 86 401 points in 9 calls.
        let calls = split(0, 86_400_000, 1_000, MAX_POINTS);
        assert_eq!(calls.len(), 9);
        let mut points = 0;
        let mut next = 0;
        for (from, to) in &calls {
            assert_eq!(*from, next, "no gap, no overlap");
            let n = (to - from) / 1_000 + 1;
            assert!(n <= MAX_POINTS);
            points += n;
            next = to + 1_000;
        }
        assert_eq!(points, 86_401);
        assert_eq!(calls.last().unwrap().1, 86_400_000);
        // Degenerate arguments end.
        assert_eq!(split(0, 3, 0, 0).len(), 4);
        assert_eq!(
            split(i64::MAX - 1, i64::MAX, 1, 2),
            vec![(i64::MAX - 1, i64::MAX)]
        );
    }

    #[test]
    fn points_are_sent_once() {
        let t = Timestamp::from_unix_millis;
        let p = |ms, name: &str| MetricPoint::new(t(ms), name, 1.0).service("checkout");
        let mut sent = Sent::default();
        assert!(sent.admit(&p(1_000, "a")));
        assert!(sent.admit(&p(2_000, "a")));
        // The overlapping point of the next pull, and anything older.
        assert!(!sent.admit(&p(2_000, "a")));
        assert!(!sent.admit(&p(1_500, "a")));
        // Another series, or the same name with other labels, is its own.
        assert!(sent.admit(&p(2_000, "b")));
        assert!(sent.admit(&MetricPoint::new(t(2_000), "a", 1.0)));
        assert!(sent.admit(&p(3_000, "a")));
        sent.forget_before(t(3_000));
        assert_eq!(sent.len(), 1);
        assert!(!sent.admit(&p(3_000, "a")));
        assert!(sent.admit(&p(2_000, "b")), "forgotten: before any cursor");
    }
}
