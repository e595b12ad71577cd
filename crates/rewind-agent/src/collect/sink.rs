//! How collectors hand their readings to the hub: a bounded channel that
//! never blocks a collector. When the hub falls behind, batches are dropped
//! and counted, never queued without limit.

use std::{
    borrow::Cow,
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rewind_model::{Event, SeriesName, Timestamp};
use tokio::sync::{mpsc, watch};

/// A series' unit: `percent`, `bytes`, `bytes_per_second`, `count`,
/// `per_second`, `celsius`, `hertz`, `seconds`, or whatever a custom stream says.
pub type Unit = Cow<'static, str>;

/// One value read by a collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Dotted series name.
    pub series: SeriesName,
    /// Unit of the value.
    pub unit: Unit,
    /// The value.
    pub value: f64,
}

/// A source that could not be read this time (counted and logged by the hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What failed, e.g. `system/meminfo` or `logs/file:/var/log/app.log`.
    pub source: String,
    /// Why.
    pub error: String,
}

/// What one collector pass (or one chunk of a stream) produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// When the readings were taken.
    pub ts: Timestamp,
    /// Values of series at `ts`.
    pub readings: Vec<Reading>,
    /// Events, each with its own time.
    pub events: Vec<Event>,
    /// Sources that failed.
    pub problems: Vec<Problem>,
}

impl Batch {
    /// An empty batch for readings taken at `ts`.
    #[must_use]
    pub fn new(ts: Timestamp) -> Self {
        Self {
            ts,
            readings: Vec::new(),
            events: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Adds a reading.
    pub fn reading(&mut self, series: SeriesName, unit: impl Into<Unit>, value: f64) {
        self.readings.push(Reading {
            series,
            unit: unit.into(),
            value,
        });
    }

    /// Adds an event.
    pub fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Records that `source` failed.
    pub fn problem(&mut self, source: impl Into<String>, error: impl ToString) {
        self.problems.push(Problem {
            source: source.into(),
            error: error.to_string(),
        });
    }

    /// Whether there is nothing in it.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty() && self.events.is_empty() && self.problems.is_empty()
    }
}

/// The sending end collectors hold. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Sink {
    tx: mpsc::Sender<Batch>,
    dropped: Arc<AtomicU64>,
    /// Samples in the dropped batches, by stream (see
    /// [`crate::telemetry::stream_of`]).
    samples_dropped: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Sink {
    /// A sink and its receiving end, holding at most `capacity` batches.
    #[must_use]
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<Batch>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Self {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
                samples_dropped: Arc::default(),
            },
            rx,
        )
    }

    /// Hands a batch over without waiting; drops it (and counts) when full.
    pub fn send(&self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        if let Err(err) = self.tx.try_send(batch) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            let batch = match err {
                mpsc::error::TrySendError::Full(b) | mpsc::error::TrySendError::Closed(b) => b,
            };
            // Off the fast path: only a batch that is being dropped is counted.
            if let Ok(mut by_stream) = self.samples_dropped.lock() {
                for r in &batch.readings {
                    *by_stream
                        .entry(crate::telemetry::stream_of(r.series.as_str()))
                        .or_default() += 1;
                }
            }
        }
    }

    /// Samples lost in dropped batches so far, by stream.
    #[must_use]
    pub fn samples_dropped_by_stream(&self) -> BTreeMap<String, u64> {
        self.samples_dropped
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Batches dropped so far because the hub was behind (or gone).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Tells collectors to stop. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

/// Raises the [`Stop`] flag.
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

impl Stop {
    /// A stop flag and the handle that raises it.
    #[must_use]
    pub fn new() -> (StopHandle, Self) {
        let (tx, rx) = watch::channel(false);
        (StopHandle(tx), Self(rx))
    }

    /// Whether stop was requested (for threads).
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when stop is requested (for tasks).
    pub async fn stopped(&mut self) {
        self.0.wait_for(|s| *s).await.ok();
    }
}

impl StopHandle {
    /// Asks every collector to stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_sink_drops_and_counts_instead_of_blocking() {
        let (sink, mut rx) = Sink::channel(2);
        let mut b = Batch::new(Timestamp::from_unix_millis(0));
        b.problem("x", "y");
        for _ in 0..5 {
            sink.send(b.clone());
        }
        assert_eq!(sink.dropped(), 3);
        assert!(rx.try_recv().is_ok());
        sink.send(Batch::new(Timestamp::from_unix_millis(0)));
        assert_eq!(sink.dropped(), 3, "empty batches are not sent at all");
    }

    #[test]
    fn dropped_samples_are_counted_by_stream() {
        let (sink, _rx) = Sink::channel(1);
        let mut b = Batch::new(Timestamp::from_unix_millis(0));
        b.reading(
            SeriesName::new("cpu.total.busy_pct").unwrap(),
            "percent",
            1.0,
        );
        b.reading(
            SeriesName::new("robot.arm.torque").unwrap(),
            "newton_metre",
            2.0,
        );
        b.reading(SeriesName::new("robot.arm.speed").unwrap(), "m_per_s", 3.0);
        sink.send(b.clone()); // fits
        sink.send(b.clone()); // dropped
        sink.send(b); // dropped
        let by_stream = sink.samples_dropped_by_stream();
        assert_eq!(by_stream.get("custom"), Some(&4), "{by_stream:?}");
        assert_eq!(by_stream.values().sum::<u64>(), 6);
        assert_eq!(
            by_stream.len(),
            2,
            "cpu.* has its own collector stream: {by_stream:?}"
        );
    }

    #[tokio::test]
    async fn stop_reaches_threads_and_tasks() {
        let (handle, mut stop) = Stop::new();
        assert!(!stop.is_stopped());
        handle.stop();
        stop.stopped().await;
        assert!(stop.is_stopped());
    }
}
