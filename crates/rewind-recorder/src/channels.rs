//! Channels: what is registered ([`ChannelSpec`]), the handle messages are
//! recorded through ([`Channel`]) and its counters ([`ChannelStats`]).
//!
//! A handle carries its MCAP channel id and an `Arc` of its counters, so
//! [`Recorder::record`](crate::Recorder::record) looks nothing up. Channel ids
//! are given in registration order from 1 and stay the same in every file of
//! a session.

use std::{
    collections::BTreeMap,
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;

use crate::{
    Error, Result,
    schemas::{Builtin, CYCLE_TOPIC},
};

/// How the writer treats a channel's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Written as it comes.
    Plain,
    /// Written as it comes, and read for `cycle_id`, `has_violation` and
    /// `has_clamp` (the `/dam/cycle` channel).
    Cycle,
    /// Held in the image ring; written only inside an event window.
    Heavy,
}

/// A channel to register: topic, JSON Schema and how it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub(crate) topic: String,
    pub(crate) schema_name: String,
    pub(crate) schema: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) role: Role,
}

impl ChannelSpec {
    /// One of the seed's channels with its built-in schema. Images are heavy.
    ///
    /// # Errors
    /// [`Error::InvalidBuiltin`] for a bad camera name or guard layer.
    pub fn builtin(builtin: Builtin<'_>) -> Result<Self> {
        let role = match builtin {
            Builtin::Cycle => Role::Cycle,
            Builtin::Image(_) => Role::Heavy,
            _ => Role::Plain,
        };
        Ok(Self {
            topic: builtin.topic()?,
            schema_name: builtin.schema_name().to_owned(),
            schema: builtin.schema().to_owned(),
            metadata: BTreeMap::new(),
            role,
        })
    }

    /// A user channel: messages are JSON, described by `json_schema` (a JSON
    /// Schema document, stored as is) named `schema_name`.
    ///
    /// # Errors
    /// [`Error::InvalidTopic`] unless the topic starts with `/`, is at most
    /// 256 bytes and has no control characters, or is `/dam/cycle`;
    /// [`Error::InvalidSchema`] unless the schema is a JSON object or boolean.
    pub fn user(
        topic: impl Into<String>,
        schema_name: impl Into<String>,
        json_schema: impl Into<String>,
    ) -> Result<Self> {
        let topic = topic.into();
        check_topic(&topic)?;
        let schema = json_schema.into();
        match serde_json::from_str::<serde_json::Value>(&schema) {
            Ok(serde_json::Value::Object(_) | serde_json::Value::Bool(_)) => {}
            Ok(_) => {
                return Err(Error::InvalidSchema {
                    topic,
                    problem: "a JSON Schema is an object or a boolean".to_owned(),
                });
            }
            Err(e) => {
                return Err(Error::InvalidSchema {
                    topic,
                    problem: e.to_string(),
                });
            }
        }
        Ok(Self {
            topic,
            schema_name: schema_name.into(),
            schema,
            metadata: BTreeMap::new(),
            role: Role::Plain,
        })
    }

    /// Marks the channel heavy: its messages wait in the image ring and are
    /// written only inside the window around a violation.
    #[must_use]
    pub fn heavy(mut self) -> Self {
        self.role = Role::Heavy;
        self
    }

    /// Adds a key to the MCAP channel record's metadata.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Whether the channel's messages go through the image ring.
    pub fn is_heavy(&self) -> bool {
        self.role == Role::Heavy
    }
}

