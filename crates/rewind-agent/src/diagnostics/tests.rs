//! Diagnostics on fixture `/proc` trees, fake stack tools and a local HTTP server.

use std::{
    os::unix::fs::{PermissionsExt as _, symlink},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rewind_model::Timestamp;

use super::*;
use crate::redact;

const NOW: Timestamp = Timestamp::from_unix_nanos(1_778_682_622_000_000_000);

/// Writes `<root>/<pid>/` for a process named `comm` with `threads` threads.
fn fake_process(root: &Path, pid: u32, comm: &str, threads: &[u32]) {
    let dir = root.join(pid.to_string());
    std::fs::create_dir_all(dir.join("fd")).unwrap();
    std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
    std::fs::write(
        dir.join("stat"),
        format!("{pid} ({comm}) S 1 {pid} {pid} 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 100 1000 10 0\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("status"),
        format!("Name:\t{comm}\nState:\tS (sleeping)\nPid:\t{pid}\nVmRSS:\t  1000 kB\n"),
    )
    .unwrap();
    std::fs::write(dir.join("limits"), "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n").unwrap();
    std::fs::write(
        dir.join("smaps_rollup"),
        "Rss:                1000 kB\nPss:                 900 kB\n",
    )
    .unwrap();
    for (fd, target) in [
        (0, "/dev/null"),
        (10, "socket:[4711]"),
        (2, "pipe:[99]"),
        (5, "/var/log/x.log"),
    ] {
        symlink(target, dir.join("fd").join(fd.to_string())).unwrap();
    }
    for (i, tid) in threads.iter().enumerate() {
        let t = dir.join("task").join(tid.to_string());
        std::fs::create_dir_all(&t).unwrap();
        let state = if i == 0 { 'S' } else { 'D' };
        std::fs::write(
            t.join("stat"),
            format!("{tid} (worker {i}) {state} 1 {pid} {pid} 0 -1 0 0 0 0 0 {} 2 0 0 20 0 1 0 100 1000 10 0 0 0 0 0 0 0 0 0 0 0 0 0 17 {i} 0 0\n", 10 * (i + 1)),
        )
        .unwrap();
        std::fs::write(
            t.join("wchan"),
            if i == 0 {
                "do_epoll_wait"
            } else {
                "io_schedule"
            },
        )
        .unwrap();
        std::fs::write(t.join("stack"), format!("[<0>] stack_of_{tid}+0x10/0x20\n")).unwrap();
    }
}

fn files(d: &Diagnostics) -> Vec<&str> {
    d.files.iter().map(|(p, _)| p.as_str()).collect()
}

fn text<'a>(d: &'a Diagnostics, path: &str) -> &'a str {
    let (_, bytes) = d
        .files
        .iter()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", files(d)));
    std::str::from_utf8(bytes).unwrap()
}

fn has_note(d: &Diagnostics, needle: &str) -> bool {
    d.notes.iter().any(|n| n.contains(needle))
}

fn proc_only() -> Config {
    Config {
        user_stacks: false,
        ..Config::default()
    }
}

fn target(name: &str, pids: &[u32]) -> ProcessTarget {
    ProcessTarget {
        name: name.into(),
        pids: pids.to_vec(),
    }
}

#[test]
fn the_proc_files_of_a_process_are_laid_out_under_its_watch_name() {
    let tmp = tempfile::tempdir().unwrap();
    fake_process(tmp.path(), 4242, "planner", &[4242, 4250]);
    let d = capture(&proc_only(), &[target("planner", &[4242])], tmp.path(), NOW);
    assert_eq!(d.taken_at, NOW);
    assert_eq!(
        files(&d),
        [
            "processes/planner/4242/status.txt",
            "processes/planner/4242/limits.txt",
            "processes/planner/4242/smaps_rollup.txt",
            "processes/planner/4242/fds.txt",
            "processes/planner/4242/threads.txt",
            "processes/planner/4242/kernel-stacks.txt",
        ]
    );
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    assert!(text(&d, "processes/planner/4242/status.txt").starts_with("Name:\tplanner\n"));
    assert!(text(&d, "processes/planner/4242/limits.txt").contains("Max open files"));
    assert_eq!(
        text(&d, "processes/planner/4242/fds.txt"),
        "0 -> /dev/null\n2 -> pipe:[99]\n5 -> /var/log/x.log\n10 -> socket:[4711]\n"
    );
    assert_eq!(
        text(&d, "processes/planner/4242/threads.txt"),
        "# tid\tname\tstate\tutime_ticks\tstime_ticks\tlast_cpu\twchan\n\
         4242\tworker 0\tS\t10\t2\t0\tdo_epoll_wait\n\
         4250\tworker 1\tD\t20\t2\t1\tio_schedule\n"
    );
    assert_eq!(
        text(&d, "processes/planner/4242/kernel-stacks.txt"),
        "== 4242 worker 0 (S) ==\n[<0>] stack_of_4242+0x10/0x20\n== 4250 worker 1 (D) ==\n[<0>] stack_of_4250+0x10/0x20\n"
    );
    assert_eq!(
        d.total_bytes(),
        d.files.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    );
    assert!(d.summary().starts_with("6 files, "), "{}", d.summary());
}

