//! The latest few timestamped events of one subject, for counting within a
//! sliding window with bounded memory (crash loops, `log_match`).

use std::collections::VecDeque;

use rewind_model::Timestamp;

/// At most `cap` timestamped items, oldest first.
///
/// Counting "k events within a window" needs only the k latest: if those do
/// not all fall within the window, no k do. So a rule keeps `k` items, however
/// many events arrive.
#[derive(Debug, Clone)]
pub(crate) struct Recent<T> {
    items: VecDeque<(Timestamp, T)>,
    cap: usize,
}

impl<T> Recent<T> {
    /// An empty list keeping at most `cap` items (at least one).
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            items: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Adds an item at its place in time (after any at the same instant); when
    /// that makes one too many, the oldest is dropped, which may be this one.
    pub(crate) fn insert(&mut self, at: Timestamp, item: T) {
        let i = self.items.partition_point(|(t, _)| *t <= at);
        self.items.insert(i, (at, item));
        while self.items.len() > self.cap {
            self.items.pop_front();
        }
    }

    /// Drops the items that have left a window of `window` nanoseconds ending
    /// at `now`: those `window` or more old. The window is half-open, so an
    /// event exactly `window` old has left it.
    pub(crate) fn expire(&mut self, now: Timestamp, window: i64) {
        while self
            .items
            .front()
            .is_some_and(|(t, _)| now.nanos_since(*t) >= window)
        {
            self.items.pop_front();
        }
    }

    /// How many items are kept.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Forgets every item.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    /// The time from the oldest item kept to the newest (0 with fewer than two).
    pub(crate) fn span(&self) -> i64 {
        match (self.items.front(), self.items.back()) {
            (Some((first, _)), Some((last, _))) => last.nanos_since(*first),
            _ => 0,
        }
    }

    /// The items, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(Timestamp, T)> {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    fn times(r: &Recent<u8>) -> Vec<i64> {
        r.iter().map(|(at, _)| at.as_unix_millis() / 1000).collect()
    }

    #[test]
    fn keeps_the_latest_cap_items_in_time_order() {
        let mut r = Recent::new(3);
        for secs in [1, 2, 3, 4] {
            r.insert(t(secs), 0);
        }
        assert_eq!(times(&r), [2, 3, 4]);
        r.insert(t(0), 0);
        assert_eq!(times(&r), [2, 3, 4], "older than all kept: dropped");
        r.insert(t(3), 1);
        assert_eq!(times(&r), [3, 3, 4], "a late item goes in its place");
        assert_eq!(r.span(), 1_000_000_000);
    }

    #[test]
    fn an_item_exactly_window_old_has_left() {
        let mut r = Recent::new(5);
        r.insert(t(0), 0);
        r.insert(t(1), 0);
        r.expire(t(10), 10_000_000_000);
        assert_eq!(times(&r), [1]);
        r.expire(t(11), 10_000_000_000);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn a_zero_cap_still_keeps_one() {
        let mut r = Recent::new(0);
        r.insert(t(1), 0);
        r.insert(t(2), 0);
        assert_eq!(times(&r), [2]);
        r.clear();
        assert_eq!((r.len(), r.span()), (0, 0));
    }
}
