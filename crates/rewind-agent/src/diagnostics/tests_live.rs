//! Diagnostics on the live machine: this test process, and a child it starts.
//! Nothing is assumed about privileges or installed tools; what is missing
//! must be a note. Timings are printed (run with `--nocapture` to see them),
//! never asserted.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use rewind_model::Timestamp;

use super::*;

fn has(d: &Diagnostics, suffix: &str) -> bool {
    d.files.iter().any(|(p, _)| p.ends_with(suffix))
}

#[test]
fn this_process_is_captured_quickly_from_the_live_proc() {
    let me = std::process::id();
    let targets = [ProcessTarget {
        name: "self".into(),
        pids: vec![me],
    }];
    let config = Config::default();
    // Warm once (page cache, dentries), then time a few passes.
    let _ = capture(&config, &targets, Path::new("/proc"), Timestamp::now());
    let mut times = Vec::new();
    let mut d = Diagnostics::default();
    for _ in 0..5 {
        let started = Instant::now();
        d = capture(&config, &targets, Path::new("/proc"), Timestamp::now());
        times.push(started.elapsed());
    }
    times.sort();
    let median = times.get(2).copied().unwrap_or_default();
    println!(
        "live diagnostics of this test process (pid {me}): {}; median of 5 passes {:.2} ms (min {:.2} ms, max {:.2} ms)",
        d.summary(),
        median.as_secs_f64() * 1e3,
        times.first().copied().unwrap_or_default().as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    for note in &d.notes {
        println!("  note: {note}");
    }
    let prefix = format!("processes/self/{me}/");
    for file in ["status.txt", "limits.txt", "fds.txt", "threads.txt"] {
        assert!(
            has(&d, &format!("{prefix}{file}")),
            "no {file}: {:?}",
            d.notes
        );
    }
    let status = &d
        .files
        .iter()
        .find(|(p, _)| p.ends_with("status.txt"))
        .unwrap()
        .1;
    assert!(String::from_utf8_lossy(status).contains(&format!("Pid:\t{me}")));
    let threads = &d
        .files
        .iter()
        .find(|(p, _)| p.ends_with("threads.txt"))
        .unwrap()
        .1;
    assert!(String::from_utf8_lossy(threads).contains(&format!("\n{me}\t")));
    // Kernel stacks: a file as root, a note otherwise; never silence.
    assert!(
        has(&d, "kernel-stacks.txt") || d.notes.iter().any(|n| n.contains("kernel-stacks.txt")),
        "{:?}",
        d.notes
    );
    // The agent never attaches a debugger to itself.
    assert!(!d.files.iter().any(|(p, _)| p.ends_with("/stacks.txt")));
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("this is the agent itself") || n.contains("no user-space stacks")),
        "{:?}",
        d.notes
    );
}

#[test]
fn a_live_child_gets_user_stacks_or_a_note_saying_why_not() {
    let mut child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let targets = [ProcessTarget {
        name: "sleeper".into(),
        pids: vec![pid],
    }];
    let tool = stacks::Tool::find(&Config::default());
    let started = Instant::now();
    let d = capture(
        &Config::default(),
        &targets,
        Path::new("/proc"),
        Timestamp::now(),
    );
    let took = started.elapsed();
    let proc_only = capture(
        &Config {
            user_stacks: false,
            ..Config::default()
        },
        &targets,
        Path::new("/proc"),
        Timestamp::now(),
    );
    child.kill().ok();
    child.wait().ok();
    println!(
        "live diagnostics of a child with user stacks ({}): {} (wall {:.1} ms); /proc only: {:.2} ms",
        tool.as_ref().map_or("no tool", |t| t.name()),
        d.summary(),
        took.as_secs_f64() * 1e3,
        proc_only.elapsed.as_secs_f64() * 1e3
    );
    if let Some((_, bytes)) = d.files.iter().find(|(p, _)| p.ends_with("/stacks.txt")) {
        for line in String::from_utf8_lossy(bytes).lines().take(6) {
            println!("  | {line}");
        }
    }
    for note in &d.notes {
        println!("  note: {note}");
    }
    let stacks = format!("processes/sleeper/{pid}/stacks.txt");
    match tool {
        None => assert!(
            d.notes.iter().any(|n| n.contains("no user-space stacks")),
            "{:?}",
            d.notes
        ),
        Some(_) => assert!(
            d.files.iter().any(|(p, _)| *p == stacks)
                || d.notes.iter().any(|n| n.starts_with(&stacks)),
            "{:?}",
            d.notes
        ),
    }
    assert!(took < Config::default().stack_timeout + Duration::from_secs(3));
}

#[test]
fn the_collector_matching_finds_this_process() {
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    let processes = processes::Config {
        watch: vec![processes::Watch {
            name: "me".into(),
            process: Some(comm.trim().to_owned()),
            ..processes::Watch::default()
        }],
        ..processes::Config::default()
    };
    let started = Instant::now();
    let found = ProcessTarget::find(&processes).unwrap();
    let took = started.elapsed();
    let processes_here = std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        })
        .count();
    println!(
        "finding the watched processes among {processes_here} took {:.2} ms",
        took.as_secs_f64() * 1e3
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "me");
    assert!(found[0].pids.contains(&std::process::id()), "{found:?}");
}

#[test]
fn an_interrupted_stack_tool_leaves_the_process_running() {
    let Some(tool) = stacks::Tool::find(&Config::default()) else {
        println!("no eu-stack or gdb here: nothing to interrupt");
        return;
    };
    // Stopped before, while and after attaching (gdb takes ~0.5 s here).
    for ms in [1, 100, 250] {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let started = Instant::now();
        let dump = stacks::dump(
            &tool,
            pid,
            Path::new("/proc"),
            Duration::from_millis(ms),
            1 << 20,
        );
        let took = started.elapsed();
        std::thread::sleep(Duration::from_millis(50));
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        child.kill().ok();
        child.wait().ok();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        println!(
            "{} stopped after {ms} ms: took {:.1} ms, process state {state:?}, notes {:?}",
            tool.name(),
            took.as_secs_f64() * 1e3,
            dump.notes
        );
        assert_ne!(state, Some('T'), "left stopped: {:?}", dump.notes);
        assert_ne!(state, Some('t'), "left traced: {:?}", dump.notes);
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}
