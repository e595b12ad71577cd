//! Node liveness from `heartbeat` messages.
//!
//! A node is alive until its last heartbeat's TTL runs out; then it is
//! missing (`node_missing`, error) until the next heartbeat (`node_seen`).
//! Missing nodes keep reading 0; when the table is full, the node missing
//! the longest makes room for a new one.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use rewind_model::{Event, EventKind, Level, SeriesName, Timestamp};

use super::{protocol::Refusal, topics::stem};
use crate::collect::Batch;

/// Source of the events derived from heartbeats.
const SOURCE: &str = "socket";

/// All nodes heard from.
#[derive(Debug)]
pub(super) struct Nodes {
    by_stem: HashMap<String, Node>,
    max: usize,
}

#[derive(Debug)]
struct Node {
    /// The name as first sent.
    name: String,
    series: SeriesName,
    ttl: Duration,
    deadline: Instant,
    alive: bool,
    /// When it went missing (for eviction and the `node_seen` message).
    missing_since: Option<Instant>,
}

impl Node {
    fn new(name: &str, stem: &str, now: Instant) -> Result<Self, Refusal> {
        let series = SeriesName::new(format!("node.{stem}.alive"))
            .map_err(|e| Refusal::new("invalid_message", e.to_string()))?;
        let (ttl, deadline) = (Duration::ZERO, now);
        Ok(Self {
            name: name.to_owned(),
            series,
            ttl,
            deadline,
            alive: false,
            missing_since: None,
        })
    }
}

impl Nodes {
    /// At most `max` nodes.
    pub(super) fn new(max: usize) -> Self {
        Self {
            by_stem: HashMap::new(),
            max,
        }
    }

    /// A heartbeat from `name` at `now` (wall clock `ts`): `node_seen` when
    /// the node is new or was missing.
    pub(super) fn heartbeat(
        &mut self,
        name: &str,
        ttl: Duration,
        now: Instant,
        ts: Timestamp,
    ) -> Result<Option<Event>, Refusal> {
        let stem = stem(name);
        if !self.by_stem.contains_key(&stem) {
            self.make_room(name)?;
            self.by_stem
                .insert(stem.clone(), Node::new(name, &stem, now)?);
        }
        let Some(node) = self.by_stem.get_mut(&stem) else {
            return Ok(None);
        };
        node.ttl = ttl;
        node.deadline = now + ttl;
        if node.alive {
            return Ok(None);
        }
        node.alive = true;
        let message = match node.missing_since.take() {
            Some(since) => {
                let secs = now.saturating_duration_since(since).as_secs_f64();
                format!("node `{}` is back after {secs:.1} s missing", node.name)
            }
            None => format!("node `{}` seen", node.name),
        };
        let event = Event::new(ts, SOURCE, EventKind::NodeSeen, Level::Info, message)
            .with("node", &node.name)
            .with("ttl_s", ttl.as_secs_f64());
        Ok(Some(event))
    }

    fn make_room(&mut self, name: &str) -> Result<(), Refusal> {
        if self.by_stem.len() < self.max {
            return Ok(());
        }
        let oldest = self
            .by_stem
            .iter()
            .filter_map(|(k, n)| n.missing_since.map(|since| (since, k.clone())))
            .min();
        match oldest {
            Some((_, key)) => {
                self.by_stem.remove(&key);
                Ok(())
            }
            None => Err(Refusal::new(
                "limit",
                format!(
                    "node `{name}` refused: already tracking {} live nodes",
                    self.max
                ),
            )),
        }
    }

    /// Marks nodes whose TTL ran out by `now` as missing and returns a
    /// `node_missing` event for each, dated when the TTL ran out.
    pub(super) fn check(&mut self, now: Instant, ts: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        for node in self.by_stem.values_mut() {
            if !node.alive || now < node.deadline {
                continue;
            }
            node.alive = false;
            node.missing_since = Some(node.deadline);
            let late =
                i64::try_from(now.duration_since(node.deadline).as_nanos()).unwrap_or(i64::MAX);
            let message = format!(
                "node `{}` missed its heartbeat: nothing for {:.1} s",
                node.name,
                node.ttl.as_secs_f64()
            );
            out.push(
                Event::new(
                    ts.add_nanos(-late),
                    SOURCE,
                    EventKind::NodeMissing,
                    Level::Error,
                    message,
                )
                .with("node", &node.name)
                .with("ttl_s", node.ttl.as_secs_f64()),
            );
        }
        out.sort_by_key(|e| e.ts);
        out
    }

    /// Adds `node.<name>.alive` (1 alive, 0 missing) of every node.
    pub(super) fn emit(&self, out: &mut Batch) {
        for node in self.by_stem.values() {
            out.reading(
                node.series.clone(),
                "bool",
                if node.alive { 1.0 } else { 0.0 },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_millis(200);

    fn ts() -> Timestamp {
        Timestamp::from_unix_millis(1_000_000)
    }

    #[test]
    fn first_heartbeat_is_seen_then_a_missed_ttl_is_missing_then_back() {
        let mut n = Nodes::new(8);
        let t0 = Instant::now();
        let seen = n.heartbeat("/perception", TTL, t0, ts()).unwrap().unwrap();
        assert_eq!((seen.kind, seen.level), (EventKind::NodeSeen, Level::Info));
        assert_eq!(
            seen.fields.get("node").map(String::as_str),
            Some("/perception")
        );
        assert_eq!(
            n.heartbeat("/perception", TTL, t0 + TTL / 2, ts()).unwrap(),
            None,
            "renewal is quiet"
        );
        assert!(
            n.check(t0 + TTL, ts()).is_empty(),
            "the renewed deadline has not passed"
        );

        let missing = n.check(t0 + TTL * 2, ts());
        assert_eq!(missing.len(), 1);
        assert_eq!(
            (missing[0].kind.clone(), missing[0].level),
            (EventKind::NodeMissing, Level::Error)
        );
        assert_eq!(
            missing[0].ts,
            ts().add_nanos(-100_000_000),
            "dated when the TTL ran out"
        );
        assert!(n.check(t0 + TTL * 3, ts()).is_empty(), "reported once");
        let mut b = Batch::new(ts());
        n.emit(&mut b);
        assert_eq!(
            (b.readings[0].series.as_str(), b.readings[0].value),
            ("node./perception.alive", 0.0)
        );

        let back = n
            .heartbeat("/perception", TTL, t0 + TTL * 4, ts())
            .unwrap()
            .unwrap();
        assert_eq!(back.kind, EventKind::NodeSeen);
        assert!(back.message.contains("is back"), "{}", back.message);
    }

    #[test]
    fn a_full_table_evicts_the_longest_missing_node_or_refuses() {
        let mut n = Nodes::new(2);
        let t0 = Instant::now();
        n.heartbeat("a", TTL, t0, ts()).unwrap();
        n.heartbeat("b", TTL, t0, ts()).unwrap();
        assert_eq!(n.heartbeat("c", TTL, t0, ts()).unwrap_err().code, "limit");
        n.check(t0 + TTL, ts());
        n.heartbeat("b", TTL, t0 + TTL, ts()).unwrap();
        assert!(
            n.heartbeat("c", TTL, t0 + TTL, ts()).unwrap().is_some(),
            "a was missing: evicted"
        );
        assert!(!n.by_stem.contains_key("a"));
    }
}
