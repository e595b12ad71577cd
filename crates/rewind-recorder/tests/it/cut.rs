//! Filtered copies hold only the topics, cycles and times asked for.

use rewind_model::Timestamp;
use rewind_recorder::{
    Builtin, CUT_METADATA, ChannelSpec, CutFilter, Error, RecorderConfig, cut, cut_files,
    cut_to_writer, read_summary,
};

use crate::common::{
    Log, Msg, assert_files_hold, at, cycle_payload, guard_payload, image_payload, log_time, push,
    read_messages, start,
};

/// A session of 1 000 cycles: cycle, obs, L1, frames (a violation at 500),
/// and a user channel without `cycle_id` every 10 cycles. Returns the files
/// and every message they hold.
fn session(dir: &std::path::Path, rotate_mb: f64) -> (Vec<std::path::PathBuf>, Vec<Msg>) {
    let mut config = RecorderConfig::new(dir.join("s"));
    config.rotate_mb = rotate_mb;
    config.window_sec = 0.1;
    config.pre_event_sec = 0.05;
    let rec = start(config, "sess_cut");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let obs = rec.builtin(Builtin::Obs).unwrap();
    let guard = rec.builtin(Builtin::Guard(1)).unwrap();
    let top = rec.builtin(Builtin::Image("top")).unwrap();
    let user = rec
        .channel(ChannelSpec::user("/robot/battery", "acme.Battery", "true").unwrap())
        .unwrap();
    let mut log = Log::default();
    for i in 0..1_000 {
        log.record(&rec, &cycle, i, cycle_payload(i, i == 500, false));
        log.record(
            &rec,
            &obs,
            i,
            format!(r#"{{"cycle_id":{i},"joint_positions":[1.0]}}"#).into_bytes(),
        );
        log.record(&rec, &guard, i, guard_payload(i, 1));
        push(&rec, &top, at(i), image_payload(i));
        if i % 10 == 0 {
            log.record(&rec, &user, i, format!(r#"{{"volts":{i}}}"#).into_bytes());
        }
        if i % 100 == 99 {
            rec.flush().unwrap(); // as flush_sec does in a live loop
        }
    }
    let stats = rec.close().unwrap();
    let mut all = log.sent;
    all.extend((450..=550).map(|i| ("/dam/images/top".to_owned(), log_time(i), image_payload(i))));
    assert_files_hold(&stats.files, &all);
    (stats.files, all)
}

fn cycle_of(m: &Msg) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(&m.2).ok()?;
    v["cycle_id"].as_u64()
}

fn assert_cut_holds(file: &std::path::Path, mut want: Vec<Msg>) {
    let mut got = read_messages(file);
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the cut holds other messages than asked for");
}

#[test]
fn topics_and_cycles_select_exactly_their_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (files, all) = session(dir.path(), 500.0);
    let filter = CutFilter {
        start_cycle: Some(100),
        end_cycle: Some(200),
        ..CutFilter::default()
    }
    .with_topics_csv("/dam/cycle,/dam/obs");
    let out = dir.path().join("cut.mcap");
    let report = cut(&files[0], &out, &filter).unwrap();
    let want: Vec<Msg> = all
        .iter()
        .filter(|m| m.0 == "/dam/cycle" || m.0 == "/dam/obs")
        .filter(|m| cycle_of(m).is_some_and(|c| (100..200).contains(&c)))
        .cloned()
        .collect();
    assert_eq!(want.len(), 200);
    assert_cut_holds(&out, want);
    assert_eq!(report.messages, 200);
    assert_eq!(
        (report.first_cycle, report.last_cycle),
        (Some(100), Some(199))
    );
    assert!(report.incomplete_inputs.is_empty());
    let summary = read_summary(&out).unwrap();
    let topics: Vec<_> = summary.channels.iter().map(|c| c.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["/dam/cycle", "/dam/obs"],
        "only the asked-for channels"
    );
    assert_eq!(summary.session.unwrap().session_id, "sess_cut");
    assert!(summary.metadata[CUT_METADATA]["filter"].contains("\"start_cycle\":100"));
}

#[test]
fn messages_without_a_cycle_follow_the_cycles_time_span() {
    let dir = tempfile::tempdir().unwrap();
    let (files, all) = session(dir.path(), 500.0);
    let filter = CutFilter {
        start_cycle: Some(495),
        end_cycle: Some(505),
        ..CutFilter::default()
    };
    let out = dir.path().join("cut.mcap");
    cut(&files[0], &out, &filter).unwrap();
    // Frames carry cycle_id; the battery has none and is kept when it lies
    // within the first and last kept /dam/cycle times: 500 only.
    let want: Vec<Msg> = all
        .iter()
        .filter(|m| match cycle_of(m) {
            Some(c) => (495..505).contains(&c),
            None => (log_time(495)..=log_time(504)).contains(&m.1),
        })
        .cloned()
        .collect();
    assert_eq!(want.iter().filter(|m| m.0 == "/robot/battery").count(), 1);
    assert_eq!(want.iter().filter(|m| m.0 == "/dam/images/top").count(), 10);
    assert_cut_holds(&out, want);
}

#[test]
fn a_time_range_keeps_its_start_and_drops_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (files, all) = session(dir.path(), 0.02);
    assert!(files.len() > 1, "the session spans several files");
    let filter = CutFilter {
        start_time: Some(at(300)),
        end_time: Some(at(700)),
        ..CutFilter::default()
    }
    .with_topics_csv("/dam/L*,/robot/battery");
    let out = dir.path().join("cut.mcap");
    cut_files(&files, &out, &filter).unwrap();
    let want: Vec<Msg> = all
        .iter()
        .filter(|m| m.0 == "/dam/L1" || m.0 == "/robot/battery")
        .filter(|m| (log_time(300)..log_time(700)).contains(&m.1))
        .cloned()
        .collect();
    assert_eq!(want.len(), 440);
    assert_cut_holds(&out, want);

    // Streaming into a writer gives the same messages.
    let mut streamed = Vec::new();
    let report = cut_to_writer(&files, &mut streamed, &filter).unwrap();
    assert_eq!(report.messages, 440);
    let piped = dir.path().join("piped.mcap");
    std::fs::write(&piped, &streamed).unwrap();
    assert_eq!(read_messages(&piped), read_messages(&out));
    read_summary(&piped).unwrap();
}

#[test]
fn a_live_file_is_cut_up_to_its_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    let rec = start(RecorderConfig::new(dir.path()), "sess_live");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let mut log = Log::default();
    for i in 0..300 {
        log.record(&rec, &cycle, i, cycle_payload(i, false, false));
    }
    rec.flush().unwrap();
    let live = rec.stats().files[0].clone();
    let out = dir.path().join("live-cut.mcap");
    let report = cut(&live, &out, &CutFilter::default()).unwrap();
    assert_eq!(report.incomplete_inputs, [live]);
    assert_cut_holds(&out, log.sent);
    rec.close().unwrap();
}

#[test]
fn bad_filters_and_existing_outputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = session(dir.path(), 500.0);
    let out = dir.path().join("cut.mcap");
    let reversed = CutFilter {
        start_time: Some(Timestamp::from_unix_nanos(5)),
        end_time: Some(Timestamp::from_unix_nanos(5)),
        ..CutFilter::default()
    };
    assert!(matches!(
        cut(&files[0], &out, &reversed),
        Err(Error::InvalidFilter { .. })
    ));
    assert!(!out.exists());
    cut(&files[0], &out, &CutFilter::default()).unwrap();
    assert!(matches!(
        cut(&files[0], &out, &CutFilter::default()),
        Err(Error::OutputExists { .. })
    ));
}
