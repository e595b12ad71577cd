//! The scheduling-latency probe: a task on the program's tokio runtime
//! sleeps `probe_period` again and again and records how late it woke up.
//! The tick reads the p99 of the delays of the last `probe_window`.
//!
//! A runtime so stuck that the probe cannot wake at all still shows: the
//! time since the probe's last wake-up, beyond its period, is a delay in
//! progress, and the reading is the larger of it and the p99.
//!
//! Memory is bounded: the window keeps at most `window / period` delays
//! (and never more than [`MAX_DELAYS`]). The probe's critical section is a
//! push onto that deque; the tick's is a copy of it.

#[cfg(feature = "tokio")]
use std::sync::Arc;
use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// The most delays kept, whatever the window and period.
pub const MAX_DELAYS: usize = 10_000;

/// The probe's recent wake-up delays.
#[derive(Debug)]
pub struct LatencyWindow {
    period: Duration,
    window: Duration,
    cap: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    delays: VecDeque<(Instant, Duration)>,
    last_wake: Option<Instant>,
}

impl LatencyWindow {
    /// A window of `window` for a probe sleeping `period`.
    #[must_use]
    pub fn new(period: Duration, window: Duration) -> Self {
        let per = period.max(Duration::from_micros(100));
        let cap = usize::try_from(window.as_nanos() / per.as_nanos())
            .unwrap_or(MAX_DELAYS)
            .clamp(1, MAX_DELAYS);
        Self {
            period,
            window,
            cap,
            state: Mutex::new(State {
                delays: VecDeque::with_capacity(cap),
                last_wake: None,
            }),
        }
    }

    /// The probe's sleep period.
    #[must_use]
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Records one wake-up `delay` observed at `at`.
    pub fn record(&self, at: Instant, delay: Duration) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.delays.len() >= self.cap {
            s.delays.pop_front();
        }
        s.delays.push_back((at, delay));
        s.last_wake = Some(at);
    }

    /// p99 of the delays of the last window, or the delay of a wake-up
    /// overdue now if larger; `None` before the probe first woke.
    #[must_use]
    pub fn p99(&self) -> Option<Duration> {
        self.p99_at(Instant::now())
    }

    pub(crate) fn p99_at(&self, now: Instant) -> Option<Duration> {
        let (mut delays, last_wake) = {
            let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let recent: Vec<Duration> = s
                .delays
                .iter()
                .filter(|(at, _)| now.saturating_duration_since(*at) <= self.window)
                .map(|(_, d)| *d)
                .collect();
            (recent, s.last_wake?)
        };
        let overdue = now
            .saturating_duration_since(last_wake)
            .saturating_sub(self.period);
        delays.sort_unstable();
        // Nearest rank: the smallest value with at least 99% of the values at or below it.
        let rank = (delays.len() * 99).div_ceil(100).max(1);
        let p99 = delays.get(rank - 1).copied().unwrap_or(Duration::ZERO);
        Some(p99.max(overdue))
    }
}

/// The probe task on a tokio runtime; stopped when dropped.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct LatencyProbe {
    window: Arc<LatencyWindow>,
    task: tokio::task::JoinHandle<()>,
}

#[cfg(feature = "tokio")]
impl LatencyProbe {
    /// Spawns the probe on `handle`.
    #[must_use]
    pub fn spawn(handle: &tokio::runtime::Handle, period: Duration, window: Duration) -> Self {
        let window = Arc::new(LatencyWindow::new(period, window));
        let w = Arc::clone(&window);
        let task = handle.spawn(async move {
            w.record(Instant::now(), Duration::ZERO);
            loop {
                let start = Instant::now();
                tokio::time::sleep(period).await;
                let woke = Instant::now();
                w.record(
                    woke,
                    woke.saturating_duration_since(start).saturating_sub(period),
                );
            }
        });
        Self { window, task }
    }

    /// The window the watchdog reads.
    #[must_use]
    pub fn window(&self) -> Arc<LatencyWindow> {
        Arc::clone(&self.window)
    }
}

#[cfg(feature = "tokio")]
impl Drop for LatencyProbe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_the_nearest_rank_of_the_window() {
        let w = LatencyWindow::new(Duration::from_millis(10), Duration::from_secs(10));
        let now = Instant::now();
        assert_eq!(w.p99_at(now), None);
        for i in 0..100_u64 {
            w.record(now, Duration::from_millis(if i == 99 { 50 } else { 1 }));
        }
        assert_eq!(w.p99_at(now), Some(Duration::from_millis(1)));
        w.record(now, Duration::from_millis(60));
        assert_eq!(w.p99_at(now), Some(Duration::from_millis(50)));
    }

    #[test]
    fn old_delays_leave_the_window_and_memory_is_bounded() {
        let w = LatencyWindow::new(Duration::from_millis(10), Duration::from_millis(100));
        let t0 = Instant::now();
        for _ in 0..1000 {
            w.record(t0, Duration::from_millis(30));
        }
        assert_eq!(w.state.lock().unwrap().delays.len(), 10);
        w.record(t0 + Duration::from_millis(500), Duration::ZERO);
        assert_eq!(
            w.p99_at(t0 + Duration::from_millis(500)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_probe_that_cannot_wake_counts_as_late() {
        let w = LatencyWindow::new(Duration::from_millis(10), Duration::from_secs(5));
        let t0 = Instant::now();
        for _ in 0..100 {
            w.record(t0, Duration::ZERO);
        }
        let p = w.p99_at(t0 + Duration::from_millis(300)).unwrap();
        assert_eq!(p, Duration::from_millis(290));
    }
}
