//! The watcher on fake `/proc` trees: values, rates, events, pid reuse, hostile input.

use rewind_model::{EventKind, Level};

use super::fixture::{Fake, pass, proc_root, unit, value, watch, watcher};

pub(super) fn web() -> super::Watch {
    watch("web", |w| w.process = Some("nginx".into()))
}

#[test]
fn sums_every_series_over_the_matching_processes() {
    let root = proc_root();
    let p = root.path();
    let a = Fake {
        state: 'S',
        threads: 4,
        rss_kb: 2000,
        fds: 5,
        fd_soft: 1000,
        start: 500,
        ..Fake::new(100, "nginx")
    };
    let b = Fake {
        state: 'R',
        threads: 2,
        rss_kb: 1000,
        fds: 10,
        fd_soft: 100,
        start: 700,
        ..Fake::new(101, "nginx")
    };
    let z = Fake {
        state: 'Z',
        fds: 0,
        start: 800,
        ..Fake::new(102, "nginx")
    };
    for f in [
        a,
        b,
        z,
        Fake::new(200, "bash"),
        Fake::new(201, "nginx-helper"),
    ] {
        f.write(p);
    }
    let mut w = watcher(
        p,
        vec![web(), watch("gone", |w| w.process = Some("absent".into()))],
    );
    let out = pass(&mut w, 100);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert!(out.events.is_empty());
    let v = |s: &str| value(&out, &format!("process.web.{s}"));
    assert_eq!(v("count"), Some(3.0));
    assert_eq!(
        v("rss_bytes"),
        Some(3000.0 * 1024.0),
        "a zombie has no VmRSS"
    );
    assert_eq!(v("threads"), Some(7.0));
    assert_eq!(v("fds"), Some(15.0));
    assert_eq!(v("fd_limit"), Some(2124.0));
    assert_eq!(
        v("fd_used_pct"),
        Some(10.0),
        "the fullest process: 10 of 100"
    );
    assert_eq!(v("state_running"), Some(1.0));
    assert_eq!(v("state_sleeping"), Some(1.0));
    assert_eq!(v("state_disk_wait"), Some(0.0));
    assert_eq!(v("state_zombie"), Some(1.0));
    assert_eq!(
        v("uptime_s"),
        Some(95.0),
        "oldest started 5 s after boot, now 100 s"
    );
    assert_eq!(v("cpu_pct"), None, "needs two passes");
    assert_eq!(unit(&out, "process.web.rss_bytes"), Some("bytes"));
    assert_eq!(unit(&out, "process.web.uptime_s"), Some("seconds"));
    assert_eq!(unit(&out, "process.web.fd_used_pct"), Some("percent"));
    let g = |s: &str| value(&out, &format!("process.gone.{s}"));
    assert_eq!(
        (g("count"), g("fds"), g("rss_bytes"), g("state_zombie")),
        (Some(0.0), Some(0.0), Some(0.0), Some(0.0))
    );
    assert_eq!(
        (g("fd_limit"), g("fd_used_pct"), g("uptime_s")),
        (None, None, None)
    );
}

#[test]
fn selects_by_pid_file_cmdline_and_systemd_unit() {
    let root = proc_root();
    let p = root.path();
    let pid_file = root.path().join("db.pid");
    std::fs::write(&pid_file, "200\n").unwrap();
    Fake::new(200, "postgres").write(p);
    Fake::new(201, "postgres").write(p);
    Fake {
        cmdline: &["python3", "/opt/worker.py", "--fast"],
        ..Fake::new(300, "python3")
    }
    .write(p);
    Fake {
        cmdline: &["python3", "/opt/other.py"],
        ..Fake::new(301, "python3")
    }
    .write(p);
    Fake {
        cgroup: "0::/system.slice/robot.service\n",
        ..Fake::new(400, "robotd")
    }
    .write(p);
    Fake {
        cgroup: "1:name=systemd:/system.slice/robot.service/payload\n0::/\n",
        ..Fake::new(401, "sh")
    }
    .write(p);
    Fake {
        cgroup: "0::/system.slice/other-robot.service\n",
        ..Fake::new(402, "robotd")
    }
    .write(p);
    let mut w = watcher(
        p,
        vec![
            watch("db", |w| w.pid_file = Some(pid_file.clone())),
            watch("worker", |w| {
                w.cmdline = Some(r"^python3 \S*worker\.py --fast$".into())
            }),
            watch("robot", |w| w.systemd_unit = Some("robot.service".into())),
            watch("absent-file", |w| {
                w.pid_file = Some(root.path().join("none.pid"))
            }),
        ],
    );
    let out = pass(&mut w, 10);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(value(&out, "process.db.count"), Some(1.0));
    assert_eq!(value(&out, "process.worker.count"), Some(1.0));
    assert_eq!(value(&out, "process.robot.count"), Some(2.0));
    assert_eq!(
        value(&out, "process.absent-file.count"),
        Some(0.0),
        "no pid file: not running, not a problem"
    );
}

