//! Everything recorded comes back, byte for byte, with the session metadata.

use rewind_recorder::{
    Builtin, CYCLE_TOPIC, ChannelSpec, RecorderConfig, SESSION_METADATA, list_sessions,
    read_session, read_summary,
};

use crate::common::{Log, assert_files_hold, cycle_payload, guard_payload, start};

#[test]
fn every_channel_round_trips_with_its_schema_and_the_session_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let rec = start(RecorderConfig::new(dir.path()), "sess_rt");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let obs = rec.builtin(Builtin::Obs).unwrap();
    let action = rec.builtin(Builtin::Action).unwrap();
    let guards: Vec<_> = (0..4)
        .map(|l| rec.builtin(Builtin::Guard(l)).unwrap())
        .collect();
    let ctx = rec.builtin(Builtin::ContextEvents).unwrap();
    let latency = rec.builtin(Builtin::Latency).unwrap();
    let _camera = rec.builtin(Builtin::Image("top")).unwrap();
    let user = rec
        .channel(
            ChannelSpec::user("/robot/battery", "acme.Battery", r#"{"type":"object"}"#)
                .unwrap()
                .with_metadata("unit", "V"),
        )
        .unwrap();
    let mut log = Log::default();
    for i in 0..2_000 {
        log.record(&rec, &cycle, i, cycle_payload(i, false, false));
        log.record(
            &rec,
            &obs,
            i,
            format!(r#"{{"cycle_id":{i},"joint_positions":[0.0,1.5]}}"#).into_bytes(),
        );
        log.record(
            &rec,
            &action,
            i,
            format!(r#"{{"cycle_id":{i},"was_clamped":false,"was_rejected":false}}"#).into_bytes(),
        );
        for (l, g) in guards.iter().enumerate() {
            log.record(&rec, g, i, guard_payload(i, l as u8));
        }
        log.record(
            &rec,
            &latency,
            i,
            format!(r#"{{"cycle_id":{i},"L0_ms":2.1}}"#).into_bytes(),
        );
        if i % 500 == 0 {
            log.record(
                &rec,
                &ctx,
                i,
                format!(r#"{{"cycle_id":{i},"event":"enter","ctx_name":"slow_down"}}"#)
                    .into_bytes(),
            );
            // Not JSON: payloads are not checked, and come back as they went.
            log.record(&rec, &user, i, vec![0, 159, 146, 150]);
        }
    }
    let stats = rec.close().unwrap();
    assert_eq!(stats.files.len(), 1);
    assert_eq!(stats.written(), log.sent.len() as u64);
    assert_files_hold(&stats.files, &log.sent);

    let file = &stats.files[0];
    assert_eq!(file.file_name().unwrap(), "sess_rt_000.mcap");
    let summary = read_summary(file).unwrap();
    let session = summary.session.as_ref().unwrap();
    assert_eq!(session.session_id, "sess_rt");
    assert_eq!(session.app_version.as_deref(), Some("1.5.0"));
    assert_eq!(session.control_frequency_hz, Some(1000.0));
    assert_eq!(session.file_index, Some(0));
    assert_eq!(session.previous_file, None);
    assert!(session.recorder.starts_with("rewind-recorder "));
    assert!(
        session
            .recorder_config
            .as_deref()
            .unwrap()
            .contains("\"window_sec\":10.0")
    );
    assert!(summary.metadata.contains_key(SESSION_METADATA));
    let end = summary.file_end.as_ref().unwrap();
    assert_eq!(end.reason, "close");
    assert_eq!(end.next_file, None);
    assert_eq!(end.cycles.cycles, 2_000);
    assert_eq!(
        (end.cycles.first_cycle, end.cycles.last_cycle),
        (Some(0), Some(1_999))
    );
    assert_eq!(summary.messages_on(CYCLE_TOPIC), 2_000);
    assert_eq!(summary.messages_on("/robot/battery"), 4);
    assert_eq!(summary.messages_on("/dam/images/top"), 0);
    assert!(!summary.has_images());
    assert_eq!(summary.compression, ["zstd"]);
    assert!(summary.compressed_bytes * 3 < summary.uncompressed_bytes);
    assert_eq!(summary.start_time, Some(crate::common::at(0)));
    assert_eq!(summary.end_time, Some(crate::common::at(1_999)));
    let battery = summary
        .channels
        .iter()
        .find(|c| c.topic == "/robot/battery")
        .unwrap();
    assert_eq!(battery.schema_name.as_deref(), Some("acme.Battery"));

    // Schemas are the built-in JSON Schemas, and ids are registration order.
    let bytes = std::fs::read(file).unwrap();
    let mcap_summary = mcap::Summary::read(&bytes).unwrap().unwrap();
    let cycle_channel = &mcap_summary.channels[&1];
    assert_eq!(cycle_channel.topic, "/dam/cycle");
    let schema = cycle_channel.schema.as_ref().unwrap();
    assert_eq!(schema.encoding, "jsonschema");
    assert_eq!(schema.name, "rewind.dam.Cycle");
    let doc: serde_json::Value = serde_json::from_slice(&schema.data).unwrap();
    assert_eq!(doc["properties"]["has_violation"]["type"], "boolean");
    let battery = mcap_summary
        .channels
        .values()
        .find(|c| c.topic == "/robot/battery")
        .unwrap();
    assert_eq!(battery.id, 11);
    assert_eq!(battery.metadata["unit"], "V");

    let sessions = list_sessions(dir.path()).unwrap();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(s.session_id, "sess_rt");
    assert_eq!(s.cycles, 2_000);
    assert_eq!(s.message_count, log.sent.len() as u64);
    assert_eq!(s.unreadable_files, 0);
    assert_eq!(
        read_session(dir.path(), "sess_rt").unwrap().as_ref(),
        Some(s)
    );
    assert_eq!(read_session(dir.path(), "nope").unwrap(), None);
}

#[test]
fn an_empty_session_is_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let rec = start(RecorderConfig::new(dir.path()), "empty");
    rec.builtin(Builtin::Cycle).unwrap();
    let stats = rec.close().unwrap();
    assert_files_hold(&stats.files, &[]);
    let summary = read_summary(&stats.files[0]).unwrap();
    assert_eq!(summary.message_count, 0);
    assert_eq!(summary.start_time, None);
    assert_eq!(summary.channels.len(), 1);
}

#[test]
fn a_session_id_is_never_reused_over_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    start(RecorderConfig::new(dir.path()), "same")
        .close()
        .unwrap();
    let again = rewind_recorder::Recorder::start(
        RecorderConfig::new(dir.path()),
        rewind_recorder::SessionInfo {
            session_id: Some("same".to_owned()),
            ..Default::default()
        },
    );
    assert!(matches!(again, Err(rewind_recorder::Error::Io { .. })));
}

#[test]
fn generated_session_ids_name_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let rec = rewind_recorder::Recorder::start(
        RecorderConfig::new(dir.path()),
        rewind_recorder::SessionInfo::default(),
    )
    .unwrap();
    let id = rec.session_id().to_owned();
    assert!(id.starts_with("sess_"), "{id}");
    let stats = rec.close().unwrap();
    assert_eq!(
        stats.files[0].file_name().unwrap().to_str().unwrap(),
        format!("{id}_000.mcap")
    );
}
