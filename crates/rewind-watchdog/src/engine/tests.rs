//! The tick on fixture trees with a manual clock.

use std::time::Duration;

use rewind_model::Timestamp;

use crate::{
    EventKind, ManualClock, Metric, MetricConfig, Rule, Watchdog, WatchdogBuilder,
    fixture::Fixture, list_captures,
};

fn builder(f: &Fixture, clock: &ManualClock) -> WatchdogBuilder {
    Watchdog::builder(f.path("wd"))
        .proc_root(f.proc_root())
        .cgroup_root(f.cgroup_root())
        .own_thread(false)
        .panic_hook(false)
        .stack_tool(None)
        .cpu_profile(None)
        .baseline(None)
        .clock(clock.clone())
        .version("9.9.9")
}

fn start() -> ManualClock {
    ManualClock::new(Timestamp::from_unix_millis(1_795_000_000_000))
}

fn kinds(dog: &Watchdog) -> Vec<EventKind> {
    dog.events().iter().map(|e| e.kind).collect()
}

#[test]
fn a_breach_captures_in_the_same_tick_with_manifest_fds_and_threads() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock).install().unwrap();
    f.set_nofile(100);
    f.set_fds(10);
    dog.tick_now();
    assert!(list_captures(dog.dir()).unwrap().is_empty());
    f.set_fds(90);
    dog.tick_now();
    let caps = list_captures(dog.dir()).unwrap();
    assert_eq!(caps.len(), 1);
    let m = caps[0].manifest.as_ref().unwrap();
    assert_eq!(
        (m.kind.as_str(), m.version.as_str(), m.host.as_str()),
        ("fds", "9.9.9", "fixture-host")
    );
    assert_eq!(m.triggers[0].breach.metric, Metric::Fds);
    let files: Vec<_> = m.files.iter().map(|f| f.path.as_str()).collect();
    for want in [
        "proc/status.txt",
        "proc/limits.txt",
        "proc/fds.txt",
        "proc/threads.txt",
        "proc/smaps_rollup.txt",
    ] {
        assert!(files.contains(&want), "{want} missing from {files:?}");
    }
    let fds = std::fs::read_to_string(caps[0].path.join("proc/fds.txt")).unwrap();
    assert_eq!(fds.lines().count(), 90);
    assert!(fds.starts_with("0 -> /dev/null\n"), "{fds}");
    let threads = std::fs::read_to_string(caps[0].path.join("proc/threads.txt")).unwrap();
    assert!(
        threads.contains("100\tworker 100\tS\t5\t2\tfutex_wait_queue\t202"),
        "{threads}"
    );
    assert!(
        m.notes
            .iter()
            .any(|n| n.contains("stacks.txt: no stack tool")),
        "{:?}",
        m.notes
    );
    assert!(
        m.notes
            .iter()
            .any(|n| n.contains("heap profile unavailable")),
        "{:?}",
        m.notes
    );
    assert!(m.stacks_ms.is_some());
    let ev = dog.events();
    let capture = ev.iter().find(|e| e.kind == EventKind::Capture).unwrap();
    assert_eq!(capture.capture.as_deref(), Some(caps[0].path.as_path()));
    assert!(
        capture.message.contains("captured to"),
        "{}",
        capture.message
    );
    assert_eq!(dog.status().captures, 1);
}

#[test]
fn cooldown_suppresses_a_second_capture_and_allows_it_after() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock).install().unwrap();
    f.set_nofile(100);
    f.set_fds(90);
    dog.tick_now();
    for _ in 0..10 {
        clock.advance(Duration::from_secs(10));
        dog.tick_now();
    }
    // 100 s later: still one capture, ten suppressed breaches, one warning about it.
    assert_eq!(list_captures(dog.dir()).unwrap().len(), 1);
    let s = dog.status();
    assert_eq!((s.captures, s.suppressed, s.warnings), (1, 10, 1));
    let warning = dog
        .events()
        .into_iter()
        .find(|e| e.kind == EventKind::Warning)
        .unwrap();
    assert!(
        warning.message.contains("cooling down"),
        "{}",
        warning.message
    );
    clock.advance(Duration::from_secs(20)); // 120 s after the first capture
    dog.tick_now();
    assert_eq!(list_captures(dog.dir()).unwrap().len(), 2);
    assert_eq!(dog.status().captures, 2);
}

