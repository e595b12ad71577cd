//! The bench: a short run checks it works; the full run prints the figures
//! (`cargo test --release -p rewind-watchdog --test it bench -- --ignored --nocapture`).

use rewind_watchdog::bench::{BenchOptions, run};

/// In a child process: the bench counts this process's descriptors, which
/// other tests open and close meanwhile.
#[test]
fn a_quick_bench_measures_the_tick_and_the_breach() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::child("bench", dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("bench: "))
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(r["ticks"].as_u64().unwrap() > 0, "{r}");
    assert!(r["cpu_percent"].as_f64().unwrap() >= 0.0, "{r}");
    assert!(r["capture"].is_string(), "the forced breach captured: {r}");
    assert!(r["tick_to_stacks_ms"].as_f64().is_some(), "{r}");
    assert!(r["breach_to_stacks_ms"].as_f64().is_some(), "{r}");
}

#[test]
#[ignore = "a 20-second measurement; run with --release --ignored --nocapture"]
fn bench_figures() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&BenchOptions::new(dir.path())).unwrap();
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}
