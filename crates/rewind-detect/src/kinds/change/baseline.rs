//! The rolling baseline of a `change` rule: the recent samples of one
//! series, kept in time slots, and the robust level and spread over them.
//!
//! The window is cut into [`SLOTS`] slots of equal length. Each slot counts
//! every sample it receives but keeps only its first [`PER_SLOT`] values, so
//! a series of any rate keeps at most `SLOTS × PER_SLOT` = 256 values
//! (spread evenly over the window) and the estimate costs the same bounded
//! work whatever the rate: two selections and two passes over those values,
//! and only when they changed.
//!
//! The level is their median. The spread is a winsorized standard
//! deviation: a pilot spread is taken from the median absolute deviation
//! ([`SPREAD_PER_MAD`]; the mean absolute deviation when more than half the
//! values are equal), deviations from the level are clipped at 2.5 pilot
//! spreads, and the root mean square of the clipped deviations is scaled to
//! a standard deviation ([`SPREAD_PER_WINSOR`]). A few wild values move it
//! by a bounded amount, and it is about 2.5 times as precise as the MAD
//! alone (a 0.05 relative error from 256 values instead of 0.1), which
//! matters: a CUSUM's false-alarm rate grows steeply when the spread is
//! underestimated. The spread is never below [`SPREAD_FLOOR`] × |level|
//! (nor zero), so a constant series does not divide by zero.

use rewind_model::Timestamp;

/// Time slots the window is cut into.
pub(crate) const SLOTS: usize = 32;
/// Values kept per slot for the median and the MAD (all samples are counted).
pub(crate) const PER_SLOT: usize = 8;
/// The median absolute deviation times this estimates the standard
/// deviation of normally distributed values (1 / Φ⁻¹(3/4)).
pub(crate) const SPREAD_PER_MAD: f64 = 1.482_602_218_505_602;
/// The mean absolute deviation times this estimates the standard deviation
/// of normally distributed values (√(π/2)).
const SPREAD_PER_MEAN_AD: f64 = 1.253_314_137_315_500_3;
/// Deviations are clipped at this many pilot spreads for the spread.
const WINSOR: f64 = 2.5;
/// The root mean square of deviations clipped at 2.5 standard deviations
/// times this estimates the standard deviation of normally distributed
/// values (1 / √E[min(Z², 2.5²)]).
pub(crate) const SPREAD_PER_WINSOR: f64 = 1.011_412_443_093_939_5;
/// The smallest spread, as a fraction of |level|.
pub(crate) const SPREAD_FLOOR: f64 = 1e-9;

/// A learned reference: level and spread, and how many samples they describe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// The median.
    pub(crate) level: f64,
    /// The robust standard deviation, floored.
    pub(crate) spread: f64,
    /// Samples in the window (kept or only counted).
    pub(crate) samples: u64,
    /// Whether every kept value equalled the level (the spread is the floor).
    pub(crate) constant: bool,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The slot's number: its start time divided by the slot length.
    number: i64,
    count: u64,
    len: usize,
    values: [f64; PER_SLOT],
}

impl Slot {
    const EMPTY: Self = Self {
        number: i64::MIN,
        count: 0,
        len: 0,
        values: [0.0; PER_SLOT],
    };
}

/// The recent samples of one series.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// Slot length in nanoseconds.
    width: i64,
    /// The number of the newest slot written.
    latest: i64,
    /// Boxed: a rule's state stays small wherever it is moved.
    slots: Box<[Slot; SLOTS]>,
    /// Whether the kept values changed since the last estimate.
    changed: bool,
    cached: Option<Estimate>,
    scratch: Vec<f64>,
}

impl Window {
    /// An empty window `window_nanos` long.
    pub(crate) fn new(window_nanos: i64) -> Self {
        Self {
            width: (window_nanos / SLOTS as i64).max(1),
            latest: i64::MIN,
            slots: Box::new([Slot::EMPTY; SLOTS]),
            changed: true,
            cached: None,
            scratch: Vec::new(),
        }
    }

    /// Adds a sample (samples arrive in time order).
    pub(crate) fn push(&mut self, at: Timestamp, value: f64) {
        let number = at.as_unix_nanos().div_euclid(self.width);
        let index = usize::try_from(number.rem_euclid(SLOTS as i64)).unwrap_or(0);
        let slot = &mut self.slots[index];
        if slot.number != number {
            *slot = Slot::EMPTY;
            slot.number = number;
        }
        slot.count = slot.count.saturating_add(1);
        if slot.len < PER_SLOT {
            slot.values[slot.len] = value;
            slot.len += 1;
            self.changed = true;
        }
        if number > self.latest {
            // Older slots may have left the window.
            self.latest = number;
            self.changed = true;
        }
    }

    /// The slots inside the window: the newest and the `SLOTS - 1` before it.
    fn live(&self) -> impl Iterator<Item = &Slot> {
        let oldest = self.latest.saturating_sub(SLOTS as i64 - 1);
        self.slots
            .iter()
            .filter(move |s| s.count > 0 && s.number >= oldest && s.number <= self.latest)
    }

    /// Samples in the window.
    pub(crate) fn count(&self) -> u64 {
        self.live().fold(0, |n, s| n.saturating_add(s.count))
    }