fn check_topic(topic: &str) -> Result<()> {
    let problem = if !topic.starts_with('/') || topic.len() < 2 {
        Some("a topic starts with `/` and names something")
    } else if topic.len() > 256 {
        Some("a topic has at most 256 bytes")
    } else if topic.chars().any(char::is_control) {
        Some("a topic has no control characters")
    } else if topic == CYCLE_TOPIC {
        Some("`/dam/cycle` is built in: register `Builtin::Cycle`")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::InvalidTopic {
            topic: topic.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

/// A channel's MCAP id, the same in every file of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ChannelId(pub(crate) u16);

impl ChannelId {
    /// The MCAP channel id.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The handle a channel is recorded through. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Channel {
    pub(crate) id: ChannelId,
    pub(crate) state: Arc<ChannelState>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("topic", &self.state.topic)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The channel's topic.
    pub fn topic(&self) -> &str {
        &self.state.topic
    }

    /// The channel's counters so far.
    pub fn stats(&self) -> ChannelStats {
        self.state.snapshot()
    }
}

/// Counters shared by a channel's handles and the writer thread.
#[derive(Debug)]
pub(crate) struct ChannelState {
    pub(crate) topic: String,
    /// Accepted into the queue.
    pub(crate) queued: AtomicU64,
    /// Refused because the queue was full or the writer had stopped.
    pub(crate) dropped: AtomicU64,
    /// Written to a file.
    pub(crate) written: AtomicU64,
    /// Heavy messages that left the ring without an event window.
    pub(crate) discarded: AtomicU64,
    /// Lost by the writer (a file could not be written).
    pub(crate) lost: AtomicU64,
    /// When the last queue-full warning was logged, in nanoseconds since
    /// the recorder started; `u64::MAX` for never.
    pub(crate) last_warning: AtomicU64,
}

impl ChannelState {
    pub(crate) fn new(topic: String) -> Self {
        Self {
            topic,
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            last_warning: AtomicU64::new(u64::MAX),
        }
    }

    pub(crate) fn snapshot(&self) -> ChannelStats {
        ChannelStats {
            topic: self.topic.clone(),
            queued: self.queued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }
}

/// One channel's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelStats {
    /// The topic.
    pub topic: String,
    /// Records accepted into the queue.
    pub queued: u64,
    /// Records dropped by `record()` because the queue was full (or the
    /// writer had stopped).
    pub dropped: u64,
    /// Messages written to a file.
    pub written: u64,
    /// Heavy messages that aged out of the image ring (or were still in it
    /// at close) without an event window: by design, not a loss.
    pub discarded: u64,
    /// Messages the writer could not write (disk full, permissions, …).
    pub lost: u64,
}

/// Whether a queue-full warning is due: true at most once per `every_ns`,
/// for exactly one of the threads that race here.
pub(crate) fn warning_due(last: &AtomicU64, now_ns: u64, every_ns: u64) -> bool {
    let previous = last.load(Ordering::Relaxed);
    if previous != u64::MAX && now_ns.saturating_sub(previous) < every_ns {
        return false;
    }
    last.compare_exchange(previous, now_ns, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_rate_limited() {
        let last = AtomicU64::new(u64::MAX);
        let every = 5_000;
        assert!(warning_due(&last, 10, every));
        assert!(!warning_due(&last, 11, every));
        assert!(!warning_due(&last, 5_009, every));
        assert!(warning_due(&last, 5_010, every));
        assert!(!warning_due(&last, 6_000, every));
    }

    #[test]
    fn user_channels_need_a_topic_and_a_json_schema() {
        assert!(ChannelSpec::user("/my/topic", "my.T", r#"{"type":"object"}"#).is_ok());
        assert!(ChannelSpec::user("/my/topic", "my.T", "true").is_ok());
        assert!(matches!(
            ChannelSpec::user("my/topic", "my.T", "{}"),
            Err(Error::InvalidTopic { .. })
        ));
        assert!(matches!(
            ChannelSpec::user("/dam/cycle", "my.T", "{}"),
            Err(Error::InvalidTopic { .. })
        ));
        assert!(matches!(
            ChannelSpec::user("/a\n", "my.T", "{}"),
            Err(Error::InvalidTopic { .. })
        ));
        assert!(matches!(
            ChannelSpec::user("/my/topic", "my.T", "[1]"),
            Err(Error::InvalidSchema { .. })
        ));
        assert!(matches!(
            ChannelSpec::user("/my/topic", "my.T", "{"),
            Err(Error::InvalidSchema { .. })
        ));
    }

    #[test]
    fn images_are_heavy_and_cycles_are_read() {
        assert!(
            ChannelSpec::builtin(Builtin::Image("top"))
                .unwrap()
                .is_heavy()
        );
        assert_eq!(
            ChannelSpec::builtin(Builtin::Cycle).unwrap().role,
            Role::Cycle
        );
        assert!(!ChannelSpec::builtin(Builtin::Guard(1)).unwrap().is_heavy());
    }
}
