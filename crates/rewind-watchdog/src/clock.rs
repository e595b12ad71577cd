//! Where the watchdog's time comes from: cooldowns, budgets, baselines,
//! file names and history rows all read one [`Clock`], so tests move time
//! instead of sleeping. The tick itself is paced by real time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use rewind_model::Timestamp;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock read once, then advanced by the monotonic clock:
/// a step of the wall clock (NTP, a manual change) cannot shorten or
/// stretch a cooldown.
#[derive(Debug, Clone)]
pub struct SystemClock {
    anchor: Timestamp,
    started: Instant,
}

impl SystemClock {
    /// A clock anchored at the current wall-clock time.
    #[must_use]
    pub fn new() -> Self {
        Self {
            anchor: Timestamp::now(),
            started: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let nanos = i64::try_from(self.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        self.anchor.add_nanos(nanos)
    }
}

/// A clock that moves only when told to: for tests and replays.
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `at`.
    #[must_use]
    pub fn new(at: Timestamp) -> Self {
        Self {
            nanos: Arc::new(AtomicI64::new(at.as_unix_nanos())),
        }
    }

    /// Moves the clock forward by `by` (every clone sees it).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// `later - earlier` as a duration, zero when `later` is earlier.
pub(crate) fn since(later: Timestamp, earlier: Timestamp) -> Duration {
    Duration::from_nanos(u64::try_from(later.nanos_since(earlier)).unwrap_or(0))
}

/// `at + d`, saturating.
pub(crate) fn plus(at: Timestamp, d: Duration) -> Timestamp {
    at.add_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_unix_millis(1_000));
        let copy = clock.clone();
        assert_eq!(clock.now(), Timestamp::from_unix_millis(1_000));
        copy.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), Timestamp::from_unix_millis(3_000));
        assert_eq!(
            since(clock.now(), Timestamp::from_unix_millis(1_000)),
            Duration::from_secs(2)
        );
        assert_eq!(
            since(Timestamp::from_unix_millis(0), clock.now()),
            Duration::ZERO
        );
    }

    #[test]
    fn the_system_clock_never_goes_back() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
    }
}
