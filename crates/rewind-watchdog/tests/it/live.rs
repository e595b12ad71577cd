//! A capture of this very process: real /proc, eu-stack when installed,
//! and a CPU profile that starts in the tick and lands afterwards.

use std::time::Duration;

use rewind_watchdog::{
    CpuProfileConfig, EventKind, Manifest, Metric, MetricConfig, Rule, Watchdog,
};

#[test]
fn a_live_breach_captures_stacks_proc_files_and_a_cpu_profile() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_dir("/proc/self/fd").unwrap().count() as f64;
    let dog = Watchdog::builder(dir.path())
        .own_thread(false)
        .panic_hook(false)
        .baseline(None)
        .metric(
            Metric::Fds,
            MetricConfig::capture([Rule::above(base + 200.0)]),
        )
        .cpu_profile(Some(CpuProfileConfig {
            window: Duration::from_millis(300),
            frequency: 199,
        }))
        .install()
        .unwrap();
    let held: Vec<_> = (0..300)
        .map(|_| std::fs::File::open("/dev/null").unwrap())
        .collect();
    dog.tick_now();
    let status = dog.status();
    let path = status.last_capture.clone().expect("a capture");
    let m = Manifest::read(&path).unwrap();
    let files: Vec<_> = m.files.iter().map(|f| f.path.clone()).collect();
    assert!(files.contains(&"proc/fds.txt".to_owned()), "{files:?}");
    let fds = std::fs::read_to_string(path.join("proc/fds.txt")).unwrap();
    assert!(fds.lines().filter(|l| l.ends_with("-> /dev/null")).count() >= 300);
    let threads = std::fs::read_to_string(path.join("proc/threads.txt")).unwrap();
    assert!(threads.lines().count() >= 2, "{threads}");
    if status.stack_source == "eu-stack" {
        // eu-stack may be refused (no CAP_SYS_PTRACE); then a note says so.
        assert!(
            files.contains(&"stacks.txt".to_owned())
                || m.notes.iter().any(|n| n.starts_with("stacks.txt")),
            "{m:?}"
        );
    }
    // The profile started in the tick; once its window is over it is in the capture.
    let pending = m.pending.iter().any(|p| p.path == "cpu.pprof");
    let refused = m.notes.iter().any(|n| n.starts_with("cpu.pprof"));
    assert!(pending || refused, "{m:?}");
    if pending {
        assert!(crate::wait_for(30, || dog
            .events()
            .iter()
            .any(|e| e.kind == EventKind::CaptureUpdated)));
        let m = Manifest::read(&path).unwrap();
        assert!(m.pending.is_empty(), "{m:?}");
        let written = m.files.iter().any(|f| f.path == "cpu.pprof" && f.bytes > 0);
        assert!(
            written || m.notes.iter().any(|n| n.starts_with("cpu.pprof")),
            "{m:?}"
        );
    }
    drop(held);
    dog.shutdown();
}
