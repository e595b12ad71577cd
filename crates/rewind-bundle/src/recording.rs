//! `recording.mcap`: the bundle's series and events as MCAP channels with
//! JSON messages and JSON Schemas, so Foxglove and the `mcap` tools open it.
//!
//! Channels (message encoding `json`, schema encoding `jsonschema`):
//! - `/metrics/<series name>`, schema `rewind.Sample`: `{"value": 12.5}`, or
//!   `{"nonfinite": "NaN"}` (`inf`, `-inf`) for what JSON cannot hold; one
//!   message per sample; channel metadata `unit`;
//! - `/events`, schema `rewind.Event`: every event, with the fields of
//!   `events.jsonl` in the shapes Foxglove's JSON Schema support can display
//!   (`timestamp {sec, nsec}` added, `kind` as text such as `custom:x`,
//!   `fields` as a list of `{key, value}`);
//! - `/logs`, schema `foxglove.Log`: the log events again, for Foxglove's Log
//!   panel.
//!
//! Messages are written in time order (log time = publish time = the
//! sample's or event's Unix nanoseconds; times before 1970, which MCAP cannot
//! hold, are written as 0), in zstd-compressed chunks with CRCs, indexes and
//! statistics. A metadata record `rewind` names the bundle, device and rule.

use std::{collections::BTreeMap, io::Cursor};

use mcap::{WriteOptions, records::MessageHeader};
use rewind_model::{Event, Level, Timestamp};
use serde::Serialize;

use crate::{
    BundleInput, Error, FORMAT_VERSION, RECORDING_PATH, Result, logs::level_name,
    manifest::RecordingEntry,
};

mod verify;

pub(crate) use verify::verify;

/// Topic of the events channel.
pub const EVENTS_TOPIC: &str = "/events";
/// Topic of the log channel (Foxglove `foxglove.Log`).
pub const LOGS_TOPIC: &str = "/logs";
/// Prefix of the series channels: `/metrics/<series name>`.
pub const SERIES_TOPIC_PREFIX: &str = "/metrics/";
/// Name of the MCAP metadata record describing the bundle.
pub const METADATA_NAME: &str = "rewind";

/// Uncompressed bytes a chunk may hold before the next one starts.
const CHUNK_BYTES: u64 = 4 * 1024 * 1024;

/// Schema of the series channels.
const SAMPLE_SCHEMA: &str = include_str!("recording/sample.schema.json");
/// Schema of the events channel.
const EVENT_SCHEMA: &str = include_str!("recording/event.schema.json");
/// Foxglove's `foxglove.Log` schema.
const LOG_SCHEMA: &str = include_str!("recording/foxglove-log.schema.json");

#[derive(Serialize)]
struct SampleMsg {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonfinite: Option<&'static str>,
}

impl SampleMsg {
    fn of(v: f64) -> Self {
        let nonfinite = if v.is_nan() {
            Some("NaN")
        } else if v == f64::INFINITY {
            Some("inf")
        } else if v == f64::NEG_INFINITY {
            Some("-inf")
        } else {
            None
        };
        Self {
            value: nonfinite.is_none().then_some(v),
            nonfinite,
        }
    }
}

#[derive(Serialize)]
struct EventMsg<'a> {
    timestamp: Time,
    ts: Timestamp,
    source: &'a str,
    kind: String,
    level: &'static str,
    message: &'a str,
    fields: Vec<Field<'a>>,
}

#[derive(Serialize)]
struct Field<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct Time {
    sec: u64,
    nsec: u32,
}

impl Time {
    fn of(ts: Timestamp) -> Self {
        let nanos = log_time(ts.as_unix_nanos());
        Self {
            sec: nanos / 1_000_000_000,
            nsec: u32::try_from(nanos % 1_000_000_000).unwrap_or(0),
        }
    }
}

#[derive(Serialize)]
struct LogMsg<'a> {
    timestamp: Time,
    level: u8,
    message: &'a str,
    name: &'a str,
    file: &'a str,
    line: u32,
}