    /// The level and spread of the samples in the window; `None` when empty.
    /// Recomputed only when the kept values changed: at most
    /// `SLOTS × PER_SLOT` values, two selections.
    pub(crate) fn estimate(&mut self) -> Option<Estimate> {
        if self.changed {
            self.changed = false;
            let mut values = std::mem::take(&mut self.scratch);
            values.clear();
            values.extend(self.live().flat_map(|s| s.values[..s.len].iter().copied()));
            self.cached = robust(&mut values);
            self.scratch = values;
        }
        let samples = self.count();
        self.cached.map(|e| Estimate { samples, ..e })
    }
}

/// Level and spread of `values` (reordered in place); `None` when empty.
pub(crate) fn robust(values: &mut [f64]) -> Option<Estimate> {
    let level = median(values)?;
    for v in values.iter_mut() {
        *v = (*v - level).abs();
    }
    let mut pilot = median(values)? * SPREAD_PER_MAD;
    if pilot == 0.0 {
        pilot = mean(values.iter().copied()) * SPREAD_PER_MEAN_AD;
    }
    let constant = pilot == 0.0;
    let spread = if constant {
        0.0
    } else {
        let clip = WINSOR * pilot;
        mean(values.iter().map(|d| d.min(clip).powi(2))).sqrt() * SPREAD_PER_WINSOR
    };
    let floor = (level.abs() * SPREAD_FLOOR).max(f64::MIN_POSITIVE);
    // Values spanning most of the f64 range overflow to infinity: cap them.
    let spread = if spread.is_finite() {
        spread.max(floor)
    } else {
        f64::MAX
    };
    Some(Estimate {
        level,
        spread,
        samples: 0,
        constant,
    })
}

/// The mean of a few values.
fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    #[allow(clippy::cast_precision_loss)] // at most SLOTS × PER_SLOT values
    let n = values.len().max(1) as f64;
    values.sum::<f64>() / n
}

/// The median of `values` (reordered in place); `None` when empty.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (below, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Halves first: the sum of two large values would overflow.
    Some(lower / 2.0 + upper / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000)
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut [f64::MAX, f64::MAX]), Some(f64::MAX));
    }

    #[test]
    fn the_spread_is_a_winsorized_standard_deviation() {
        let e = robust(&mut [-1.0, 1.0, -1.0, 1.0]).unwrap();
        assert_eq!(e.level, 0.0);
        assert_eq!(e.spread, SPREAD_PER_WINSOR);
        assert!(!e.constant);
        // MAD 1, so deviations are clipped at 2.5 × 1.4826: the outlier
        // counts as 3.7 and the level does not move.
        let e = robust(&mut [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0, 100.0]).unwrap();
        assert_eq!(e.level, 0.0);
        let clipped = (2.5 * SPREAD_PER_MAD).powi(2);
        let expected = ((4.0 + clipped) / 7.0).sqrt() * SPREAD_PER_WINSOR;
        assert!(
            (e.spread - expected).abs() < 1e-12,
            "{} vs {expected}",
            e.spread
        );
    }

    #[test]
    fn a_mad_of_zero_falls_back_to_the_mean_deviation_then_the_floor() {
        // Mean deviation 0.5: pilot 0.627, so the 2 is clipped at 1.567.
        let e = robust(&mut [10.0, 10.0, 10.0, 12.0]).unwrap();
        assert_eq!(e.level, 10.0);
        let clip = 2.5 * 0.5 * SPREAD_PER_MEAN_AD;
        let expected = (clip * clip / 4.0).sqrt() * SPREAD_PER_WINSOR;
        assert!(
            (e.spread - expected).abs() < 1e-12,
            "{} vs {expected}",
            e.spread
        );

        let e = robust(&mut [10.0; 5]).unwrap();
        assert!(e.constant);
        assert_eq!(e.spread, 10.0 * SPREAD_FLOOR);
        let e = robust(&mut [0.0; 5]).unwrap();
        assert_eq!(e.spread, f64::MIN_POSITIVE);
    }

    #[test]
    fn extreme_values_give_finite_estimates() {
        let e = robust(&mut [f64::MAX, -f64::MAX, f64::MAX]).unwrap();
        assert!(e.level.is_finite() && e.spread.is_finite() && e.spread > 0.0);
    }

    #[test]
    fn the_window_forgets_slots_older_than_its_length() {
        let mut w = Window::new(32_000_000_000); // 1 s slots
        for s in 0..32 {
            w.push(t(s), 1.0);
        }
        assert_eq!(w.count(), 32);
        w.push(t(32), 1.0);
        assert_eq!(w.count(), 32, "the slot of t(0) left");
        w.push(t(100), 5.0);
        assert_eq!(w.count(), 1);
        assert_eq!(w.estimate().unwrap().level, 5.0);
    }

    #[test]
    fn a_slot_keeps_its_first_values_but_counts_all() {
        let mut w = Window::new(32_000_000_000);
        for i in 0..10 {
            w.push(
                Timestamp::from_unix_nanos(i * 10_000_000),
                f64::from(u8::try_from(i).unwrap()),
            );
        }
        let e = w.estimate().unwrap();
        assert_eq!(e.samples, 10);
        assert_eq!(e.level, 3.5, "the median of the first eight, 0..=7");
    }
}
