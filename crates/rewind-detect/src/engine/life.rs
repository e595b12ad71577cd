//! The lifecycle every rule goes through, per subject: idle → pending →
//! firing → resolved (or pending → cancelled), like a debounced fault.

use rewind_model::Timestamp;

use super::SignalKind;

/// Where a subject is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    /// The condition does not hold.
    #[default]
    Idle,
    /// The condition holds since `since`, not yet for the rule's duration.
    Pending { since: Timestamp },
    /// The condition has held long enough; the rule fired.
    Firing { since: Timestamp },
}

/// One subject's lifecycle.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Life {
    phase: Phase,
    last_input: Option<Timestamp>,
}

impl Life {
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Moves on with the condition `holds` at `at`, for a rule that must hold
    /// for `duration` nanoseconds; a pending run whose previous input is more
    /// than `max_gap` old starts again. Returns the change, with the time the
    /// condition started to hold.
    pub(crate) fn step(
        &mut self,
        holds: bool,
        at: Timestamp,
        duration: i64,
        max_gap: Option<i64>,
    ) -> Option<(SignalKind, Timestamp)> {
        let gap = match (self.last_input, max_gap) {
            (Some(last), Some(max)) => at.nanos_since(last) > max,
            _ => false,
        };
        self.last_input = Some(at);
        match (self.phase, holds) {
            (Phase::Idle, false) | (Phase::Firing { .. }, true) => None,
            (Phase::Idle, true) => {
                if duration <= 0 {
                    self.phase = Phase::Firing { since: at };
                    Some((SignalKind::Firing, at))
                } else {
                    self.phase = Phase::Pending { since: at };
                    Some((SignalKind::Pending, at))
                }
            }
            (Phase::Pending { since }, true) => {
                let since = if gap { at } else { since };
                if at.nanos_since(since) >= duration {
                    self.phase = Phase::Firing { since };
                    Some((SignalKind::Firing, since))
                } else {
                    self.phase = Phase::Pending { since };
                    None
                }
            }
            (Phase::Pending { since }, false) => {
                self.phase = Phase::Idle;
                Some((SignalKind::Cancelled, since))
            }
            (Phase::Firing { since }, false) => {
                self.phase = Phase::Idle;
                Some((SignalKind::Resolved, since))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    #[test]
    fn pending_then_firing_then_resolved() {
        let mut life = Life::default();
        let d = 2_000_000_000;
        assert_eq!(
            life.step(true, t(0), d, None),
            Some((SignalKind::Pending, t(0)))
        );
        assert_eq!(life.step(true, t(1), d, None), None);
        assert_eq!(
            life.step(true, t(2), d, None),
            Some((SignalKind::Firing, t(0)))
        );
        assert_eq!(life.step(true, t(3), d, None), None);
        assert_eq!(
            life.step(false, t(4), d, None),
            Some((SignalKind::Resolved, t(0)))
        );
        assert_eq!(life.step(false, t(5), d, None), None);
    }

    #[test]
    fn a_pending_run_that_clears_is_cancelled_and_a_gap_restarts_it() {
        let mut life = Life::default();
        let d = 2_000_000_000;
        let gap = Some(5_000_000_000);
        life.step(true, t(0), d, gap);
        assert_eq!(
            life.step(false, t(1), d, gap),
            Some((SignalKind::Cancelled, t(0)))
        );
        life.step(true, t(10), d, gap);
        assert_eq!(
            life.step(true, t(16), d, gap),
            None,
            "6 s gap: the run starts again at 16"
        );
        assert_eq!(life.phase(), Phase::Pending { since: t(16) });
        assert_eq!(
            life.step(true, t(18), d, gap),
            Some((SignalKind::Firing, t(16)))
        );
    }

    #[test]
    fn zero_duration_fires_at_once() {
        let mut life = Life::default();
        assert_eq!(
            life.step(true, t(0), 0, None),
            Some((SignalKind::Firing, t(0)))
        );
    }
}