#[test]
fn every_bound_cuts_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    fake_process(tmp.path(), 10, "svc", &[10, 11, 12]);
    fake_process(tmp.path(), 20, "svc", &[20]);
    std::fs::write(tmp.path().join("10/status"), "x".repeat(5000)).unwrap();
    let config = Config {
        max_processes: 1,
        max_fds: 2,
        max_threads: 1,
        max_file_bytes: 100,
        ..proc_only()
    };
    let d = capture(&config, &[target("svc", &[10, 20])], tmp.path(), NOW);
    assert_eq!(text(&d, "processes/svc/10/status.txt").len(), 100);
    assert_eq!(
        text(&d, "processes/svc/10/fds.txt"),
        "0 -> /dev/null\n2 -> pipe:[99]\n"
    );
    assert_eq!(text(&d, "processes/svc/10/threads.txt").lines().count(), 2);
    for note in [
        "processes/svc: 1 more processes not read (diagnostics.max_processes is 1)",
        "processes/svc/10/status.txt: truncated at 100 bytes",
        "processes/svc/10/fds.txt: 2 more file descriptors not listed (diagnostics.max_fds is 2)",
        "processes/svc/10/threads.txt: 2 more threads not listed (diagnostics.max_threads is 1)",
    ] {
        assert!(
            d.notes.iter().any(|n| n == note),
            "missing {note:?} in {:?}",
            d.notes
        );
    }
    assert!(!files(&d).iter().any(|p| p.starts_with("processes/svc/20/")));

    let tiny = Config {
        max_total_bytes: 150,
        ..config
    };
    let d = capture(&tiny, &[target("svc", &[10])], tmp.path(), NOW);
    assert!(d.total_bytes() <= 150, "{}", d.total_bytes());
    assert!(
        has_note(
            &d,
            "files left out: the capture reached diagnostics.max_total_bytes (150 bytes)"
        ),
        "{:?}",
        d.notes
    );
}

#[test]
fn missing_processes_files_and_stacks_are_notes() {
    let tmp = tempfile::tempdir().unwrap();
    fake_process(tmp.path(), 30, "svc", &[30, 31]);
    std::fs::remove_file(tmp.path().join("30/smaps_rollup")).unwrap();
    std::fs::remove_file(tmp.path().join("30/task/30/stack")).unwrap();
    let d = capture(
        &proc_only(),
        &[
            target("svc", &[30, 99]),
            target("idle", &[]),
            target("../x", &[1]),
            target("aux", &[30]),
        ],
        tmp.path(),
        NOW,
    );
    assert!(
        has_note(&d, "processes/svc/30/smaps_rollup.txt: cannot read "),
        "{:?}",
        d.notes
    );
    assert!(
        has_note(
            &d,
            "processes/svc/30/kernel-stacks.txt: unreadable: this kernel does not expose them"
        ),
        "{:?}",
        d.notes
    );
    assert!(has_note(
        &d,
        "processes/svc/99: the process exited before its diagnostics were read"
    ));
    assert!(has_note(
        &d,
        "processes/idle: no process matched when the diagnostics were taken"
    ));
    assert!(has_note(
        &d,
        "\"../x\" cannot name a folder in a bundle; skipped"
    ));
    assert!(
        !files(&d)
            .iter()
            .any(|p| p.contains("..") || p.contains("/99/"))
    );
    assert!(has_note(
        &d,
        "processes/aux_: the watch entry \"aux\" is stored as \"aux_\""
    ));
    assert!(files(&d).contains(&"processes/aux_/30/status.txt"));

    // A stack that cannot be read stops the kernel stacks of that process.
    std::fs::remove_dir_all(tmp.path().join("30/task/31")).unwrap();
    std::fs::create_dir_all(tmp.path().join("30/task/31/stack")).unwrap();
    std::fs::write(
        tmp.path().join("30/task/31/stat"),
        "31 (w) S 1 1 1 0 -1 0 0 0 0 0 1 1\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("30/task/30/stack"), "[<0>] ok\n").unwrap();
    let d = capture(&proc_only(), &[target("svc", &[30])], tmp.path(), NOW);
    assert!(
        has_note(
            &d,
            "processes/svc/30/kernel-stacks.txt: unreadable: cannot read "
        ),
        "{:?}",
        d.notes
    );
    assert_eq!(
        text(&d, "processes/svc/30/kernel-stacks.txt"),
        "== 30 worker 0 (S) ==\n[<0>] ok\n"
    );

    let off = Config {
        kernel_stacks: false,
        ..proc_only()
    };
    let d = capture(&off, &[target("svc", &[30])], tmp.path(), NOW);
    assert!(!files(&d).iter().any(|p| p.ends_with("kernel-stacks.txt")));
    let disabled = Config {
        enabled: false,
        ..Config::default()
    };
    assert!(
        capture(&disabled, &[target("svc", &[30])], tmp.path(), NOW)
            .files
            .is_empty()
    );
}

/// An executable shell script in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn with_tools(eu_stack: &Path, gdb: &Path) -> Config {
    Config {
        eu_stack: eu_stack.to_path_buf(),
        gdb: gdb.to_path_buf(),
        stack_timeout: Duration::from_millis(300),
        ..Config::default()
    }
}

