//! `rewind sessions ls|show|cut`, `rewind mcap info|recover`, `rewind triage`
//! and `rewind bench record`, run as the real binary on sessions recorded
//! here with `rewind_recorder`, as a control loop records them.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use rewind_model::Timestamp;
use rewind_recorder::{
    Builtin, Channel, Recorded, Recorder, RecorderConfig, SessionInfo, read_summary,
    triage::{TriageOptions, triage_files},
};
use serde_json::{Value, json};

use crate::proc::{Ran, run};

/// 2023-11-14T22:13:20Z, the seed's example time; cycle `c` is `c` ms later.
const T0_NS: i64 = 1_700_000_000_000_000_000;

fn at(c: u64) -> Timestamp {
    Timestamp::from_unix_nanos(T0_NS + i64::try_from(c).unwrap() * 1_000_000)
}

/// Records, retrying while the queue is full, so nothing is dropped.
fn push(rec: &Recorder, ch: &Channel, c: u64, v: &Value) {
    let payload = v.to_string().into_bytes();
    loop {
        match rec.record(ch, at(c), payload.clone()) {
            Recorded::Queued => return,
            Recorded::Dropped => std::thread::sleep(Duration::from_micros(200)),
            Recorded::Stopped => panic!("writer stopped"),
        }
    }
}

struct Loop {
    cycle: Channel,
    obs: Channel,
    action: Channel,
    guards: Vec<Channel>,
    latency: Channel,
    context: Channel,
    top: Channel,
}

impl Loop {
    fn register(rec: &Recorder) -> Self {
        Self {
            cycle: rec.builtin(Builtin::Cycle).unwrap(),
            obs: rec.builtin(Builtin::Obs).unwrap(),
            action: rec.builtin(Builtin::Action).unwrap(),
            guards: (0..4)
                .map(|l| rec.builtin(Builtin::Guard(l)).unwrap())
                .collect(),
            latency: rec.builtin(Builtin::Latency).unwrap(),
            context: rec.builtin(Builtin::ContextEvents).unwrap(),
            top: rec.builtin(Builtin::Image("top")).unwrap(),
        }
    }
}

/// What goes wrong in a recorded session.
#[derive(Clone, Copy)]
struct Trouble {
    /// L2 `workspace` rejects 300 to 302, L3 `motor_3` faults at 700,
    /// `/dam/cycle` alone flags 800; joint 2 is stuck at 0.2 from 500 to
    /// 899 while commanded to 1.0; L2 takes 15 ms at 420 and 9 ms at 421.
    faults: bool,
    /// L1 `speed_limit` clamps every this many cycles, from 50.
    clamp_every: u64,
    /// Joint 0's position all along.
    joint0: f64,
}

const BAD: Trouble = Trouble {
    faults: true,
    clamp_every: 100,
    joint0: 0.1,
};
const GOOD: Trouble = Trouble {
    faults: false,
    clamp_every: 500,
    joint0: 0.0,
};