#[test]
fn cpu_pct_is_ticks_over_wall_time() {
    let root = proc_root();
    let p = root.path();
    Fake {
        utime: 10,
        stime: 5,
        ..Fake::new(100, "nginx")
    }
    .write(p);
    Fake::new(101, "nginx").write(p);
    let mut w = watcher(p, vec![web()]);
    assert_eq!(value(&pass(&mut w, 10), "process.web.cpu_pct"), None);
    // 100 + 50 ticks in one second at 100 ticks/s: one and a half cores.
    Fake {
        utime: 100,
        stime: 15,
        ..Fake::new(100, "nginx")
    }
    .write(p);
    Fake {
        utime: 30,
        stime: 20,
        ..Fake::new(101, "nginx")
    }
    .write(p);
    Fake {
        utime: 5000,
        start: 1050,
        ..Fake::new(102, "nginx")
    }
    .write(p);
    let out = pass(&mut w, 11);
    assert_eq!(
        value(&out, "process.web.cpu_pct"),
        Some(150.0),
        "a process seen once is not counted yet"
    );
    // 50 ticks over two seconds.
    Fake {
        utime: 150,
        stime: 15,
        ..Fake::new(100, "nginx")
    }
    .write(p);
    let out = pass(&mut w, 13);
    assert_eq!(value(&out, "process.web.cpu_pct"), Some(25.0));
    assert_eq!(unit(&out, "process.web.cpu_pct"), Some("percent"));
}

#[test]
fn a_vanished_process_is_missing_and_its_return_a_restart() {
    let root = proc_root();
    let p = root.path();
    Fake::new(100, "nginx").write(p);
    let mut w = watcher(p, vec![web()]);
    assert!(
        pass(&mut w, 1).events.is_empty(),
        "already running at start: no event"
    );
    std::fs::remove_dir_all(p.join("100")).unwrap();
    let out = pass(&mut w, 2);
    assert_eq!(value(&out, "process.web.count"), Some(0.0));
    let [missing] = out.events.as_slice() else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        (&missing.kind, missing.level, missing.source.as_str()),
        (&EventKind::ProcessMissing, Level::Error, "process")
    );
    assert_eq!(missing.fields["process"], "web");
    assert_eq!(missing.fields["pid"], "100");
    assert!(
        pass(&mut w, 3).events.is_empty(),
        "still missing: said once"
    );

    Fake::new(150, "nginx").write(p);
    let out = pass(&mut w, 4);
    let [back] = out.events.as_slice() else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        (&back.kind, back.level),
        (&EventKind::ProcessRestarted, Level::Warning)
    );
    assert_eq!(
        (
            back.fields["process"].as_str(),
            back.fields["old_pid"].as_str(),
            back.fields["new_pid"].as_str()
        ),
        ("web", "100", "150")
    );
    assert!(pass(&mut w, 5).events.is_empty());
}

#[test]
fn a_new_pid_set_is_a_restart_but_a_changing_worker_is_not() {
    let root = proc_root();
    let p = root.path();
    Fake::new(100, "nginx").write(p);
    Fake::new(101, "nginx").write(p);
    let mut w = watcher(p, vec![web()]);
    pass(&mut w, 1);
    std::fs::remove_dir_all(p.join("100")).unwrap();
    Fake::new(102, "nginx").write(p);
    assert!(pass(&mut w, 2).events.is_empty(), "101 lives on");
    for pid in [101, 102] {
        std::fs::remove_dir_all(p.join(pid.to_string())).unwrap();
    }
    Fake::new(300, "nginx").write(p);
    Fake::new(7, "nginx").write(p);
    let out = pass(&mut w, 3);
    let [e] = out.events.as_slice() else {
        panic!("{:?}", out.events)
    };
    assert_eq!(e.kind, EventKind::ProcessRestarted);
    assert_eq!(
        (e.fields["old_pid"].as_str(), e.fields["new_pid"].as_str()),
        ("101,102", "7,300")
    );
}

#[test]
fn a_reused_pid_is_a_restart_and_rematched() {
    let root = proc_root();
    let p = root.path();
    let worker = Fake {
        cmdline: &["python3", "worker.py"],
        start: 500,
        utime: 9000,
        ..Fake::new(300, "python3")
    };
    worker.write(p);
    Fake {
        start: 500,
        utime: 9000,
        ..Fake::new(100, "nginx")
    }
    .write(p);
    let worker_watch = watch("worker", |w| w.cmdline = Some("worker".into()));
    let mut w = watcher(p, vec![web(), worker_watch]);
    pass(&mut w, 10);

    // Same start time and name: the cached verdict holds without reading cmdline again.
    std::fs::remove_file(p.join("300/cmdline")).unwrap();
    let out = pass(&mut w, 11);
    assert_eq!(value(&out, "process.worker.count"), Some(1.0));
    assert!(out.problems.is_empty() && out.events.is_empty(), "{out:?}");

    // Both pids now belong to new processes.
    Fake {
        start: 2000,
        utime: 3,
        ..Fake::new(100, "nginx")
    }
    .write(p);
    Fake {
        cmdline: &["python3", "other.py"],
        start: 2000,
        ..worker
    }
    .write(p);
    let out = pass(&mut w, 30);
    assert_eq!(
        value(&out, "process.web.cpu_pct"),
        Some(0.0),
        "the new process' ticks are not a delta"
    );
    assert_eq!(
        value(&out, "process.worker.count"),
        Some(0.0),
        "re-checked: no longer a worker"
    );
    let kinds: Vec<_> = out
        .events
        .iter()
        .map(|e| (e.kind.clone(), e.fields["process"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::ProcessRestarted, "web"),
            (EventKind::ProcessMissing, "worker")
        ]
    );
    assert_eq!(
        (
            out.events[0].fields["old_pid"].as_str(),
            out.events[0].fields["new_pid"].as_str()
        ),
        ("100", "100")
    );
    assert_eq!(
        value(&out, "process.web.uptime_s"),
        Some(10.0),
        "started 20 s after boot, now 30 s"
    );
}
