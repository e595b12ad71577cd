//! What the connections have delivered and the listener has not flushed yet.
//!
//! Connections apply their messages here (under a mutex held for
//! microseconds); the listener flushes it to the sink every 100 ms. Every
//! buffer is bounded: past a limit, readings and events are dropped and the
//! drop is reported as a problem.

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use rewind_model::{Event, SeriesName, Timestamp};

use super::{
    nodes::Nodes,
    protocol::{Item, Refusal},
    topics::Topics,
};
use crate::collect::Batch;

/// Most readings waiting for a flush.
const MAX_PENDING_READINGS: usize = 20_000;
/// Most events waiting for a flush.
const MAX_PENDING_EVENTS: usize = 2_000;
/// Most distinct timestamps (batches) per flush.
const MAX_PENDING_BATCHES: usize = 32;
/// Most distinct problem sources per flush.
const MAX_PROBLEM_SOURCES: usize = 128;

/// Shared collector state.
#[derive(Debug)]
pub(super) struct State {
    pending: Vec<Batch>,
    /// Index in `pending` of the batch for readings without `ts`, and its series.
    open: Option<(usize, HashSet<SeriesName>)>,
    readings: usize,
    events: usize,
    /// Problems since the last flush: source → (count, last error).
    problems: BTreeMap<String, (u64, String)>,
    topics: Topics,
    nodes: Nodes,
    interval: Duration,
    next_emit: Option<Instant>,
}

impl State {
    /// Topic and node series every `interval`, topic rates over `window`.
    pub(super) fn new(
        interval: Duration,
        window: Duration,
        max_topics: usize,
        max_nodes: usize,
    ) -> Self {
        Self {
            pending: Vec::new(),
            open: None,
            readings: 0,
            events: 0,
            problems: BTreeMap::new(),
            topics: Topics::new(window, max_topics),
            nodes: Nodes::new(max_nodes),
            interval,
            next_emit: None,
        }
    }

    /// Applies one message received at `now` (wall clock `ts`).
    pub(super) fn apply(&mut self, item: Item, now: Instant, ts: Timestamp) -> Result<(), Refusal> {
        match item {
            Item::Readings {
                ts: at,
                unit,
                values,
            } => self.readings(at, ts, &unit, values),
            Item::Event(e) => self.event(e),
            Item::Topic(r) => self.topics.report(r, now),
            Item::Heartbeat { node, ttl } => match self.nodes.heartbeat(&node, ttl, now, ts)? {
                Some(e) => self.event(e),
                None => Ok(()),
            },
        }
    }

    fn readings(
        &mut self,
        at: Option<Timestamp>,
        now: Timestamp,
        unit: &str,
        values: Vec<(SeriesName, f64)>,
    ) -> Result<(), Refusal> {
        if self.readings + values.len() > MAX_PENDING_READINGS {
            return Err(behind("readings"));
        }
        self.readings += values.len();
        for (series, value) in values {
            let batch = match at {
                Some(at) => self.batch_at(at)?,
                None => self.open_batch(&series, now)?,
            };
            batch.reading(series, unit.to_owned(), value);
        }
        Ok(())
    }

    fn event(&mut self, event: Event) -> Result<(), Refusal> {
        if self.events >= MAX_PENDING_EVENTS {
            return Err(behind("events"));
        }
        self.events += 1;
        let ts = event.ts;
        self.batch_at(ts)?.event(event);
        Ok(())
    }

    /// The pending batch at `ts`, new if needed.
    fn batch_at(&mut self, ts: Timestamp) -> Result<&mut Batch, Refusal> {
        let i = match self.pending.iter().position(|b| b.ts == ts) {
            Some(i) => i,
            None => self.push_batch(ts)?,
        };
        Ok(&mut self.pending[i])
    }

    /// The batch for readings without `ts`: opened at the first one, and
    /// reopened at `now` when a series repeats (so no sample is lost).
    fn open_batch(&mut self, series: &SeriesName, now: Timestamp) -> Result<&mut Batch, Refusal> {
        let current = match &mut self.open {
            Some((i, seen)) if !seen.contains(series) => {
                seen.insert(series.clone());
                Some(*i)
            }
            _ => None,
        };
        let i = match current {
            Some(i) => i,
            None => {
                let i = match self.pending.iter().position(|b| b.ts == now) {
                    Some(i) => i,
                    None => self.push_batch(now)?,
                };
                self.open = Some((i, HashSet::from([series.clone()])));
                i
            }
        };
        self.pending.get_mut(i).ok_or_else(|| behind("readings"))
    }

    fn push_batch(&mut self, ts: Timestamp) -> Result<usize, Refusal> {
        if self.pending.len() >= MAX_PENDING_BATCHES {
            return Err(behind("distinct timestamps"));
        }
        self.pending.push(Batch::new(ts));
        Ok(self.pending.len() - 1)
    }

