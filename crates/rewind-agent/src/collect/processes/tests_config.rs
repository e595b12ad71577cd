//! The config section, and the watcher on the live `/proc`.

use std::{path::PathBuf, time::Duration};

use rewind_model::Timestamp;

use super::{
    Config, clock_ticks,
    fixture::{config, value, watch, watcher},
};
use crate::collect::{Batch, Poll as _};

#[test]
fn a_full_section_parses_into_one_poller() {
    let yaml = "interval: 2s\nproc_root: /host/proc\nwatch:\n\
        \x20 - name: web\n    process: nginx\n\
        \x20 - name: db\n    pid_file: /run/db.pid\n\
        \x20 - name: nav\n    cmdline: 'python3 .*nav'\n\
        \x20 - name: robot\n    systemd_unit: robot.service\n";
    let c: Config = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(c.proc_root, PathBuf::from("/host/proc"));
    assert_eq!(c.watch.len(), 4);
    let pollers = c.pollers().unwrap();
    let [p] = pollers.as_slice() else {
        panic!("{pollers:?}")
    };
    assert_eq!((p.name, p.interval), ("processes", Duration::from_secs(2)));
    assert!(serde_saphyr::from_str::<Config>("watch:\n  - name: x\n    proces: nginx\n").is_err());
}

#[test]
fn nothing_runs_without_entries_or_when_disabled() {
    let d = Config::default();
    assert!(d.enabled);
    assert_eq!(
        (d.interval, d.proc_root.as_path()),
        (Duration::from_secs(1), std::path::Path::new("/proc"))
    );
    assert!(d.pollers().unwrap().is_empty());
    let off = Config {
        enabled: false,
        ..config(vec![watch("web", |w| w.process = Some("nginx".into()))])
    };
    assert!(off.pollers().unwrap().is_empty());
}

#[test]
fn every_config_problem_is_reported_with_what_to_do() {
    let entries = vec![
        watch("", |w| w.process = Some("nginx".into())),
        watch("Web Server", |w| w.process = Some("nginx".into())),
        watch("web", |w| w.process = Some("nginx".into())),
        watch("web", |w| w.process = Some("nginx".into())),
        watch("none", |_| {}),
        watch("two", |w| {
            w.process = Some("nginx".into());
            w.cmdline = Some("nginx".into());
        }),
        watch("regex", |w| w.cmdline = Some("worker(".into())),
        watch("long", |w| {
            w.process = Some("chrome_crashpad_handler".into())
        }),
        watch("unit", |w| w.systemd_unit = Some("robot".into())),
    ];
    let err = config(entries).pollers().unwrap_err().to_string();
    assert!(err.starts_with("collectors.processes: "), "{err}");
    for expected in [
        "watch[0]: give it a `name`",
        "name \"Web Server\" may only use a-z, 0-9",
        "watch[3] (\"web\"): name \"web\" is already used by watch[2]",
        "watch[4] (\"none\"): give exactly one of `process`, `pid_file`, `cmdline`, `systemd_unit` (found none)",
        "(found process and cmdline)",
        "`cmdline` \"worker(\" is not a valid regex",
        "write \"chrome_crashpad\" or use `cmdline`",
        "`systemd_unit` \"robot\" is not a unit name",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
    assert!(!err.contains('\n'), "one line: {err}");
    let disabled = Config {
        enabled: false,
        ..config(vec![watch("x", |_| {})])
    };
    assert!(
        disabled.pollers().is_err(),
        "a broken entry is reported even while disabled"
    );
}

#[test]
fn clock_ticks_come_from_getconf_or_default_to_100() {
    let t = clock_ticks();
    assert!((1..=1_000_000).contains(&t), "{t}");
}

fn live_pass(w: &mut super::Watcher) -> Batch {
    let mut b = Batch::new(Timestamp::now());
    w.poll(&mut b);
    b
}

#[test]
fn watches_this_test_process_on_the_live_machine() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("me.pid");
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    let comm = std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim_end()
        .to_owned();
    let entries = vec![
        watch("me", |w| w.pid_file = Some(pid_file.clone())),
        watch("by-name", |w| w.process = Some(comm.clone())),
        watch("unit", |w| {
            w.systemd_unit = Some("rewind-nonexistent-test.service".into())
        }),
    ];
    let mut w = watcher(std::path::Path::new("/proc"), entries);
    live_pass(&mut w);
    let out = live_pass(&mut w);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(value(&out, "process.me.count"), Some(1.0));
    assert!(value(&out, "process.me.rss_bytes").unwrap() > 0.0);
    assert!(value(&out, "process.me.fds").unwrap() > 0.0);
    assert!(value(&out, "process.me.fd_limit").unwrap() > 0.0);
    assert!(value(&out, "process.me.threads").unwrap() >= 1.0);
    assert!(value(&out, "process.me.uptime_s").unwrap() >= 0.0);
    assert!(value(&out, "process.me.cpu_pct").unwrap() >= 0.0);
    // Other copies of this test binary (other test runs) may share the name.
    assert!(value(&out, "process.by-name.count").unwrap() >= 1.0);
    assert!(value(&out, "process.by-name.rss_bytes").unwrap() > 0.0);
    assert!(value(&out, "process.by-name.fds").unwrap() > 0.0);
    assert_eq!(value(&out, "process.unit.count"), Some(0.0));
}

#[test]
fn the_built_poller_matches_this_test_binary_by_cmdline() {
    let c = config(vec![watch("tests", |w| {
        w.cmdline = Some("rewind_agent-[0-9a-f]+".into())
    })]);
    let mut pollers = c.pollers().unwrap();
    let [p] = pollers.as_mut_slice() else {
        panic!("{pollers:?}")
    };
    let mut b = Batch::new(Timestamp::now());
    p.poll.poll(&mut b);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    assert!(value(&b, "process.tests.count").unwrap() >= 1.0, "{b:?}");
}
