//! `recording.mcap` read with the `mcap` crate, as a third-party tool would.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{Fixture, unzip, valid_bundle};

fn recording() -> Vec<u8> {
    unzip(&valid_bundle())
        .into_iter()
        .find(|(n, _)| n == "recording.mcap")
        .unwrap()
        .1
}

/// (topic, schema name, log time, message JSON) of every message, file order.
fn messages(mcap: &[u8]) -> Vec<(String, String, u64, Value)> {
    mcap::MessageStream::new(mcap)
        .unwrap()
        .map(|m| {
            let m = m.unwrap();
            let schema = m.channel.schema.as_ref().unwrap();
            assert_eq!(schema.encoding, "jsonschema");
            assert_eq!(m.channel.message_encoding, "json");
            (
                m.channel.topic.clone(),
                schema.name.clone(),
                m.log_time,
                serde_json::from_slice(&m.data).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_sample_and_event_is_a_json_message_in_time_order() {
    let fixture = Fixture::new();
    let all = messages(&recording());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (topic, _, _, _) in &all {
        *counts.entry(topic.as_str()).or_default() += 1;
    }
    for s in &fixture.series {
        let topic = format!("/metrics/{}", s.name);
        assert_eq!(
            counts.get(topic.as_str()).copied().unwrap_or(0),
            s.samples.len(),
            "{topic}"
        );
    }
    assert_eq!(counts["/events"], 6);
    assert_eq!(counts["/logs"], 4);
    let times: Vec<u64> = all.iter().map(|m| m.2).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time order");

    let cpu: Vec<&Value> = all
        .iter()
        .filter(|m| m.0 == "/metrics/cpu.total.busy_pct")
        .map(|m| &m.3)
        .collect();
    assert_eq!(
        cpu,
        [
            &json!({"value": 12.5}),
            &json!({"value": 99.5}),
            &json!({"value": 97.25})
        ]
    );
    let odd: Vec<&Value> = all
        .iter()
        .filter(|m| m.0 == "/metrics/odd.values")
        .map(|m| &m.3)
        .collect();
    assert_eq!(
        odd,
        [
            &json!({"nonfinite": "NaN"}),
            &json!({"nonfinite": "inf"}),
            &json!({"nonfinite": "-inf"})
        ]
    );
}

#[test]
fn events_and_logs_have_foxglove_friendly_shapes() {
    let all = messages(&recording());
    let oom = all
        .iter()
        .find(|m| m.0 == "/events" && m.3["kind"] == "oom_kill")
        .unwrap();
    assert_eq!(oom.1, "rewind.Event");
    assert_eq!(
        oom.3,
        json!({
            "timestamp": {"sec": 1_795_428_004_u64, "nsec": 300_000_000},
            "ts": "2026-11-23T10:00:04.3Z",
            "source": "kmsg",
            "kind": "oom_kill",
            "level": "error",
            "message": "Out of memory: killed process 4242 (camera)",
            "fields": [{"key": "pid", "value": "4242"}]
        })
    );
    assert_eq!(oom.2, 1_795_428_004_300_000_000);
    let custom = all
        .iter()
        .find(|m| m.0 == "/events" && m.3["source"] == "socket")
        .unwrap();
    assert_eq!(custom.3["kind"], "custom:planner_stalled");
    let log = all
        .iter()
        .find(|m| m.0 == "/logs" && m.3["name"] == "kmsg")
        .unwrap();
    assert_eq!(log.1, "foxglove.Log");
    assert_eq!(
        log.3,
        json!({
            "timestamp": {"sec": 1_795_428_004_u64, "nsec": 300_000_000},
            "level": 4,
            "message": "Out of memory: killed process 4242 (camera)",
            "name": "kmsg",
            "file": "",
            "line": 0
        })
    );
    let levels: Vec<u64> = all
        .iter()
        .filter(|m| m.0 == "/logs")
        .map(|m| m.3["level"].as_u64().unwrap())
        .collect();
    assert_eq!(
        levels,
        [1, 2, 3, 4],
        "debug, info, warning, error in time order"
    );
}

#[test]
fn the_summary_names_the_bundle_and_the_units() {
    let mcap = recording();
    let summary = mcap::Summary::read(&mcap).unwrap().unwrap();
    let stats = summary.stats.as_ref().unwrap();
    assert!(stats.chunk_count >= 1);
    assert!(
        summary
            .chunk_indexes
            .iter()
            .all(|c| c.compression == "zstd")
    );
    let cpu = summary
        .channels
        .values()
        .find(|c| c.topic == "/metrics/cpu.total.busy_pct")
        .unwrap();
    assert_eq!(
        cpu.metadata.get("unit").map(String::as_str),
        Some("percent")
    );
    let index = summary
        .metadata_indexes
        .iter()
        .find(|m| m.name == "rewind")
        .unwrap();
    let meta = mcap::read::metadata(&mcap, index).unwrap();
    let fixture = Fixture::new();
    assert_eq!(meta.metadata["bundle_id"], fixture.bundle_id.to_string());
    assert_eq!(meta.metadata["device_id"], "robot-7");
    assert_eq!(meta.metadata["rule"], "cpu-saturated");
    assert_eq!(meta.metadata["fleet"], "warehouse-east");
    assert_eq!(meta.metadata["format_version"], "1");
}

#[test]
fn the_channel_schemas_are_json_schemas() {
    let mcap = recording();
    let summary = mcap::Summary::read(&mcap).unwrap().unwrap();
    let mut names: Vec<String> = summary.schemas.values().map(|s| s.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["foxglove.Log", "rewind.Event", "rewind.Sample"]);
    for schema in summary.schemas.values() {
        let v: Value = serde_json::from_slice(&schema.data).unwrap();
        assert_eq!(v["title"], schema.name.as_str());
        assert_eq!(v["type"], "object");
        // Foxglove needs `properties` on every object and one `type` string per field.
        for (field, spec) in v["properties"].as_object().unwrap() {
            assert!(
                spec["type"].is_string() || spec["oneOf"].is_array(),
                "{}.{field}",
                schema.name
            );
        }
        jsonschema::validator_for(&v).unwrap();
    }
    // Every message validates against its channel's schema.
    let validators: BTreeMap<String, jsonschema::Validator> = summary
        .schemas
        .values()
        .map(|s| {
            let v: Value = serde_json::from_slice(&s.data).unwrap();
            (s.name.clone(), jsonschema::validator_for(&v).unwrap())
        })
        .collect();
    for (topic, schema, _, message) in messages(&mcap) {
        let errors: Vec<String> = validators[&schema]
            .iter_errors(&message)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{topic}: {message}: {errors:?}");
    }
}