#[test]
fn rotation_keeps_five_captures_per_kind() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock).install().unwrap();
    f.set_nofile(100);
    f.set_fds(90);
    for _ in 0..8 {
        dog.tick_now();
        clock.advance(Duration::from_secs(121));
    }
    let caps = list_captures(dog.dir()).unwrap();
    assert_eq!(caps.len(), 5);
    assert_eq!(dog.status().captures, 8);
    // The newest five are kept.
    let last = dog.status().last_capture.unwrap();
    assert_eq!(caps[4].path, last);
}

#[test]
fn the_warning_budget_caps_warn_only_metrics() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock)
        .metric(Metric::Threads, MetricConfig::warn([Rule::above(1.0)]))
        .install()
        .unwrap();
    f.set_status(1024, 4);
    for _ in 0..15 {
        dog.tick_now();
        clock.advance(Duration::from_secs(1));
    }
    let s = dog.status();
    assert_eq!((s.warnings, s.warnings_dropped, s.captures), (10, 5, 0));
    assert!(list_captures(dog.dir()).unwrap().is_empty());
    // A new window opens after ten minutes.
    clock.advance(Duration::from_secs(600));
    dog.tick_now();
    assert_eq!(dog.status().warnings, 11);
    // Warnings never block captures (limits are re-read every 10 s).
    f.set_nofile(10);
    f.set_fds(9);
    clock.advance(Duration::from_secs(10));
    dog.tick_now();
    assert_eq!(dog.status().captures, 1);
}

#[test]
fn baselines_rotate_and_are_copied_into_breach_captures_in_delta_mode() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock)
        .baseline(Some(crate::BaselineConfig {
            every: Duration::from_secs(600),
            keep: 6,
        }))
        .delta(true)
        .install()
        .unwrap();
    for _ in 0..8 {
        dog.tick_now();
        clock.advance(Duration::from_secs(600));
    }
    let caps = list_captures(dog.dir()).unwrap();
    assert_eq!(caps.len(), 6);
    assert!(caps.iter().all(|c| c.kind == "baseline"));
    assert!(!kinds(&dog).is_empty());
    f.set_nofile(10);
    f.set_fds(9);
    dog.tick_now(); // also the 9th baseline, after the capture
    let caps = list_captures(dog.dir()).unwrap();
    let fds = caps.iter().find(|c| c.kind == "fds").unwrap();
    let m = fds.manifest.as_ref().unwrap();
    assert!(m.baseline.as_deref().unwrap().starts_with("baseline/"));
    assert!(fds.path.join("baseline/proc/status.txt").is_file());
    assert!(fds.path.join("baseline/manifest.json").is_file());
}

#[test]
fn a_capture_that_cannot_be_written_stops_capturing_and_says_so() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock).install().unwrap();
    // A file where the kind's directory should be.
    std::fs::write(f.path("wd/captures/fds"), "x").unwrap();
    f.set_nofile(10);
    f.set_fds(9);
    dog.tick_now();
    let s = dog.status();
    assert!(s.capture_error.is_some(), "{s:?}");
    assert!(s.running);
    assert!(kinds(&dog).contains(&EventKind::Error));
    // Later breaches of other kinds warn instead of capturing.
    f.set_memory_max(Some(1024));
    clock.advance(Duration::from_secs(10));
    dog.tick_now();
    let last = dog.events().pop().unwrap();
    assert_eq!(last.kind, EventKind::Warning);
    assert!(
        last.message.contains("capturing has stopped"),
        "{}",
        last.message
    );
}