    /// Counts a refused line or a connection failure of `source`.
    pub(super) fn problem(&mut self, source: &str, error: impl Into<String>) {
        if let Some(p) = self.problems.get_mut(source) {
            p.0 += 1;
            p.1 = error.into();
        } else if self.problems.len() < MAX_PROBLEM_SOURCES {
            self.problems.insert(source.to_owned(), (1, error.into()));
        }
    }

    /// Everything to hand to the sink at `now` (wall clock `ts`): pending
    /// batches in time order, heartbeat expiries, and — every interval —
    /// topic and node series. Problems ride on the last batch.
    pub(super) fn flush(&mut self, now: Instant, ts: Timestamp) -> Vec<Batch> {
        for e in self.nodes.check(now, ts) {
            let at = e.ts;
            // Bypasses the event limit: expiries are few (one per node) and must not be lost.
            if let Ok(b) = self.batch_at(at) {
                b.event(e);
            } else if let Some(b) = self.pending.last_mut() {
                b.event(e);
            }
        }
        let mut out = std::mem::take(&mut self.pending);
        (self.open, self.readings, self.events) = (None, 0, 0);
        if self.next_emit.is_none_or(|t| now >= t) {
            self.next_emit = Some(now + self.interval);
            let mut periodic = Batch::new(ts);
            self.topics.emit(now, &mut periodic);
            self.nodes.emit(&mut periodic);
            out.push(periodic);
        }
        out.sort_by_key(|b| b.ts);
        let mut problems = Batch::new(ts);
        for (source, (count, last)) in std::mem::take(&mut self.problems) {
            let error = if count == 1 {
                last
            } else {
                format!("{count} times, last: {last}")
            };
            problems.problem(source, error);
        }
        match out.last_mut() {
            Some(last) => last.problems.append(&mut problems.problems),
            None => out.push(problems),
        }
        out.retain(|b| !b.is_empty());
        out
    }
}

fn behind(what: &str) -> Refusal {
    Refusal::new(
        "limit",
        format!("too many pending {what}: the agent is behind, message dropped"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(Duration::from_secs(1), Duration::from_secs(2), 8, 8)
    }

    fn readings(names: &[&str], at: Option<Timestamp>) -> Item {
        let values = names
            .iter()
            .map(|n| (SeriesName::new(*n).unwrap(), 1.0))
            .collect();
        Item::Readings {
            ts: at,
            unit: "count".into(),
            values,
        }
    }

    #[test]
    fn readings_without_ts_share_a_batch_until_a_series_repeats() {
        let mut s = state();
        let (now, t1, t2) = (
            Instant::now(),
            Timestamp::from_unix_millis(1000),
            Timestamp::from_unix_millis(1010),
        );
        s.apply(readings(&["a", "b"], None), now, t1).unwrap();
        s.apply(readings(&["c"], None), now, t2).unwrap();
        s.apply(readings(&["a"], None), now, t2).unwrap();
        s.apply(
            readings(&["x"], Some(Timestamp::from_unix_millis(500))),
            now,
            t2,
        )
        .unwrap();
        let out = s.flush(now, t2);
        let shape: Vec<_> = out
            .iter()
            .map(|b| (b.ts.as_unix_millis(), b.readings.len()))
            .collect();
        assert_eq!(
            shape,
            vec![(500, 1), (1000, 3), (1010, 1)],
            "the periodic batch at 1010 is empty and merged away"
        );
    }

    #[test]
    fn pending_readings_are_bounded() {
        let mut s = state();
        let (now, ts) = (Instant::now(), Timestamp::from_unix_millis(0));
        let many: Vec<String> = (0..1000).map(|i| format!("s{i}")).collect();
        let names: Vec<&str> = many.iter().map(String::as_str).collect();
        let refused = (0..30)
            .filter(|_| s.apply(readings(&names, Some(ts)), now, ts).is_err())
            .count();
        assert_eq!(refused, 10);
        let mut s = state();
        let distinct = (0..40).filter(|i| {
            s.apply(
                readings(&["a"], Some(Timestamp::from_unix_millis(*i))),
                now,
                ts,
            )
            .is_err()
        });
        assert_eq!(distinct.count(), 8, "distinct timestamps are bounded too");
    }

    #[test]
    fn problems_are_aggregated_per_source_and_flushed_once() {
        let mut s = state();
        s.problem("socket/app", "bad json");
        s.problem("socket/app", "bad name");
        let out = s.flush(Instant::now(), Timestamp::from_unix_millis(0));
        let problems: Vec<_> = out.iter().flat_map(|b| b.problems.clone()).collect();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].error, "2 times, last: bad name");
        assert!(
            s.flush(Instant::now(), Timestamp::from_unix_millis(0))
                .is_empty()
        );
    }
}