#[test]
fn user_stacks_come_from_eu_stack_else_gdb_else_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let proc = tmp.path().join("proc");
    fake_process(&proc, 4242, "planner", &[4242]);
    let eu = script(
        tmp.path(),
        "eu-stack",
        r##"echo "PID $2 - process"; echo "TID $2:"; echo "#0  0x1 main""##,
    );
    let gdb = script(tmp.path(), "gdb", r#"echo "gdb $*""#);
    let missing = tmp.path().join("missing");
    let targets = [target("planner", &[4242])];

    let d = capture(&with_tools(&eu, &gdb), &targets, &proc, NOW);
    assert_eq!(
        text(&d, "processes/planner/4242/stacks.txt"),
        "# eu-stack -p 4242\nPID 4242 - process\nTID 4242:\n#0  0x1 main\n"
    );
    assert!(d.notes.is_empty(), "{:?}", d.notes);

    let d = capture(&with_tools(&missing, &gdb), &targets, &proc, NOW);
    assert_eq!(
        text(&d, "processes/planner/4242/stacks.txt"),
        "# gdb -p 4242\ngdb -nx -batch -p 4242 -ex set pagination off -ex thread apply all bt\n"
    );

    let d = capture(&with_tools(&missing, Path::new("")), &targets, &proc, NOW);
    assert!(!files(&d).iter().any(|p| p.ends_with("/stacks.txt")));
    assert!(
        has_note(&d, "no user-space stacks: neither"),
        "{:?}",
        d.notes
    );
}

#[test]
fn a_failing_or_hanging_stack_tool_is_a_note_and_the_capture_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let proc = tmp.path().join("proc");
    fake_process(&proc, 7, "a", &[7]);
    fake_process(&proc, 8, "b", &[8]);
    let failing = script(
        tmp.path(),
        "failing",
        "echo 'ptrace(PTRACE_ATTACH): Operation not permitted' >&2; exit 1",
    );
    let d = capture(
        &with_tools(&failing, Path::new("")),
        &[target("a", &[7])],
        &proc,
        NOW,
    );
    assert!(
        has_note(
            &d,
            "processes/a/7/stacks.txt: eu-stack failed (exit status: 1): ptrace(PTRACE_ATTACH): Operation not permitted"
        ),
        "{:?}",
        d.notes
    );

    // The tool (and the child it started) hang: stopped after the timeout,
    // and both processes are still handled at the same time.
    let hanging = script(tmp.path(), "hanging", "echo partial; sleep 30; sleep 30");
    let started = Instant::now();
    let d = capture(
        &with_tools(&hanging, Path::new("")),
        &[target("a", &[7]), target("b", &[8])],
        &proc,
        NOW,
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    for pid_path in ["processes/a/7/stacks.txt", "processes/b/8/stacks.txt"] {
        assert!(
            has_note(
                &d,
                &format!(
                    "{pid_path}: eu-stack did not finish within diagnostics.stack_timeout (300ms); it was stopped"
                )
            ),
            "{:?}",
            d.notes
        );
    }
    assert!(files(&d).contains(&"processes/a/7/status.txt"));
}