#[test]
fn the_control_file_starts_a_bounded_contention_diagnostic() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock)
        .contention(crate::ContentionConfig {
            snapshot_every: Duration::from_millis(300),
            ..crate::ContentionConfig::default()
        })
        .install()
        .unwrap();
    // The control file's window is at least one second.
    crate::request_contention(dog.dir(), Some(Duration::from_millis(350))).unwrap();
    dog.tick_now();
    assert!(!f.path("wd/control/contention").exists());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while list_captures(dog.dir()).unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let caps = list_captures(dog.dir()).unwrap();
    assert_eq!(caps.len(), 1);
    assert_eq!(caps[0].kind, "contention");
    let m = caps[0].manifest.as_ref().unwrap();
    let snaps = m
        .files
        .iter()
        .filter(|f| f.path.ends_with("-threads.txt"))
        .count();
    assert!(
        (1..=6).contains(&snaps),
        "{snaps} snapshots in {:?}",
        m.files
    );
    assert!(
        m.notes.iter().any(|n| n.contains("the control file")),
        "{:?}",
        m.notes
    );
    assert_eq!(dog.shutdown().contentions, 1);
}

#[test]
fn repeated_latency_breaches_start_the_contention_diagnostic_automatically() {
    let f = Fixture::new();
    let clock = start();
    let window = std::sync::Arc::new(crate::LatencyWindow::new(
        Duration::from_millis(10),
        Duration::from_secs(60),
    ));
    let dog = builder(&f, &clock)
        .latency_window(std::sync::Arc::clone(&window))
        .contention(crate::ContentionConfig {
            window: Duration::from_millis(200),
            snapshot_every: Duration::from_millis(100),
            auto_after: Some(3),
            ..crate::ContentionConfig::default()
        })
        .install()
        .unwrap();
    window.record(std::time::Instant::now(), Duration::from_millis(50));
    for _ in 0..3 {
        dog.tick_now();
        clock.advance(Duration::from_secs(1));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !list_captures(dog.dir())
        .unwrap()
        .iter()
        .any(|c| c.kind == "contention")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let caps = list_captures(dog.dir()).unwrap();
    let c = caps.iter().find(|c| c.kind == "contention").unwrap();
    let notes = &c.manifest.as_ref().unwrap().notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("scheduling-latency breaches")),
        "{notes:?}"
    );
    assert!(caps.iter().any(|c| c.kind == "sched_latency"));
}

#[test]
fn shutdown_writes_a_clean_stop_and_drop_does_too() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock).install().unwrap();
    clock.advance(Duration::from_secs(5));
    let dir = dog.dir().to_owned();
    assert!(!dog.shutdown().running);
    let dog = builder(&f, &clock).install().unwrap();
    drop(dog);
    let runs = crate::read_history_at(&dir, &f.proc_root()).unwrap();
    assert_eq!(runs.len(), 2);
    let reasons: Vec<_> = runs
        .iter()
        .map(|r| match &r.end {
            crate::RunEnd::Clean { reason, .. } => reason.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(reasons, ["shutdown", "drop"]);
    assert_eq!(runs[0].version, "9.9.9");
}

#[test]
fn a_cpu_profile_is_skipped_for_memory_breaches_and_low_headroom() {
    let f = Fixture::new();
    let clock = start();
    let dog = builder(&f, &clock)
        .cpu_profile(Some(crate::CpuProfileConfig::default()))
        .install()
        .unwrap();
    // RSS at 90% of a 100 MiB limit: a memory breach.
    f.set_memory_max(Some(100 * 1024 * 1024));
    f.set_status(90 * 1024, 2);
    dog.tick_now();
    // Then an fds breach with 10 MiB of headroom under the limit.
    f.set_nofile(10);
    f.set_fds(9);
    f.set_status(50 * 1024, 2);
    f.write(
        "proc/meminfo",
        "MemTotal: 100 kB\nMemAvailable:   10240 kB\n",
    );
    clock.advance(Duration::from_secs(10));
    dog.tick_now();
    let caps = list_captures(dog.dir()).unwrap();
    assert_eq!(caps.len(), 2, "{caps:?}");
    for (kind, why) in [
        ("rss", "the breach is about memory"),
        ("fds", "below profile_headroom"),
    ] {
        let c = caps.iter().find(|c| c.kind == kind).unwrap();
        let m = c.manifest.as_ref().unwrap();
        assert!(m.pending.is_empty(), "{m:?}");
        assert!(
            m.notes
                .iter()
                .any(|n| n.starts_with("cpu.pprof: skipped") && n.contains(why)),
            "{:?}",
            m.notes
        );
    }
}
