//! The wire format: one JSON object per line, parsed into [`Item`]s.
//!
//! Everything a client can send is checked here (names, units, timestamps,
//! sizes) so the rest of the collector only sees valid, bounded values. The
//! format is documented in `docs/agent-protocol.md`.

use std::{collections::BTreeMap, time::Duration};

use rewind_model::{Event, EventKind, Level, SeriesName, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// Most values in one `metric` message (`values` form).
pub(super) const MAX_VALUES: usize = 1000;
/// Most `fields` in one event.
const MAX_FIELDS: usize = 64;
/// Longest event kind, event source, topic, node or field key.
const MAX_NAME: usize = 128;
/// Longest unit.
const MAX_UNIT: usize = 32;
/// How far ahead of the agent's clock a `ts` may be.
const MAX_AHEAD: Duration = Duration::from_secs(5);
/// How far behind the agent's clock a `ts` may be.
const MAX_BEHIND: Duration = Duration::from_secs(600);
/// Heartbeat TTL bounds and default.
const MIN_TTL: Duration = Duration::from_millis(50);
const MAX_TTL: Duration = Duration::from_secs(3600);
const DEFAULT_TTL: Duration = Duration::from_secs(3);
/// Largest `count` in a `topic` message.
const MAX_COUNT: u64 = 1_000_000_000;
/// Longest refusal message.
const MAX_MESSAGE: usize = 300;
/// Series prefixes this collector derives itself; `metric` messages may not use them.
const RESERVED: [&str; 2] = ["topic.", "node."];

/// Why a line was refused: a stable code (sent back to the client) and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// `invalid_json`, `invalid_message`, `line_too_long`, `rate_limited`, `limit`, …
    pub code: &'static str,
    /// What was wrong, naming the offending value.
    pub message: String,
}

impl Refusal {
    /// A refusal; the message is cut to 300 characters (it may quote client input).
    pub(super) fn new(code: &'static str, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        Self { code, message }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_message", message)
    }
}

/// One valid message.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    /// Values of custom series; `ts` is `None` for "now".
    Readings {
        ts: Option<Timestamp>,
        unit: String,
        values: Vec<(SeriesName, f64)>,
    },
    /// A custom event (its time already filled in).
    Event(Event),
    /// A topic report.
    Topic(TopicReport),
    /// A node heartbeat.
    Heartbeat { node: String, ttl: Duration },
}

/// What a client says about one topic.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TopicReport {
    /// The topic as sent (`/camera/rgb`).
    pub topic: String,
    /// Messages since this client's previous report of the topic.
    pub count: Option<u64>,
    /// Current number of publishers.
    pub publishers: Option<u32>,
    /// When the client counted (only differences between reports are used).
    pub ts: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    Metric(MetricMsg),
    Event(EventMsg),
    Topic(TopicMsg),
    Heartbeat(HeartbeatMsg),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricMsg {
    name: Option<String>,
    value: Option<f64>,
    prefix: Option<String>,
    values: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    unit: String,
    ts: Option<WireTs>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventMsg {
    kind: String,
    level: Option<Level>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    source: Option<String>,
    ts: Option<WireTs>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicMsg {
    topic: String,
    count: Option<u64>,
    publishers: Option<u32>,
    ts: Option<WireTs>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatMsg {
    node: String,
    ttl_s: Option<f64>,
}

/// `"ts"`: RFC 3339 text or Unix seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireTs {
    Secs(f64),
    Text(String),
}

/// Parses one line (without its newline). Blank lines are `Ok(None)`.
/// `now` fills missing event times and bounds client timestamps; `peer`
/// is the source of events that do not name one.
pub(super) fn parse(line: &[u8], now: Timestamp, peer: &str) -> Result<Option<Item>, Refusal> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let wire: Wire = serde_json::from_slice(line).map_err(|e| {
        let code = if e.is_data() {
            "invalid_message"
        } else {
            "invalid_json"
        };
        Refusal::new(code, e.to_string())
    })?;
    let item = match wire {
        Wire::Metric(m) => metric(m, now)?,
        Wire::Event(e) => Item::Event(event(e, now, peer)?),
        Wire::Topic(t) => Item::Topic(topic(t, now)?),
        Wire::Heartbeat(h) => heartbeat(h)?,
    };
    Ok(Some(item))
}

fn metric(m: MetricMsg, now: Timestamp) -> Result<Item, Refusal> {
    let ts = m.ts.map(|t| client_ts(t, now, true)).transpose()?;
    let unit = unit(m.unit)?;
    let values = match (m.name, m.value, m.values) {
        (Some(name), Some(value), None) if m.prefix.is_none() => vec![(series(name)?, value)],
        (None, None, Some(values)) => {
            if values.is_empty() || values.len() > MAX_VALUES {
                return Err(Refusal::invalid(format!(
                    "`values` must hold 1 to {MAX_VALUES} entries"
                )));
            }
            let prefix = m.prefix.map(|p| format!("{p}.")).unwrap_or_default();
            values
                .into_iter()
                .map(|(k, v)| Ok((series(format!("{prefix}{k}"))?, v)))
                .collect::<Result<_, Refusal>>()?
        }
        _ => {
            return Err(Refusal::invalid(
                "a metric has either `name` and `value`, or `values` (and optionally `prefix`)",
            ));
        }
    };
    Ok(Item::Readings { ts, unit, values })
}

fn series(name: String) -> Result<SeriesName, Refusal> {
    if let Some(p) = RESERVED.iter().find(|p| name.starts_with(**p)) {
        return Err(Refusal::invalid(format!(
            "series `{name}`: the prefix `{p}` is reserved for `topic` and `heartbeat` messages"
        )));
    }
    SeriesName::new(name).map_err(|e| Refusal::invalid(e.to_string()))
}

fn unit(unit: String) -> Result<String, Refusal> {
    let ok = unit.len() <= MAX_UNIT
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'%' | b'.' | b'-'));
    if ok {
        Ok(unit)
    } else {
        Err(Refusal::invalid(format!(
            "unit `{unit}`: at most {MAX_UNIT} characters of letters, digits and `_/%.-`"
        )))
    }
}

