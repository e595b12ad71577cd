//! `rewind watchdog list|history|contention` on a directory written by the
//! real watchdog, and `rewind bench watchdog --json`.

use crate::proc::run;

#[test]
fn the_history_list_and_contention_read_a_real_watchdog_directory() {
    let dir = tempfile::tempdir().unwrap();
    let wd = dir.path().join("watchdog");
    // A run of this process that stops cleanly.
    let watchdog = rewind_watchdog::Watchdog::builder(&wd)
        .panic_hook(false)
        .install()
        .unwrap();
    watchdog.shutdown();
    let wd_s = wd.to_str().unwrap();

    let ran = run(&["watchdog", "history", wd_s, "--json"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let history: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let runs = history["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{history:#}");
    assert_eq!(runs[0]["pid"], std::process::id());
    assert_eq!(runs[0]["end"]["end"], "clean", "{history:#}");
    assert_eq!(history["crash_loops"].as_array().unwrap().len(), 0);
    let ran = run(&["watchdog", "history", wd_s]);
    assert!(
        ran.stdout.contains("clean (shutdown)") && ran.stdout.contains("1 run(s)"),
        "{}",
        ran.stdout
    );

    let ran = run(&["watchdog", "list", wd_s]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("0 capture(s)"), "{}", ran.stdout);

    let ran = run(&["watchdog", "contention", wd_s, "--window", "5s"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let control = wd
        .join(rewind_watchdog::CONTROL_DIR)
        .join(rewind_watchdog::CONTENTION_FILE);
    assert_eq!(std::fs::read_to_string(control).unwrap().trim(), "5");

    let ran = run(&[
        "watchdog",
        "history",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_eq!(ran.code, Some(2), "{}", ran.stdout);
    assert!(ran.stderr.contains("is not a directory"), "{}", ran.stderr);
}

#[test]
fn bench_watchdog_reports_its_figures_as_json() {
    let ran = run(&["bench", "watchdog", "--seconds", "1", "--json"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    for key in [
        "cpu_percent",
        "tick_to_stacks_ms",
        "breach_to_stacks_ms",
        "interval_ms",
    ] {
        assert!(
            report[key].as_f64().is_some_and(|x| x >= 0.0),
            "{key}: {report:#}"
        );
    }
    assert_eq!(report["interval_ms"], 500.0);
    assert!(report["ticks"].as_u64().unwrap() >= 1, "{report:#}");
}
