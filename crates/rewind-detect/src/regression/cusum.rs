//! A two-sided CUSUM (Page, 1954) on standardised residuals, streaming.
//!
//! Each sample arrives as `z = (x − median) / spread`, clipped to ±(h + k)
//! so one sample alone can take a statistic to h but not past it. Then
//! `S⁺ = max(0, S⁺ + z − k)` and `S⁻ = max(0, S⁻ − z − k)`; an alarm is
//! raised when a watched side passes h. The change-point estimate is the
//! first sample after the last time that side was zero (the maximum
//! likelihood estimate for a step, as in Page's procedure); the alarm time
//! is the sample that crossed h. A side stays in alarm (no new alarm) until
//! it falls back to zero; it is capped at 3h so a shift that ends clears in
//! bounded time.

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::Direction;

/// Which way a series moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    /// It rose.
    Up,
    /// It fell.
    Down,
}

/// A CUSUM alarm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Which way.
    pub shift: Shift,
    /// The estimated start of the change: the first sample after the
    /// statistic was last zero.
    pub change_at: Timestamp,
    /// The sample that took the statistic past h.
    pub alarm_at: Timestamp,
    /// Samples from the change point to the alarm, both included.
    pub samples: usize,
    /// The statistic at the alarm, in spreads.
    pub statistic: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Side {
    s: f64,
    start: Option<Timestamp>,
    samples: usize,
    alarmed: bool,
}

impl Side {
    fn push(&mut self, t: Timestamp, step: f64, cap: f64) {
        let next = (self.s + step).min(cap);
        if next <= 0.0 {
            *self = Self::default();
            return;
        }
        if self.s <= 0.0 {
            self.start = Some(t);
        }
        self.s = next;
        self.samples += 1;
    }
}

/// The streaming detector: `push(t, z) -> Option<Alarm>`.
#[derive(Debug, Clone)]
pub struct Cusum {
    k: f64,
    h: f64,
    watch: Direction,
    up: Side,
    down: Side,
}

impl Cusum {
    /// With reference `k` and decision interval `h` (both in spreads),
    /// alarming on the sides that `watch` makes regressions.
    #[must_use]
    pub fn new(k: f64, h: f64, watch: Direction) -> Self {
        Self {
            k,
            h,
            watch,
            up: Side::default(),
            down: Side::default(),
        }
    }

    /// Feeds one standardised residual; an alarm when a watched side passes h.
    /// Non-finite residuals are skipped.
    pub fn push(&mut self, t: Timestamp, z: f64) -> Option<Alarm> {
        if !z.is_finite() {
            return None;
        }
        let z = z.clamp(-(self.h + self.k), self.h + self.k);
        let cap = 3.0 * self.h;
        let (was_up, was_down) = (self.in_alarm(Shift::Up), self.in_alarm(Shift::Down));
        self.up.push(t, z - self.k, cap);
        self.down.push(t, -z - self.k, cap);
        let up = !matches!(self.watch, Direction::LowerIsWorse) && !was_up && self.up.s > self.h;
        let down =
            !matches!(self.watch, Direction::HigherIsWorse) && !was_down && self.down.s > self.h;
        let (side, shift) = match (up, down) {
            (true, _) => (&mut self.up, Shift::Up),
            (false, true) => (&mut self.down, Shift::Down),
            (false, false) => return None,
        };
        side.alarmed = true;
        Some(Alarm {
            shift,
            change_at: side.start.unwrap_or(t),
            alarm_at: t,
            samples: side.samples,
            statistic: side.s,
        })
    }

    /// Whether `shift`'s side has alarmed and not yet fallen back to zero.
    #[must_use]
    pub fn in_alarm(&self, shift: Shift) -> bool {
        match shift {
            Shift::Up => self.up.alarmed,
            Shift::Down => self.down.alarmed,
        }
    }

    /// Back to zero on both sides.
    pub fn reset(&mut self) {
        self.up = Side::default();
        self.down = Side::default();
    }

    /// The current statistics (S⁺, S⁻).
    #[must_use]
    pub fn statistics(&self) -> (f64, f64) {
        (self.up.s, self.down.s)
    }

    /// When the side that is off zero left it (the pending change point).
    #[must_use]
    pub fn pending_start(&self, shift: Shift) -> Option<Timestamp> {
        match shift {
            Shift::Up => self.up.start,
            Shift::Down => self.down.start,
        }
    }
}

#[cfg(test)]
mod tests;