/// One cycle's messages, shaped like the seed's examples.
fn cycle(rec: &Recorder, ch: &Loop, c: u64, t: Trouble) {
    let clamp = c % t.clamp_every == 50;
    let reject = t.faults && (300..=302).contains(&c);
    let fault = t.faults && c == 700;
    let violation = reject || fault || (t.faults && c == 800);
    let mask = match c {
        _ if !violation => 0,
        700 => 8,
        800 => 1,
        _ => 4,
    };
    push(
        rec,
        &ch.cycle,
        c,
        &json!({
            "cycle_id": c, "trace_id": format!("{c:016x}"), "timestamp": 1_700_000_000.0 + c as f64 / 1000.0,
            "active_task": "move_tcp", "active_context": if fault { "emergency_stop" } else { "normal" },
            "has_violation": violation, "has_clamp": clamp, "violated_layer_mask": mask,
            "clamped_layer_mask": if clamp { 2 } else { 0 },
            "failure_type": if violation { json!("guard_triggered") } else { json!(null) },
            "failure_guard_names": if reject { json!(["workspace"]) } else { json!([]) },
            "source_ms": 0.8, "policy_ms": 2.1, "guards_ms": 5.4, "sink_ms": 0.4, "total_ms": 8.7,
        }),
    );
    let stuck = t.faults && (500..900).contains(&c);
    let observed = [t.joint0, 1.57, if stuck { 0.2 } else { 1.0 }, 0.0, 0.0, 0.0];
    push(
        rec,
        &ch.obs,
        c,
        &json!({
            "cycle_id": c, "timestamp": 0.0, "joint_positions": observed,
            "joint_velocities": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "end_effector_pose": [0.5, 0.3, 0.2, 1.0, 0.0, 0.0, 0.0],
            "force_torque": [5.0, -2.0, 20.0, 0.1, 0.05, 0.02],
        }),
    );
    let validated = [t.joint0, 1.57, 1.0, 0.0, 0.0, 0.0];
    push(
        rec,
        &ch.action,
        c,
        &json!({
            "cycle_id": c, "timestamp": 0.0, "proposal_positions": validated,
            "validated_positions": validated, "was_clamped": clamp, "was_rejected": false,
            "fallback_triggered": null,
        }),
    );
    let results = [
        ("OODGuard", "perception", "PASS", ""),
        (
            "speed_limit",
            "motion",
            if clamp { "CLAMP" } else { "PASS" },
            if clamp {
                "joint 2 speed 1.31 > 1.2 rad/s"
            } else {
                ""
            },
        ),
        (
            "workspace",
            "task",
            if reject { "REJECT" } else { "PASS" },
            if reject { "tcp outside workspace" } else { "" },
        ),
        (
            "motor_3",
            "hardware",
            if fault { "FAULT" } else { "PASS" },
            if fault { "temp 82°C > 80°C" } else { "" },
        ),
    ];
    for (layer, (name, class, decision, reason)) in results.into_iter().enumerate() {
        push(
            rec,
            &ch.guards[layer],
            c,
            &json!({
                "cycle_id": c, "timestamp": 0.0, "guard_name": name, "event_class": class,
                "layer": layer, "decision": decision,
                "is_violation": decision == "REJECT" || decision == "FAULT",
                "is_clamp": decision == "CLAMP", "reason": reason, "latency_ms": 1.0,
            }),
        );
    }
    let l2 = match c {
        420 if t.faults => 15.0,
        421 if t.faults => 9.0,
        _ => 2.0,
    };
    push(
        rec,
        &ch.latency,
        c,
        &json!({
            "cycle_id": c, "timestamp": 0.0, "L0_ms": 1.0, "L1_ms": 0.5, "L2_ms": l2, "L3_ms": 0.3,
        }),
    );
    if fault {
        push(
            rec,
            &ch.context,
            c,
            &json!({
                "cycle_id": c, "event": "preempt", "ctx_name": "emergency_stop", "ctx_severity": 100,
                "from_ctx_name": "normal", "from_ctx_severity": 0, "trigger_guard": "motor_3",
                "trigger_reason": "temp 82°C > 80°C", "extra": {},
            }),
        );
    }
    if c.is_multiple_of(10) {
        push(
            rec,
            &ch.top,
            c,
            &json!({"cycle_id": c, "jpeg_base64": "QUJD".repeat(32)}),
        );
    }
}

/// Records 1 000 cycles at 1 kHz of message time, closing a chunk every
/// 100 cycles. Returns the recorder, open.
fn record_open(dir: &Path, session: &str, t: Trouble, rotate_minutes: f64) -> Recorder {
    let mut config = RecorderConfig::new(dir);
    config.rotate_minutes = rotate_minutes;
    let info = SessionInfo {
        session_id: Some(session.to_owned()),
        app_version: Some("1.5.0".to_owned()),
        control_frequency_hz: Some(1000.0),
        ..SessionInfo::default()
    };
    let rec = Recorder::start(config, info).unwrap();
    let ch = Loop::register(&rec);
    for c in 0..1000 {
        cycle(&rec, &ch, c, t);
        if c % 100 == 99 {
            rec.flush().unwrap();
        }
    }
    rec
}

fn record(dir: &Path, session: &str, t: Trouble, rotate_minutes: f64) -> Vec<PathBuf> {
    // Drops are counted, but `push` retries them: every message is written.
    let stats = record_open(dir, session, t, rotate_minutes)
        .close()
        .unwrap();
    stats.files
}

