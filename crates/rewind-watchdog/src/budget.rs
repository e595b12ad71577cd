//! The budgets that keep the watchdog from drowning its own channel:
//!
//! - **Cooldown** per capture kind: after a capture, the same kind does not
//!   capture again for `cooldown`. A breach inside it is counted, and the
//!   first one of each cooldown becomes one warning.
//! - **Warning budget**: at most `warning_budget` warning events per
//!   `warning_window` (a fixed window opened by the first warning); the
//!   rest are dropped and counted. Captures never spend it, so warnings
//!   cannot crowd them out.
//!
//! Rotation, the third budget, is in [`crate::rotate`].
//!
//! Time comes from the [`Clock`](crate::Clock): nothing here sleeps.

use std::{collections::BTreeMap, time::Duration};

use rewind_model::Timestamp;

use crate::clock::{plus, since};

/// Whether a capture of a kind may go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cooldown {
    /// Yes; the cooldown starts now.
    Allowed,
    /// No, until `until`; `first` is true for the first refusal of this cooldown.
    Cooling { until: Timestamp, first: bool },
}

/// Per-kind cooldowns.
#[derive(Debug)]
pub(crate) struct Cooldowns {
    length: Duration,
    /// kind → (last capture, whether a refusal was already reported).
    last: BTreeMap<String, (Timestamp, bool)>,
}

impl Cooldowns {
    pub(crate) fn new(length: Duration) -> Self {
        Self {
            length,
            last: BTreeMap::new(),
        }
    }

    /// Asks for a capture of `kind` at `now`; an allowed one starts the cooldown.
    pub(crate) fn ask(&mut self, kind: &str, now: Timestamp) -> Cooldown {
        if let Some((last, reported)) = self.last.get_mut(kind)
            && since(now, *last) < self.length
        {
            let first = !*reported;
            *reported = true;
            return Cooldown::Cooling {
                until: plus(*last, self.length),
                first,
            };
        }
        self.last.insert(kind.to_owned(), (now, false));
        Cooldown::Allowed
    }

    /// Whether `kind` would be allowed at `now`, without asking.
    pub(crate) fn is_cooling(&self, kind: &str, now: Timestamp) -> bool {
        self.last
            .get(kind)
            .is_some_and(|(last, _)| since(now, *last) < self.length)
    }
}

/// The warning budget.
#[derive(Debug)]
pub(crate) struct WarningBudget {
    max: u32,
    window: Duration,
    opened: Option<Timestamp>,
    used: u32,
    dropped: u64,
}

impl WarningBudget {
    pub(crate) fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            opened: None,
            used: 0,
            dropped: 0,
        }
    }

    /// Spends one warning at `now`; false (and counted) when the window's budget is spent.
    pub(crate) fn take(&mut self, now: Timestamp) -> bool {
        match self.opened {
            Some(opened) if since(now, opened) < self.window => {}
            _ => {
                self.opened = Some(now);
                self.used = 0;
            }
        }
        if self.used < self.max {
            self.used += 1;
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    /// Warnings dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    #[test]
    fn a_second_capture_inside_the_cooldown_is_refused_and_allowed_after() {
        let mut c = Cooldowns::new(Duration::from_secs(120));
        assert_eq!(c.ask("fds", at(0)), Cooldown::Allowed);
        assert_eq!(
            c.ask("fds", at(60)),
            Cooldown::Cooling {
                until: at(120),
                first: true
            }
        );
        assert_eq!(
            c.ask("fds", at(119)),
            Cooldown::Cooling {
                until: at(120),
                first: false
            }
        );
        assert!(c.is_cooling("fds", at(119)));
        // Other kinds have their own cooldown.
        assert_eq!(c.ask("rss", at(60)), Cooldown::Allowed);
        assert_eq!(c.ask("fds", at(120)), Cooldown::Allowed);
        assert!(matches!(
            c.ask("fds", at(121)),
            Cooldown::Cooling { first: true, .. }
        ));
    }

    #[test]
    fn the_warning_budget_allows_ten_per_window_then_drops() {
        let mut b = WarningBudget::new(10, Duration::from_secs(600));
        let allowed = (0..15).filter(|i| b.take(at(*i))).count();
        assert_eq!((allowed, b.dropped()), (10, 5));
        assert!(!b.take(at(599)));
        assert!(b.take(at(600)), "a new window opens");
        assert_eq!(b.dropped(), 6);
    }
}