#[test]
fn the_default_config_is_valid_and_bad_values_are_named() {
    assert!(
        Config::default().problems().is_empty(),
        "{:?}",
        Config::default().problems()
    );
    let bad = Config {
        max_processes: 0,
        max_fds: 0,
        max_file_bytes: 10,
        stack_timeout: Duration::from_secs(61),
        pprof: vec![
            ProfileConfig {
                name: "cpu".into(),
                url: "http://127.0.0.1:6060/debug/pprof/profile?seconds=30".into(),
                ..ProfileConfig::default()
            },
            ProfileConfig {
                name: "cpu".into(),
                url: "ftp://x/".into(),
                max_bytes: 0,
                ..ProfileConfig::default()
            },
            ProfileConfig {
                name: "nul.txt".into(),
                url: "http://127.0.0.1/".into(),
                ..ProfileConfig::default()
            },
            ProfileConfig {
                name: "Bad/Name".into(),
                url: "not a url".into(),
                timeout: Duration::ZERO,
                ..ProfileConfig::default()
            },
        ],
        baselines: BaselineConfig {
            interval: Duration::from_secs(1),
            keep: 0,
            ..BaselineConfig::default()
        },
        ..Config::default()
    };
    let problems = bad.problems();
    for want in [
        "diagnostics.max_processes must be from 1 to 1024",
        "diagnostics.max_fds must be from 1 to",
        "diagnostics.max_file_bytes must be from 4096 to 16777216",
        "diagnostics.stack_timeout must be at least 100ms and at most 60s",
        "diagnostics.pprof[0] (\"cpu\"): `timeout` (10s) must be longer than the profile's seconds=30",
        "diagnostics.pprof[1] (\"cpu\"): `url` must be http:// or https://, not ftp://",
        "diagnostics.pprof[1] (\"cpu\"): `max_bytes` must be at least 1",
        "diagnostics.pprof[1] (\"cpu\"): the name is used twice",
        "diagnostics.pprof[2] (\"nul.txt\"): give it a `name`",
        "diagnostics.pprof[3] (\"Bad/Name\"): give it a `name`",
        "diagnostics.pprof[3] (\"Bad/Name\"): `url` \"not a url\" is not a URL",
        "diagnostics.pprof[3] (\"Bad/Name\"): `timeout` must be more than 0",
        "diagnostics.baselines.interval must be at least 10s",
        "diagnostics.baselines.keep must be from 1 to 100",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(want)),
            "missing {want:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 14, "{problems:#?}");
}

#[test]
fn the_config_section_parses_with_durations_and_unknown_keys_are_located() {
    let yaml = "version: 1\ndiagnostics:\n  stack_timeout: 2s\n  pprof:\n    - { name: heap, url: \"http://127.0.0.1:6060/debug/pprof/heap\", timeout: 1.5s }\n  baselines: { interval: 5m, keep: 3 }\n";
    let file = crate::AgentFile::parse(yaml, "a.yaml").unwrap();
    let d = &file.diagnostics;
    assert_eq!(d.stack_timeout, Duration::from_secs(2));
    assert_eq!(d.pprof[0].timeout, Duration::from_millis(1500));
    assert_eq!(d.pprof[0].max_bytes, 8 * 1024 * 1024);
    assert_eq!(
        (d.baselines.interval, d.baselines.keep),
        (Duration::from_secs(300), 3)
    );
    assert!(d.baselines.enabled && d.problems().is_empty());
    let err = crate::AgentFile::parse(
        "version: 1\ndiagnostics:\n  baselines:\n    every: 5m\n",
        "a.yaml",
    )
    .unwrap_err();
    assert!(
        err.starts_with("a.yaml:4:") && err.contains("every"),
        "{err}"
    );
}

#[test]
fn redaction_skips_profiles() {
    let mut d = Diagnostics {
        files: vec![
            (
                "processes/a/1/stacks.txt".into(),
                b"#1 connect (host=10.1.2.3)".to_vec(),
            ),
            ("diagnostics/pprof/heap".into(), b"10.1.2.3".to_vec()),
        ],
        ..Diagnostics::default()
    };
    let mut counts = redact::Counts::default();
    d.redact(&redact::Config::default().build().unwrap(), &mut counts);
    assert_eq!(d.files[0].1, b"#1 connect (host=<redacted:ipv4>)");
    assert_eq!(d.files[1].1, b"10.1.2.3");
    assert_eq!(counts.get("ipv4"), 1);
}

/// A loopback server: `/heap` answers at once, `/big` with 100 KiB,
/// `/slow` after 10 s, `/missing` with 404.
async fn profile_server() -> String {
    use axum::{Router, routing::get};
    let app = Router::new()
        .route("/heap", get(|| async { vec![0x1f_u8, 0x8b, 1, 2, 3] }))
        .route("/big", get(|| async { vec![b'g'; 100 * 1024] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route(
            "/missing",
            get(|| async { (axum::http::StatusCode::NOT_FOUND, "no") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}")
}

fn profile(name: &str, url: String) -> ProfileConfig {
    ProfileConfig {
        name: name.into(),
        url,
        timeout: Duration::from_millis(700),
        ..ProfileConfig::default()
    }
}

#[tokio::test]
async fn the_capturer_finds_the_watched_processes_and_fetches_profiles_at_once() {
    let base = profile_server().await;
    let tmp = tempfile::tempdir().unwrap();
    fake_process(tmp.path(), 4242, "planner", &[4242]);
    fake_process(tmp.path(), 4300, "other", &[4300]);
    let processes: processes::Config = serde_saphyr::from_str(&format!(
        "proc_root: {}\nwatch:\n  - {{ name: planner, process: planner }}\n  - {{ name: gone, process: gone }}\n",
        tmp.path().display()
    ))
    .unwrap();
    let mut config = Config {
        user_stacks: false,
        pprof: vec![
            profile("heap.pb.gz", format!("{base}/heap")),
            profile("big.txt", format!("{base}/big")),
            profile("slow", format!("{base}/slow")),
            profile("slow2", format!("{base}/slow")),
            profile("missing", format!("{base}/missing")),
            profile("refused", "http://127.0.0.1:9/nothing".into()),
        ],
        ..Config::default()
    };
    config.pprof[1].max_bytes = 1000;
    let capturer = Capturer::new(&config, &processes);
    let started = Instant::now();
    let d = capturer.capture(NOW, Purpose::Trigger).await;
    let took = started.elapsed();
    // Two slow profiles of 700 ms each, fetched at once.
    assert!(took < Duration::from_millis(1400), "took {took:?}");
    assert_eq!(
        files(&d),
        [
            "processes/planner/4242/status.txt",
            "processes/planner/4242/limits.txt",
            "processes/planner/4242/smaps_rollup.txt",
            "processes/planner/4242/fds.txt",
            "processes/planner/4242/threads.txt",
            "processes/planner/4242/kernel-stacks.txt",
            "diagnostics/pprof/heap.pb.gz",
            "diagnostics/pprof/big.txt",
        ]
    );
    assert_eq!(d.files[6].1, [0x1f, 0x8b, 1, 2, 3]);
    assert_eq!(d.files[7].1.len(), 1000);
    for note in [
        "processes/gone: no process matched",
        "diagnostics/pprof/big.txt: truncated at 1000 bytes",
        "diagnostics/pprof/slow: no complete answer within its timeout (700ms)",
        "diagnostics/pprof/slow2: no complete answer within its timeout (700ms)",
        "diagnostics/pprof/missing: the server answered 404 Not Found",
        "diagnostics/pprof/refused: ",
    ] {
        assert!(has_note(&d, note), "missing {note:?} in {:#?}", d.notes);
    }
    assert_eq!(d.notes.len(), 6, "{:#?}", d.notes);

    // A baseline without profiles, and a disabled capturer.
    let no_pprof = Config {
        baselines: BaselineConfig {
            pprof: false,
            ..BaselineConfig::default()
        },
        ..config.clone()
    };
    let d = Capturer::new(&no_pprof, &processes)
        .capture(NOW, Purpose::Baseline)
        .await;
    assert!(!files(&d).iter().any(|p| p.starts_with("diagnostics/")));
    assert!(files(&d).contains(&"processes/planner/4242/status.txt"));
    let off = Config {
        enabled: false,
        ..config
    };
    let d = Capturer::new(&off, &processes)
        .capture(NOW, Purpose::Trigger)
        .await;
    assert!(d.files.is_empty() && d.notes.is_empty());
}

#[tokio::test]
async fn a_broken_watch_list_is_a_note() {
    let processes = processes::Config {
        proc_root: PathBuf::from("/nonexistent-proc-root"),
        watch: vec![processes::Watch {
            name: "x".into(),
            process: Some("x".into()),
            ..processes::Watch::default()
        }],
        ..processes::Config::default()
    };
    let d = Capturer::new(&Config::default(), &processes)
        .capture(NOW, Purpose::Trigger)
        .await;
    assert!(
        has_note(&d, "processes: cannot find the watched processes: "),
        "{:?}",
        d.notes
    );
}
