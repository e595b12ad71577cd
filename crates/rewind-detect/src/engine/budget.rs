//! Budgets on captures (from the runtime watchdog): a cooldown per rule, so
//! a flapping rule cannot capture again and again, and a separate budget for
//! warnings, so they cannot crowd out critical captures.
//!
//! Rotation (at most `max_bundles` bundles per rule) is the agent's: it
//! applies to files on disk, not to trips.

use std::collections::VecDeque;

use rewind_model::Timestamp;

use crate::Rule;
use crate::rules::Budgets;

/// Why a trip did not capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    /// The rule captured less than its `cooldown` ago; it may capture again at `until`.
    Cooldown {
        /// When the cooldown ends.
        until: Timestamp,
    },
    /// The warning budget for the window is spent; it has room again at `until`.
    WarningBudget {
        /// When the oldest warning capture leaves the window.
        until: Timestamp,
    },
}

/// What the budgets remember.
#[derive(Debug, Clone)]
pub(super) struct Budget {
    budgets: Budgets,
    last_capture: Vec<Option<Timestamp>>,
    warnings: VecDeque<Timestamp>,
}

impl Budget {
    pub(super) fn new(budgets: Budgets, rules: usize) -> Self {
        Self {
            budgets,
            last_capture: vec![None; rules],
            warnings: VecDeque::new(),
        }
    }

    /// Whether rule `index` could capture at `at`, without spending anything.
    pub(super) fn check(
        &mut self,
        index: usize,
        rule: &Rule,
        at: Timestamp,
    ) -> Option<Suppression> {
        if let Some(Some(last)) = self.last_capture.get(index)
            && at.nanos_since(*last) < rule.cooldown_nanos
        {
            return Some(Suppression::Cooldown {
                until: last.add_nanos(rule.cooldown_nanos),
            });
        }
        if rule.severity < self.budgets.warning_below {
            let window = self.budgets.warning_window_nanos;
            while self
                .warnings
                .front()
                .is_some_and(|first| at.nanos_since(*first) >= window)
            {
                self.warnings.pop_front();
            }
            if self.warnings.len() >= self.budgets.warnings as usize {
                let until = self
                    .warnings
                    .front()
                    .map_or(at, |first| first.add_nanos(window));
                return Some(Suppression::WarningBudget { until });
            }
        }
        None
    }

    /// Spends a capture of rule `index` at `at`, or says why it may not.
    pub(super) fn spend(
        &mut self,
        index: usize,
        rule: &Rule,
        at: Timestamp,
    ) -> Option<Suppression> {
        if let Some(why) = self.check(index, rule, at) {
            return Some(why);
        }
        if let Some(last) = self.last_capture.get_mut(index) {
            *last = Some(at);
        }
        if rule.severity < self.budgets.warning_below {
            self.warnings.push_back(at);
        }
        None
    }
}
