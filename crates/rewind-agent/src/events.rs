//! Recent log lines and events, bounded by time and by bytes.
//!
//! Kept in arrival order; when a push would exceed the byte budget, the
//! oldest events go first. Events older than the window (relative to the
//! newest) are dropped too.

use std::collections::VecDeque;

use rewind_model::{Event, TimeRange};

/// A byte- and time-bounded buffer of events.
#[derive(Debug)]
pub struct EventRing {
    window_nanos: i64,
    max_bytes: usize,
    bytes: usize,
    events: VecDeque<(usize, Event)>,
    dropped_for_space: u64,
}

impl EventRing {
    /// Keeps `window_nanos` of events, at most `max_bytes` of them.
    #[must_use]
    pub fn new(window_nanos: i64, max_bytes: usize) -> Self {
        Self {
            window_nanos,
            max_bytes,
            bytes: 0,
            events: VecDeque::new(),
            dropped_for_space: 0,
        }
    }

    /// Adds an event, dropping the oldest as needed.
    pub fn push(&mut self, event: Event) {
        let size = event.approx_bytes();
        if size > self.max_bytes {
            self.dropped_for_space += 1;
            return;
        }
        while self.bytes + size > self.max_bytes {
            self.pop_front();
            self.dropped_for_space += 1;
        }
        let oldest_kept = event.ts.add_nanos(-self.window_nanos);
        self.bytes += size;
        self.events.push_back((size, event));
        while self.events.front().is_some_and(|(_, e)| e.ts < oldest_kept) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some((size, _)) = self.events.pop_front() {
            self.bytes -= size;
        }
    }

    /// Events inside `range`, in arrival order.
    #[must_use]
    pub fn snapshot(&self, range: TimeRange) -> Vec<Event> {
        self.events
            .iter()
            .filter(|(_, e)| range.contains(e.ts))
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Events held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes held (approximate).
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Events dropped to stay within the byte budget.
    #[must_use]
    pub fn dropped_for_space(&self) -> u64 {
        self.dropped_for_space
    }
}

#[cfg(test)]
mod tests {
    use rewind_model::{EventKind, Level, Timestamp};

    use super::*;

    fn ev(secs: i64, msg: &str) -> Event {
        Event::new(
            Timestamp::from_unix_millis(secs * 1000),
            "t",
            EventKind::Log,
            Level::Info,
            msg,
        )
    }

    #[test]
    fn stays_within_bytes_and_window() {
        let mut r = EventRing::new(10_000_000_000, 1_000);
        for i in 0..100 {
            r.push(ev(i, &"x".repeat(100)));
        }
        assert!(r.bytes() <= 1_000);
        assert!(r.dropped_for_space() > 0);
        let all = TimeRange {
            start: Timestamp::from_unix_millis(0),
            end: Timestamp::from_unix_millis(i64::MAX / 2_000_000),
        };
        let kept = r.snapshot(all);
        assert_eq!(
            kept.last().unwrap().ts,
            Timestamp::from_unix_millis(99_000),
            "newest always kept"
        );

        let mut r = EventRing::new(10_000_000_000, 1 << 20);
        for i in 0..100 {
            r.push(ev(i, "m"));
        }
        assert_eq!(r.snapshot(all).len(), 11, "10 s window, inclusive");
        r.push(ev(1000, &"y".repeat(2 << 20)));
        assert_eq!(
            r.snapshot(all).len(),
            11,
            "an event larger than the budget is refused"
        );
    }
}
