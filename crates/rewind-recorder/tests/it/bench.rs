//! `bench::run` works end to end. Figures are never asserted (wall clock);
//! `bench_figures` prints a full run:
//! `cargo test --release -p rewind-recorder --test it bench_figures -- --ignored --nocapture`.

use std::time::Duration;

use rewind_recorder::bench::{BenchOptions, run};

#[test]
fn bench_runs_and_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let options = BenchOptions {
        latency_samples: 2_000,
        sustained: Duration::from_millis(300),
        compression_cycles: 2_000,
        ..BenchOptions::quick(dir.path())
    };
    let report = run(&options).unwrap();
    assert_eq!(report.record.samples, 2_000);
    assert!(report.record.p50_ns <= report.record.p99_ns);
    assert!(report.record.p99_ns <= report.record.max_ns);
    let s = &report.sustained;
    assert!(s.cycles > 0);
    assert_eq!(s.messages_per_cycle, 8);
    assert_eq!(s.queued + s.dropped, s.cycles * 8);
    assert_eq!(s.written, s.queued);
    assert!(s.file_bytes > 0);
    let groups: Vec<_> = report
        .compression
        .iter()
        .map(|c| c.channels.as_str())
        .collect();
    assert_eq!(groups, ["cycle", "guard"]);
    for c in &report.compression {
        assert!(c.compressed_bytes > 0 && c.compressed_bytes < c.uncompressed_bytes);
        assert!((c.ratio + c.reduction - 1.0).abs() < 1e-9);
    }
}

#[test]
#[ignore = "prints the full figures; run in release"]
fn bench_figures() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(&BenchOptions::new(dir.path())).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
