//! The watcher on hostile fake `/proc` trees: vanished, garbled and missing files.

use std::path::PathBuf;

use super::{
    fixture::{Fake, pass, proc_root, value, watch, watcher},
    tests::web,
};

#[test]
fn vanishing_and_garbled_processes_do_not_stop_a_pass() {
    let root = proc_root();
    let p = root.path();
    Fake::new(100, "nginx").write(p);
    std::fs::create_dir(p.join("500")).unwrap();
    std::fs::write(p.join("500/comm"), "nginx\n").unwrap(); // exited after its comm was read
    Fake::new(501, "nginx").write(p);
    std::fs::write(p.join("501/stat"), b"\xff\xfe(((garbage").unwrap();
    Fake::new(502, "nginx").write(p);
    std::fs::write(p.join("502/limits"), "Limit Soft Hard Units\n").unwrap();
    std::fs::create_dir(p.join("12abc")).unwrap();
    let pid_file = p.join("bad.pid");
    std::fs::write(&pid_file, "not a pid\n").unwrap();
    let mut w = watcher(
        p,
        vec![web(), watch("db", |w| w.pid_file = Some(pid_file.clone()))],
    );
    let out = pass(&mut w, 5);
    assert_eq!(value(&out, "process.web.count"), Some(2.0));
    assert_eq!(value(&out, "process.web.fds"), Some(6.0));
    assert_eq!(
        value(&out, "process.web.fd_limit"),
        None,
        "one limit unknown"
    );
    assert_eq!(value(&out, "process.db.count"), Some(0.0));
    let mut sources: Vec<&str> = out.problems.iter().map(|x| x.source.as_str()).collect();
    sources.sort_unstable();
    assert_eq!(
        sources,
        ["processes/db", "processes/scan", "processes/web"],
        "{:?}",
        out.problems
    );
    assert!(
        out.problems.iter().any(|x| x.error.contains("501/stat")),
        "{:?}",
        out.problems
    );
}

#[test]
fn a_missing_boot_time_or_proc_root_is_a_problem() {
    let root = proc_root();
    Fake::new(100, "nginx").write(root.path());
    std::fs::write(root.path().join("stat"), "cpu 1 2 3\n").unwrap();
    let mut w = watcher(root.path(), vec![web()]);
    let out = pass(&mut w, 5);
    assert_eq!(value(&out, "process.web.count"), Some(1.0));
    assert_eq!(value(&out, "process.web.uptime_s"), None);
    assert_eq!(
        out.problems
            .iter()
            .map(|x| x.source.as_str())
            .collect::<Vec<_>>(),
        ["processes/stat"]
    );

    let mut w = watcher(&PathBuf::from("/nonexistent/proc"), vec![web()]);
    let out = pass(&mut w, 5);
    assert!(out.readings.is_empty());
    assert_eq!(
        out.problems
            .iter()
            .map(|x| x.source.as_str())
            .collect::<Vec<_>>(),
        ["processes/list"]
    );
}
