//! Typed events: what the watchdog did, kept in a bounded in-memory ring
//! and handed to the [`Notifier`](crate::Notifier).

use std::{collections::VecDeque, path::PathBuf};

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Metric;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A metric breached and diagnostics were captured (`capture` names
    /// the directory). Notified.
    Capture,
    /// A metric breached but did not capture: a warn-only metric, or a
    /// capture kind in its cooldown (once per cooldown), or capturing has
    /// stopped. Under the warning budget. Notified.
    Warning,
    /// A file that was still pending in a capture (the CPU profile) was
    /// written, or could not be. Not notified.
    CaptureUpdated,
    /// A scheduled baseline was captured. Not notified.
    Baseline,
    /// A contention diagnostic started, or finished (`capture` set). The
    /// finished one is notified.
    Contention,
    /// Something inside the watchdog failed (capturing stopped, a metric
    /// unreadable, a notifier failed). Notified when capturing stopped.
    Error,
    /// The program panicked; a crash artefact was written. Only in the
    /// crash artefact's `events.json` and the history.
    Panic,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Numbers the events of this watchdog from 1.
    pub seq: u64,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The metric, for breaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// The metric's value, in its unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold it passed, in its unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The capture directory (absolute when the watchdog directory is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<PathBuf>,
    /// One sentence for people, quoting the values.
    pub message: String,
}

impl Event {
    /// An event with only a kind and a message (`seq` and `at` are set by the ring).
    pub(crate) fn new(kind: EventKind, message: impl Into<String>) -> Self {
        Self {
            seq: 0,
            at: Timestamp::default(),
            kind,
            metric: None,
            value: None,
            threshold: None,
            capture: None,
            message: message.into(),
        }
    }
}

/// The last `capacity` events.
#[derive(Debug)]
pub(crate) struct EventRing {
    events: VecDeque<Event>,
    capacity: usize,
    next_seq: u64,
}

impl EventRing {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            next_seq: 1,
        }
    }

    /// Numbers, stamps and keeps `event`, dropping the oldest when full;
    /// returns the stored copy.
    pub(crate) fn push(&mut self, mut event: Event, at: Timestamp) -> Event {
        event.seq = self.next_seq;
        event.at = at;
        self.next_seq += 1;
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        event
    }

    /// Every kept event, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<Event> {
        self.events.iter().cloned().collect()
    }

    /// The last `n` events, oldest first.
    pub(crate) fn last(&self, n: usize) -> Vec<Event> {
        let skip = self.events.len().saturating_sub(n);
        self.events.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_bounded_and_numbers_events() {
        let mut ring = EventRing::new(3);
        for i in 0..5 {
            ring.push(
                Event::new(EventKind::Warning, format!("w{i}")),
                Timestamp::from_unix_millis(i),
            );
        }
        let kept = ring.snapshot();
        assert_eq!(kept.len(), 3);
        assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(ring.last(1)[0].message, "w4");
        let json = serde_json::to_string(&kept[0]).unwrap();
        assert!(json.contains(r#""kind":"warning""#), "{json}");
        assert!(!json.contains("capture"), "{json}");
    }
}