fn event(e: EventMsg, now: Timestamp, peer: &str) -> Result<Event, Refusal> {
    let ts =
        e.ts.map(|t| client_ts(t, now, true))
            .transpose()?
            .unwrap_or(now);
    name_like("kind", &e.kind)?;
    let kind = serde_json::from_value::<EventKind>(Value::String(e.kind.clone()))
        .unwrap_or(EventKind::Custom(e.kind.clone()));
    let source = match e.source {
        Some(s) => {
            name_like("source", &s)?;
            format!("socket/{s}")
        }
        None => peer.to_owned(),
    };
    if e.fields.len() > MAX_FIELDS {
        return Err(Refusal::invalid(format!("at most {MAX_FIELDS} `fields`")));
    }
    let message = if e.message.is_empty() {
        e.kind
    } else {
        e.message
    };
    let mut out = Event::new(ts, source, kind, e.level.unwrap_or(Level::Info), message);
    for (key, value) in e.fields {
        name_like("field", &key)?;
        let text = match value {
            Value::String(s) => s,
            Value::Null => continue,
            other => other.to_string(),
        };
        out.fields.insert(key, text);
    }
    Ok(out)
}

fn topic(t: TopicMsg, now: Timestamp) -> Result<TopicReport, Refusal> {
    name_like("topic", &t.topic)?;
    if t.count.is_some_and(|c| c > MAX_COUNT) {
        return Err(Refusal::invalid(format!(
            "`count` must be at most {MAX_COUNT}"
        )));
    }
    let ts = t.ts.map(|ts| client_ts(ts, now, false)).transpose()?;
    Ok(TopicReport {
        topic: t.topic,
        count: t.count,
        publishers: t.publishers,
        ts,
    })
}

fn heartbeat(h: HeartbeatMsg) -> Result<Item, Refusal> {
    name_like("node", &h.node)?;
    let ttl = match h.ttl_s {
        None => DEFAULT_TTL,
        Some(s) => Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| (MIN_TTL..=MAX_TTL).contains(d))
            .ok_or_else(|| Refusal::invalid(format!("`ttl_s` {s} is outside 0.05..=3600")))?,
    };
    Ok(Item::Heartbeat { node: h.node, ttl })
}

/// Kinds, sources, topics, nodes and keys: 1–128 printable ASCII characters, no spaces.
fn name_like(what: &str, s: &str) -> Result<(), Refusal> {
    if !s.is_empty() && s.len() <= MAX_NAME && s.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Refusal::invalid(format!(
            "{what} `{s}`: 1 to {MAX_NAME} printable ASCII characters without spaces"
        )))
    }
}

/// A client timestamp; with `bounded`, refused when too far from `now`.
fn client_ts(ts: WireTs, now: Timestamp, bounded: bool) -> Result<Timestamp, Refusal> {
    let parsed = match ts {
        WireTs::Text(s) => Timestamp::parse_rfc3339(&s).map_err(Refusal::invalid)?,
        WireTs::Secs(s) if s.is_finite() && s.abs() < 9.0e9 => {
            #[allow(clippy::cast_possible_truncation)] // bounded just above
            Timestamp::from_unix_nanos((s * 1e9) as i64)
        }
        WireTs::Secs(s) => return Err(Refusal::invalid(format!("`ts` {s} is not Unix seconds"))),
    };
    let ahead = parsed.nanos_since(now);
    let ok = !bounded || (ahead <= nanos(MAX_AHEAD) && -ahead <= nanos(MAX_BEHIND));
    if ok {
        Ok(parsed)
    } else {
        Err(Refusal::invalid(format!(
            "`ts` {parsed} is more than 5 s ahead of or 10 min behind the agent's clock ({now})"
        )))
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
