//! The scheduling-latency probe on a deliberately blocked runtime: a task
//! that blocks the only thread of a current_thread runtime with
//! `std::thread::sleep` delays the probe's wake-ups past the threshold.

use std::time::Duration;

use rewind_watchdog::{EventKind, LatencyProbe, Metric, Watchdog};

fn block_the_runtime(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(60)); // blocks the runtime's only thread
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    });
}

#[test]
fn a_blocked_runtime_pushes_the_probe_p99_past_the_threshold() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let probe = LatencyProbe::spawn(
        rt.handle(),
        Duration::from_millis(5),
        Duration::from_secs(30),
    );
    block_the_runtime(&rt);
    let p99 = probe.window().p99().unwrap();
    assert!(p99 > Duration::from_millis(10), "p99 {p99:?}");
}

#[test]
fn the_watchdog_captures_a_scheduling_latency_breach() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let dog = Watchdog::builder(dir.path())
        .own_thread(false)
        .panic_hook(false)
        .cpu_profile(None)
        .baseline(None)
        .stack_tool(None)
        .disable(Metric::Rss)
        .disable(Metric::Fds)
        .disable(Metric::Threads)
        .probe(Duration::from_millis(5), Duration::from_secs(30))
        .tokio(rt.handle().clone())
        .install()
        .unwrap();
    block_the_runtime(&rt);
    dog.tick_now();
    let events = dog.events();
    let capture = events
        .iter()
        .find(|e| e.kind == EventKind::Capture)
        .unwrap();
    assert_eq!(capture.metric, Some(Metric::SchedLatency));
    assert!(capture.value.unwrap() > 10.0, "{capture:?}");
    assert!(
        capture.message.contains("tokio scheduling latency p99"),
        "{}",
        capture.message
    );
    let path = capture.capture.clone().unwrap();
    assert!(path.starts_with(dir.path().join("captures/sched_latency")));
    dog.shutdown();
}