/// Foxglove's log levels: 1 debug, 2 info, 3 warning, 4 error, 5 fatal.
const fn foxglove_level(level: Level) -> u8 {
    match level {
        Level::Debug => 1,
        Level::Info | Level::Notice => 2,
        Level::Warning => 3,
        Level::Error => 4,
        Level::Critical => 5,
    }
}

/// MCAP time of a Unix-nanosecond instant (0 before 1970).
fn log_time(nanos: i64) -> u64 {
    u64::try_from(nanos).unwrap_or(0)
}

/// One message to write: its time, its channel index and what it carries.
#[derive(Clone, Copy)]
enum Item<'a> {
    Sample(f64),
    Event(&'a Event),
    Log(&'a Event),
}

/// Writes the recording into memory; returns its bytes and manifest entry.
///
/// `events` are the bundle's events in time order; `logs` says which of them
/// are log lines.
pub(crate) fn write_recording(
    input: &BundleInput<'_>,
    events: &[&Event],
    is_log: impl Fn(&Event) -> bool,
) -> Result<(Vec<u8>, RecordingEntry)> {
    let options = WriteOptions::new()
        .compression(Some(mcap::Compression::Zstd))
        .compression_threads(0)
        // zstd's fastest level: the recording is written at the breach, on
        // the robot, and level 3 saved under 4 % (`rewind bench capture`).
        .compression_level(1)
        // A 60 s window of the default collectors fits one chunk.
        .chunk_size(Some(CHUNK_BYTES))
        // No message indexes: at 16 bytes a message, uncompressed, they were
        // three quarters of the file; readers (the `mcap` tools, Foxglove,
        // Python's `mcap`) read a chunk whole without them, found by the
        // chunk indexes and statistics, which are kept.
        .emit_message_indexes(false)
        .library(format!("rewind-bundle {}", env!("CARGO_PKG_VERSION")));
    let mut w = options.create(Cursor::new(Vec::new())).map_err(mcap_err)?;
    let sample = w
        .add_schema("rewind.Sample", "jsonschema", SAMPLE_SCHEMA.as_bytes())
        .map_err(mcap_err)?;
    let event = w
        .add_schema("rewind.Event", "jsonschema", EVENT_SCHEMA.as_bytes())
        .map_err(mcap_err)?;
    let log = w
        .add_schema("foxglove.Log", "jsonschema", LOG_SCHEMA.as_bytes())
        .map_err(mcap_err)?;
    let mut channels = Vec::with_capacity(input.series.len() + 2);
    for s in input.series {
        let meta = BTreeMap::from([("unit".to_owned(), s.unit.clone())]);
        let topic = format!("{SERIES_TOPIC_PREFIX}{}", s.name);
        channels.push(
            w.add_channel(sample, &topic, "json", &meta)
                .map_err(mcap_err)?,
        );
    }
    let none = BTreeMap::new();
    channels.push(
        w.add_channel(event, EVENTS_TOPIC, "json", &none)
            .map_err(mcap_err)?,
    );
    channels.push(
        w.add_channel(log, LOGS_TOPIC, "json", &none)
            .map_err(mcap_err)?,
    );

    let (events_index, logs_index) = (channels.len() - 2, channels.len() - 1);
    // (time, index into `channels`, what to write), in time order; a
    // channel's messages at one instant keep their order (`sort_by_key` is
    // stable; the samples of a series are already in time order).
    let mut items: Vec<(i64, usize, Item<'_>)> = Vec::with_capacity(
        input.series.iter().map(|s| s.samples.len()).sum::<usize>() + events.len() * 2,
    );
    for (index, s) in input.series.iter().enumerate() {
        items.extend(
            s.samples
                .iter()
                .map(|x| (x.ts.as_unix_nanos(), index, Item::Sample(x.value))),
        );
    }
    for &e in events {
        items.push((e.ts.as_unix_nanos(), events_index, Item::Event(e)));
        if is_log(e) {
            items.push((e.ts.as_unix_nanos(), logs_index, Item::Log(e)));
        }
    }
    items.sort_by_key(|&(t, index, _)| (t, index));

    let mut sequences = vec![0_u32; channels.len()];
    let mut data = Vec::with_capacity(256);
    for &(nanos, index, item) in &items {
        data.clear();
        encode(&mut data, item)?;
        let (Some(&channel_id), Some(sequence)) = (channels.get(index), sequences.get_mut(index))
        else {
            continue; // unreachable: every index comes from `channels`
        };
        *sequence = sequence.wrapping_add(1);
        let header = MessageHeader {
            channel_id,
            sequence: *sequence,
            log_time: log_time(nanos),
            publish_time: log_time(nanos),
        };
        w.write_to_known_channel(&header, &data).map_err(mcap_err)?;
    }
    w.write_metadata(&metadata(input)).map_err(mcap_err)?;
    w.finish().map_err(mcap_err)?;
    let bytes = w.into_inner().into_inner();
    let entry = RecordingEntry {
        path: RECORDING_PATH.to_owned(),
        channels: u64::try_from(channels.len()).unwrap_or(u64::MAX),
        messages: u64::try_from(items.len()).unwrap_or(u64::MAX),
        compression: "zstd".to_owned(),
    };
    Ok((bytes, entry))
}

fn encode(out: &mut Vec<u8>, item: Item<'_>) -> Result<()> {
    let written = match item {
        Item::Sample(value) if value.is_finite() => {
            // `{"value":12.5}` without serde: one of these per sample.
            out.extend_from_slice(b"{\"value\":");
            crate::csv::push_value(out, value);
            out.push(b'}');
            Ok(())
        }
        Item::Sample(value) => serde_json::to_writer(&mut *out, &SampleMsg::of(value)),
        Item::Event(e) => serde_json::to_writer(
            &mut *out,
            &EventMsg {
                timestamp: Time::of(e.ts),
                ts: e.ts,
                source: &e.source,
                kind: e.kind.to_string(),
                level: level_name(e.level),
                message: &e.message,
                fields: e
                    .fields
                    .iter()
                    .map(|(key, value)| Field { key, value })
                    .collect(),
            },
        ),
        Item::Log(e) => serde_json::to_writer(
            &mut *out,
            &LogMsg {
                timestamp: Time::of(e.ts),
                level: foxglove_level(e.level),
                message: &e.message,
                name: &e.source,
                file: "",
                line: 0,
            },
        ),
    };
    written.map_err(|e| Error::input(e.to_string()))
}

fn metadata(input: &BundleInput<'_>) -> mcap::records::Metadata {
    let mut m = BTreeMap::from([
        ("format_version".to_owned(), FORMAT_VERSION.to_string()),
        ("bundle_id".to_owned(), input.bundle_id.to_string()),
        ("device_id".to_owned(), input.device_id.to_string()),
        ("agent_version".to_owned(), input.agent_version.to_owned()),
        ("rule".to_owned(), input.trigger.rule.clone()),
        ("rule_type".to_owned(), input.trigger.rule_type.clone()),
        ("severity".to_owned(), input.trigger.severity.to_string()),
        ("fired_at".to_owned(), input.trigger.fired_at.to_string()),
    ]);
    if let Some(fleet) = &input.extras.fleet {
        m.insert("fleet".to_owned(), fleet.clone());
    }
    mcap::records::Metadata {
        name: METADATA_NAME.to_owned(),
        metadata: m,
    }
}

fn mcap_err(e: mcap::McapError) -> Error {
    let source = match e {
        mcap::McapError::Io(io) => io,
        other => std::io::Error::other(other),
    };
    Error::Write { source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_messages_are_json_that_reads_back_bit_exact() {
        let values = [
            0.0,
            -0.0,
            12.5,
            -3.1,
            0.1,
            1e-7,
            1e16,
            123_456_789_012_345.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            99.9,
        ];
        for v in values {
            let mut out = Vec::new();
            encode(&mut out, Item::Sample(v)).unwrap();
            let back: serde_json::Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{v:?}: {} {e}", String::from_utf8_lossy(&out)));
            let read = back["value"].as_f64().unwrap();
            assert_eq!(
                read.to_bits(),
                v.to_bits(),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
        for (v, text) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            let mut out = Vec::new();
            encode(&mut out, Item::Sample(v)).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{{\"nonfinite\":\"{text}\"}}")
            );
        }
    }
}