/// `sess_bad` (rotated every 0.3 s of message time: 4 files) and
/// `sess_good` (one file, modified an hour earlier).
struct Fixture {
    dir: tempfile::TempDir,
    bad: Vec<PathBuf>,
    good: Vec<PathBuf>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let good = record(dir.path(), "sess_good", GOOD, 60.0);
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for f in &good {
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
        let bad = record(dir.path(), "sess_bad", BAD, 0.005);
        Self { dir, bad, good }
    }

    fn dir(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Ran {
        let mut all = args.to_vec();
        all.extend(["--dir", self.dir()]);
        run(&all)
    }
}

fn json(ran: &Ran) -> Value {
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    serde_json::from_str(&ran.stdout).unwrap()
}

/// The size of the data section: where the footer says the summary starts.
fn summary_start(bytes: &[u8]) -> usize {
    // Footer: opcode, length (8), summary_start (8), summary_offset_start
    // (8), summary_crc (4); then the 8-byte magic.
    let at = bytes.len() - 8 - 4 - 8 - 8;
    usize::try_from(u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())).unwrap()
}

#[test]
fn sessions_ls_and_show_read_the_summaries() {
    let fx = Fixture::new();
    let files = fx.bad.len();
    assert!(
        files >= 4,
        "rotated every 0.3 s of message time: {:?}",
        fx.bad
    );
    let v = json(&fx.run(&["sessions", "ls", "--json"]));
    let sessions = v["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sess_bad", "sess_good"]);
    let (bad, good) = (&sessions[0], &sessions[1]);
    assert_eq!(bad["files"].as_u64(), Some(files as u64));
    assert_eq!(bad["live_files"], 0);
    assert_eq!(bad["cycles"], 1000);
    assert_eq!(bad["violation_cycles"], 5);
    assert_eq!(bad["clamp_cycles"], 10);
    assert_eq!(bad["has_images"], true);
    assert_eq!(bad["start_time"], "2023-11-14T22:13:20Z");
    assert_eq!(bad["app_version"], "1.5.0");
    assert_eq!(
        (good["files"].as_u64(), good["violation_cycles"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(good["clamp_cycles"], 2);
    assert_eq!(good["has_images"], false, "no violation: no frame written");

    let table = fx.run(&["sessions", "ls"]);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    assert!(table.stdout.contains("sess_bad"), "{}", table.stdout);
    assert!(table.stdout.contains("2 session(s) in"), "{}", table.stdout);

    let show = fx.run(&["sessions", "show", "sess_bad"]);
    assert_eq!(show.code, Some(0), "{}", show.stderr);
    assert!(
        show.stdout
            .contains("1000 (5 with a violation, 10 with a clamp)"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("1.5.0 at 1000 Hz"), "{}", show.stdout);
    for f in &fx.bad {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(show.stdout.contains(name), "{name} in {}", show.stdout);
    }
    let v = json(&fx.run(&["sessions", "show", "sess_bad", "--json"]));
    assert_eq!(v["channels"]["/dam/cycle"], 1000);
    assert_eq!(v["channels"]["/dam/L2"], 1000);
    assert_eq!(v["files"].as_array().unwrap().len(), files);

    let missing = fx.run(&["sessions", "show", "sess_nope"]);
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("no session `sess_nope`"),
        "{}",
        missing.stderr
    );
    let no_dir = run(&["sessions", "ls", "--dir", "/nonexistent/rewind-sessions"]);
    assert_eq!(no_dir.code, Some(2), "{}", no_dir.stderr);
    assert!(
        no_dir.stderr.contains("hint: give --dir"),
        "{}",
        no_dir.stderr
    );
}

#[test]
fn sessions_cut_keeps_only_the_asked_topics_and_cycles() {
    let fx = Fixture::new();
    let out = fx.path("incident.mcap");
    let out_s = out.to_str().unwrap();
    let ran = fx.run(&[
        "sessions",
        "cut",
        "sess_bad",
        "-o",
        out_s,
        "--topics",
        "/dam/cycle,/dam/L2",
        "--start-cycle",
        "290",
        "--end-cycle",
        "310",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stdout.contains("40 message(s), cycles 290..309"),
        "{}",
        ran.stdout
    );
    // Read back with the Rust mcap reader: the summary, then every message.
    let summary = read_summary(&out).unwrap();
    let topics: Vec<(&str, u64)> = summary
        .channels
        .iter()
        .map(|c| (c.topic.as_str(), c.messages))
        .collect();
    assert_eq!(topics, [("/dam/L2", 20), ("/dam/cycle", 20)]);
    let r = triage_files(std::slice::from_ref(&out), &TriageOptions::default()).unwrap();
    assert!(r.session.files[0].complete);
    assert!(r.unreadable.is_empty());
    assert_eq!(
        (r.first_cycle, r.last_cycle, r.cycles),
        (Some(290), Some(309), 20)
    );
    assert_eq!(r.layers[2].decisions.total(), 20);
    assert_eq!(r.layers[2].decisions.reject, 3);
    assert_eq!(
        r.session.session_id, "sess_bad",
        "the session metadata is copied"
    );

    // Seconds from the first message; the end is excluded.
    let rel = fx.path("rel.mcap");
    let ran = fx.run(&[
        "sessions",
        "cut",
        "sess_bad",
        "-o",
        rel.to_str().unwrap(),
        "--topics",
        "/dam/cycle",
        "--start-time",
        "0.1",
        "--end-time",
        "0.2",
        "--json",
    ]);
    let v = json(&ran);
    assert_eq!(v["messages"], 100);
    assert_eq!(read_summary(&rel).unwrap().messages_on("/dam/cycle"), 100);
    let r = triage_files(std::slice::from_ref(&rel), &TriageOptions::default()).unwrap();
    assert_eq!((r.first_cycle, r.last_cycle), (Some(100), Some(199)));

    // Never over an existing file; bad ranges are usage errors.
    let again = fx.run(&["sessions", "cut", "sess_bad", "-o", out_s]);
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let reversed = fx.run(&[
        "sessions",
        "cut",
        "sess_bad",
        "-o",
        fx.path("x.mcap").to_str().unwrap(),
        "--start-cycle",
        "9",
        "--end-cycle",
        "9",
    ]);
    assert_eq!(reversed.code, Some(2), "{}", reversed.stderr);
}

#[test]
fn a_live_file_is_listed_and_cut_with_a_warning() {
    let fx = Fixture::new();
    let rec = record_open(fx.dir.path(), "sess_live", GOOD, 60.0);
    rec.flush().unwrap();
    // The writer never finishes the file: as if the loop were still running.
    std::mem::forget(rec);
    let v = json(&fx.run(&["sessions", "ls", "--json"]));
    let live = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == "sess_live")
        .unwrap()
        .clone();
    assert_eq!(
        (live["files"].as_u64(), live["live_files"].as_u64()),
        (Some(1), Some(1))
    );
    let out = fx.path("live.mcap");
    let ran = fx.run(&[
        "sessions",
        "cut",
        "sess_live",
        "-o",
        out.to_str().unwrap(),
        "--topics",
        "/dam/cycle",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("is still being written"),
        "{}",
        ran.stderr
    );
    assert_eq!(read_summary(&out).unwrap().messages_on("/dam/cycle"), 1000);
    let info = run(&[
        "mcap",
        "info",
        fx.path("sess_live_000.mcap").to_str().unwrap(),
    ]);
    assert!(info.stdout.contains("no summary"), "{}", info.stdout);
}

#[test]
fn mcap_recover_gives_back_a_truncated_file_up_to_its_last_chunk() {
    let fx = Fixture::new();
    let bytes = std::fs::read(&fx.good[0]).unwrap();
    let crashed = fx.path("crashed.mcap");
    std::fs::write(&crashed, &bytes[..summary_start(&bytes) * 2 / 3]).unwrap();
    let crashed_s = crashed.to_str().unwrap();

    let info = run(&["mcap", "info", crashed_s]);
    assert_eq!(info.code, Some(0), "{}", info.stderr);
    assert!(info.stdout.contains("no summary"), "{}", info.stdout);
    assert!(
        info.stdout.contains("hint: run `rewind mcap recover"),
        "{}",
        info.stdout
    );
    let v: Value =
        serde_json::from_str(&run(&["mcap", "info", crashed_s, "--json"]).stdout).unwrap();
    assert_eq!(v["has_summary"], false);

    let ran = run(&["mcap", "recover", crashed_s, "--json"]);
    assert_eq!(ran.code, Some(3), "data was lost: {}", ran.stderr);
    assert!(ran.stderr.contains("exit code 3"), "{}", ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["input_complete"], false);
    assert!(report["problem"].is_string());
    let recovered = fx.path("crashed.recovered.mcap");
    assert_eq!(report["output"], recovered.to_str().unwrap());
    let messages = report["messages"].as_u64().unwrap();
    let total = read_summary(&fx.good[0]).unwrap().message_count;
    assert!(messages > 0 && messages < total, "{messages} of {total}");
    // The recovered file opens with the Rust reader, whole.
    let summary = read_summary(&recovered).unwrap();
    assert_eq!(summary.message_count, messages);
    let r = triage_files(std::slice::from_ref(&recovered), &TriageOptions::default()).unwrap();
    assert!(r.session.files[0].complete);
    assert_eq!(r.session.files[0].messages, messages);
    let v = json(&run(&[
        "mcap",
        "info",
        recovered.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["summary"]["message_count"].as_u64(), Some(messages));
    assert_eq!(
        v["summary"]["metadata"]["rewind.recovered"]["input_complete"],
        "false"
    );

    // An existing output is refused, and replaced with --force.
    let again = run(&["mcap", "recover", crashed_s]);
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let forced = run(&["mcap", "recover", crashed_s, "--force"]);
    assert_eq!(forced.code, Some(3), "{}", forced.stderr);
    assert!(forced.stdout.contains("incomplete"), "{}", forced.stdout);

    // A finished file recovers whole: exit 0.
    let out = fx.path("copy.mcap");
    let whole = run(&[
        "mcap",
        "recover",
        fx.good[0].to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(whole.code, Some(0), "{}", whole.stderr);
    assert!(
        whole.stdout.contains("complete: it had its data end"),
        "{}",
        whole.stdout
    );
    assert_eq!(read_summary(&out).unwrap().message_count, total);
    let missing = run(&["mcap", "recover", fx.path("nope.mcap").to_str().unwrap()]);
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
}

#[test]
fn mcap_info_prints_the_summary() {
    let fx = Fixture::new();
    let ran = run(&["mcap", "info", fx.good[0].to_str().unwrap()]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    for want in [
        "session     sess_good (file 0",
        "2023-11-14T22:13:20Z .. 2023-11-14T22:13:20.999Z (999 ms)",
        "1000 (0 with a violation, 2 with a clamp; ids 0..999)",
        "/dam/cycle",
        "rewind.dam.GuardResult",
        "metadata rewind.session",
        "metadata rewind.file_end",
    ] {
        assert!(ran.stdout.contains(want), "{want:?} in {}", ran.stdout);
    }
    let v = json(&run(&[
        "mcap",
        "info",
        fx.good[0].to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["has_summary"], true);
    assert_eq!(v["summary"]["message_count"], 8000);
}

fn guard_row(r: &Value, guard: &str) -> Vec<u64> {
    let g = r["guards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["guard"] == guard)
        .unwrap();
    ["pass", "clamp", "reject", "fault"]
        .iter()
        .map(|k| g["decisions"][k].as_u64().unwrap())
        .collect()
}

#[test]
fn triage_counts_exactly_what_was_recorded() {
    let fx = Fixture::new();
    // The latest session by default: sess_bad.
    let r = json(&fx.run(&["triage", "--json"]));
    assert_eq!(r["session"]["session_id"], "sess_bad");
    assert_eq!(
        r["session"]["files"].as_array().unwrap().len(),
        fx.bad.len()
    );
    assert_eq!(r["cycles"], 1000);
    assert_eq!(r["violation_cycles"], 5);
    assert_eq!(r["clamp_cycles"], 10);
    let layers: Vec<Vec<u64>> = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            ["pass", "clamp", "reject", "fault"]
                .iter()
                .map(|k| l["decisions"][k].as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        layers,
        [
            [1000, 0, 0, 0],
            [990, 10, 0, 0],
            [997, 0, 3, 0],
            [999, 0, 0, 1]
        ]
    );
    assert_eq!(guard_row(&r, "workspace"), [997, 0, 3, 0]);
    assert_eq!(guard_row(&r, "motor_3"), [999, 0, 0, 1]);
    let cycles: Vec<u64> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cycle_id"].as_u64().unwrap())
        .collect();
    assert_eq!(cycles, [300, 301, 302, 700, 800]);
    assert_eq!(
        r["violations"][0]["results"][0]["reason"],
        "tcp outside workspace"
    );
    assert_eq!(r["violations"][3]["results"][0]["decision"], "FAULT");
    assert_eq!(r["violations"][4]["results"].as_array().unwrap().len(), 0);
    let stuck: Vec<u64> = r["joints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["unresponsive"] == true)
        .map(|j| j["joint"].as_u64().unwrap())
        .collect();
    assert_eq!(stuck, [2]);
    assert_eq!(r["joints"][2]["longest_unresponsive"]["cycles"], 400);
    assert_eq!(r["joints"][2]["longest_unresponsive"]["first_cycle"], 500);
    let l2 = &r["layers"][2]["latency"];
    assert_eq!(
        (
            l2["outliers"].as_u64(),
            l2["slowest"][0]["cycle_id"].as_u64()
        ),
        (Some(2), Some(420))
    );
    assert_eq!(r["layers"][0]["latency"]["outliers"], 0);
    assert_eq!(r["context_events_total"], 1);
    assert_eq!(r["initial_pose"]["joint_positions"][0], 0.1);
    assert!(r["comparison"].is_null());

    // A session by id, or a file, gives the same counts for what it holds.
    let good = json(&fx.run(&["triage", "sess_good", "--json"]));
    assert_eq!(
        (
            good["violation_cycles"].as_u64(),
            good["clamp_cycles"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let file = json(&run(&["triage", fx.bad[1].to_str().unwrap(), "--json"]));
    let in_file = read_summary(&fx.bad[1]).unwrap().messages_on("/dam/cycle");
    assert!(in_file > 0);
    assert_eq!(file["cycles"].as_u64(), Some(in_file));
    let none = fx.run(&["triage", "sess_nope"]);
    assert_eq!(none.code, Some(2), "{}", none.stderr);
}

#[test]
fn triage_compares_with_a_known_good_session() {
    let fx = Fixture::new();
    let r = json(&fx.run(&["triage", "sess_bad", "--compare", "sess_good", "--json"]));
    let c = &r["comparison"];
    assert_eq!(c["known_good"], "sess_good");
    assert_eq!(c["warnings"].as_array().unwrap().len(), 0, "{c}");
    let differs: Vec<u64> = c["initial_pose"]["joints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["differs"] == true)
        .map(|j| j["joint"].as_u64().unwrap())
        .collect();
    assert_eq!(differs, [0]);
    let flagged: Vec<(&str, &str)> = c["guards"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| Some((g["guard"].as_str()?, g["flag"].as_str()?)))
        .collect();
    assert_eq!(
        flagged,
        [
            (
                "workspace",
                "3 results rejected or faulted here, none in the known-good session"
            ),
            (
                "motor_3",
                "1 result rejected or faulted here, none in the known-good session"
            ),
        ]
    );
    let text = fx.run(&["triage", "sess_bad", "--compare", "sess_good"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    // The number of files follows the recorder's rotation, not triage.
    let files = format!("({} file(s))", fx.bad.len());
    insta::assert_snapshot!(
        text.stdout
            .replace(fx.dir(), "[tmp]")
            .replace(&files, "([n] file(s))")
    );
}

#[test]
fn bench_record_reports_every_figure_as_json() {
    let ran = run(&["bench", "record", "--quick", "--json"]);
    let v = json(&ran);
    let positive = |p: &str| {
        let x = v
            .pointer(p)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("{p} in {v}"));
        assert!(x > 0.0, "{p} = {x}");
    };
    for p in [
        "/record/samples",
        "/record/payload_bytes",
        "/record/p50_ns",
        "/record/p99_ns",
        "/record/p999_ns",
        "/sustained/seconds",
        "/sustained/cycles",
        "/sustained/written",
        "/sustained/file_bytes",
        "/sustained/record/p99_ns",
        "/baseline/p50_ns",
        "/baseline/p99_ns",
        "/targets/record_p99_ns",
        "/compression/0/ratio",
        "/compression/0/reduction",
        "/compression/1/ratio",
        "/compression/1/uncompressed_bytes",
    ] {
        positive(p);
    }
    assert_eq!(v["sustained"]["messages_per_cycle"], 8);
    assert!(v["sustained"]["dropped"].is_u64());
    let groups: Vec<&str> = v["compression"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channels"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["cycle", "guard"]);
    for k in [
        "record_p99_idle",
        "record_p99_loaded",
        "no_drops",
        "compression",
    ] {
        assert!(v["meets"][k].is_boolean(), "{k}");
    }
}
