//! Shared helpers: a recorder in a temp dir, deterministic payloads, and a
//! reader that checks a file holds exactly the expected messages.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;
use rewind_recorder::{Channel, Recorded, Recorder, RecorderConfig, SessionInfo};

/// 2023-11-14T22:13:20Z, the seed's example time.
pub const T0_NS: i64 = 1_700_000_000_000_000_000;

/// The time of cycle `i` at 1 kHz.
pub fn at(i: u64) -> Timestamp {
    Timestamp::from_unix_nanos(T0_NS + i64::try_from(i).unwrap() * 1_000_000)
}

/// MCAP log time of cycle `i`.
pub fn log_time(i: u64) -> u64 {
    u64::try_from(at(i).as_unix_nanos()).unwrap()
}

/// One message as read back: (topic, log time, payload).
pub type Msg = (String, u64, Vec<u8>);

pub fn start(config: RecorderConfig, session: &str) -> Recorder {
    Recorder::start(
        config,
        SessionInfo {
            session_id: Some(session.to_owned()),
            app_version: Some("1.5.0".to_owned()),
            control_frequency_hz: Some(1000.0),
            ..SessionInfo::default()
        },
    )
    .unwrap()
}

/// Records and remembers, retrying while the queue is full so tests never drop.
#[derive(Default)]
pub struct Log {
    pub sent: Vec<Msg>,
}

impl Log {
    pub fn record(&mut self, rec: &Recorder, ch: &Channel, i: u64, payload: Vec<u8>) {
        self.record_at(rec, ch, at(i), payload);
    }

    pub fn record_at(&mut self, rec: &Recorder, ch: &Channel, t: Timestamp, payload: Vec<u8>) {
        push(rec, ch, t, payload.clone());
        let ns = u64::try_from(t.as_unix_nanos()).unwrap();
        self.sent.push((ch.topic().to_owned(), ns, payload));
    }
}

/// Records, retrying while the queue is full.
pub fn push(rec: &Recorder, ch: &Channel, t: Timestamp, payload: Vec<u8>) {
    loop {
        match rec.record(ch, t, payload.clone()) {
            Recorded::Queued => return,
            Recorded::Dropped => std::thread::sleep(std::time::Duration::from_micros(200)),
            Recorded::Stopped => panic!("writer stopped"),
        }
    }
}

pub fn cycle_payload(i: u64, violation: bool, clamp: bool) -> Vec<u8> {
    format!(
        r#"{{"cycle_id":{i},"timestamp":{},"active_task":"move_tcp","has_violation":{violation},"has_clamp":{clamp},"violated_layer_mask":{},"total_ms":8.7}}"#,
        1_700_000_000.0 + i as f64 / 1000.0,
        u8::from(violation) * 4,
    )
    .into_bytes()
}

pub fn guard_payload(i: u64, layer: u8) -> Vec<u8> {
    format!(
        r#"{{"cycle_id":{i},"guard_name":"g{layer}","layer":{layer},"decision":"PASS","is_violation":false,"is_clamp":false,"reason":"","latency_ms":1.25}}"#
    )
    .into_bytes()
}

pub fn image_payload(i: u64) -> Vec<u8> {
    format!(
        r#"{{"cycle_id":{i},"jpeg_base64":"{}"}}"#,
        "QUJD".repeat(64)
    )
    .into_bytes()
}

/// Every message of a file, in file order, read with the Rust `mcap` crate
/// (whole-file `MessageStream`, which also checks chunk CRCs).
pub fn read_messages(path: &Path) -> Vec<Msg> {
    let bytes = std::fs::read(path).unwrap();
    mcap::MessageStream::new(&bytes)
        .unwrap()
        .map(|m| {
            let m = m.unwrap();
            (m.channel.topic.clone(), m.log_time, m.data.into_owned())
        })
        .collect()
}

/// Checks that `files` together hold exactly `expected` (in any order) and
/// that each file's summary agrees with its messages.
pub fn assert_files_hold(files: &[PathBuf], expected: &[Msg]) {
    let mut got = Vec::new();
    for file in files {
        let messages = read_messages(file);
        let bytes = std::fs::read(file).unwrap();
        let summary = mcap::Summary::read(&bytes).unwrap().expect("a summary");
        let stats = summary.stats.unwrap();
        assert_eq!(
            stats.message_count,
            messages.len() as u64,
            "{}",
            file.display()
        );
        let mut per_topic: BTreeMap<String, u64> = BTreeMap::new();
        for (topic, _, _) in &messages {
            *per_topic.entry(topic.clone()).or_default() += 1;
        }
        for (id, n) in &stats.channel_message_counts {
            let topic = &summary.channels[id].topic;
            assert_eq!(per_topic.get(topic).copied().unwrap_or(0), *n, "{topic}");
        }
        for chunk in &summary.chunk_indexes {
            assert_eq!(chunk.compression, "zstd");
        }
        got.extend(messages);
    }
    let mut want = expected.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len(), "message count");
    assert!(got == want, "messages differ from what was recorded");
}

pub fn topic_counts(messages: &[Msg]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (t, _, _) in messages {
        *out.entry(t.clone()).or_default() += 1;
    }
    out
}
