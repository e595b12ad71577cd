use std::fs;

use rewind_model::Timestamp;

use super::*;

const CPU_STAT: &str = "usage_usec 1910609760\nuser_usec 1500850768\nsystem_usec 409758992\nnr_periods 5000\nnr_throttled {nr}\nthrottled_usec {us}\nnr_bursts 0\nburst_usec 0\n";
const EVENTS: &str = "low 0\nhigh 0\nmax 12\noom {oom}\noom_kill {kill}\noom_group_kill 0\n";

/// A unified hierarchy with the agent in `rewind.service` (memory only,
/// no limit) and a watched `robot.service` with every file.
fn fixture() -> (tempfile::TempDir, tempfile::TempDir) {
    let proc = tempfile::tempdir().unwrap();
    fs::create_dir_all(proc.path().join("self")).unwrap();
    fs::write(
        proc.path().join("self/cgroup"),
        "0::/system.slice/rewind.service\n",
    )
    .unwrap();
    let sys = tempfile::tempdir().unwrap();
    let root = sys.path().join("fs/cgroup");
    fs::create_dir_all(root.join("system.slice/rewind.service")).unwrap();
    fs::create_dir_all(root.join("system.slice/robot.service")).unwrap();
    fs::write(
        root.join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    )
    .unwrap();
    fs::write(
        root.join("cpu.stat"),
        "usage_usec 1\nuser_usec 1\nsystem_usec 0\n",
    )
    .unwrap();
    let agent = root.join("system.slice/rewind.service");
    fs::write(agent.join("memory.current"), "52428800\n").unwrap();
    fs::write(agent.join("memory.max"), "max\n").unwrap();
    let robot = root.join("system.slice/robot.service");
    fs::write(robot.join("memory.current"), "1073741824\n").unwrap();
    fs::write(robot.join("memory.max"), "2147483648\n").unwrap();
    set(
        &sys,
        "memory.events",
        &EVENTS.replace("{oom}", "1").replace("{kill}", "1"),
    );
    set(
        &sys,
        "cpu.stat",
        &CPU_STAT.replace("{nr}", "10").replace("{us}", "1000000"),
    );
    (proc, sys)
}

fn set(sys: &tempfile::TempDir, file: &str, text: &str) {
    fs::write(
        sys.path()
            .join("fs/cgroup/system.slice/robot.service")
            .join(file),
        text,
    )
    .unwrap();
}

fn watch(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

fn poll(c: &mut Cgroups, millis: u64) -> Batch {
    let mut out = Batch::new(Timestamp::from_unix_millis(9));
    c.poll(Duration::from_millis(millis), &mut String::new(), &mut out);
    out
}

use crate::collect::system::common::value;

#[test]
fn reads_the_agent_and_watched_cgroups() {
    let (proc, sys) = fixture();
    let w = watch(&["/system.slice/robot.service", "/missing.service", "/"]);
    let mut c = Cgroups::discover(proc.path(), sys.path(), &w, Duration::from_secs(60)).unwrap();
    let b = poll(&mut c, 1000);
    assert!(b.problems.is_empty() && b.events.is_empty(), "{b:?}");
    assert_eq!(
        value(&b, "cgroup.agent.memory_current_bytes"),
        Some(52_428_800.0)
    );
    assert_eq!(
        value(&b, "cgroup.agent.memory_max_bytes"),
        None,
        "`max` is no limit"
    );
    assert_eq!(
        value(&b, "cgroup.system_slice_robot_service.memory_max_bytes"),
        Some(2_147_483_648.0)
    );
    assert_eq!(
        value(&b, "cgroup.system_slice_robot_service.oom_kill_total"),
        Some(1.0)
    );
    assert_eq!(
        value(&b, "cgroup.system_slice_robot_service.cpu_nr_throttled"),
        Some(10.0)
    );
    assert_eq!(
        value(
            &b,
            "cgroup.system_slice_robot_service.cpu_throttled_us_per_s"
        ),
        None,
        "needs two passes"
    );
    assert!(
        b.readings
            .iter()
            .all(|r| !r.series.as_str().starts_with("cgroup.root.")),
        "root has only usage"
    );
}

#[test]
fn throttling_is_an_exact_rate_and_an_oom_kill_an_event() {
    let (proc, sys) = fixture();
    let w = watch(&["/system.slice/robot.service"]);
    let mut c = Cgroups::discover(proc.path(), sys.path(), &w, Duration::from_secs(60)).unwrap();
    assert!(
        poll(&mut c, 1000).events.is_empty(),
        "kills before the agent started are no event"
    );
    // 250 ms later: 50 ms more throttled, one more OOM kill.
    set(
        &sys,
        "cpu.stat",
        &CPU_STAT.replace("{nr}", "12").replace("{us}", "1050000"),
    );
    set(
        &sys,
        "memory.events",
        &EVENTS.replace("{oom}", "2").replace("{kill}", "2"),
    );
    let b = poll(&mut c, 1250);
    assert_eq!(
        value(
            &b,
            "cgroup.system_slice_robot_service.cpu_throttled_us_per_s"
        ),
        Some(200_000.0)
    );
    assert_eq!(b.events.len(), 1);
    let e = &b.events[0];
    assert_eq!(
        (e.kind.clone(), e.level, e.source.as_str()),
        (EventKind::OomKill, Level::Error, "cgroup")
    );
    assert_eq!(e.fields["cgroup"], "/system.slice/robot.service");
    assert_eq!(e.fields["increase"], "1");
    assert_eq!(e.ts, Timestamp::from_unix_millis(9));
}

#[test]
fn garbage_is_a_problem_and_a_removed_cgroup_is_dropped() {
    let (proc, sys) = fixture();
    let w = watch(&["system.slice/robot.service", "../../etc"]);
    let mut c = Cgroups::discover(proc.path(), sys.path(), &w, Duration::from_secs(60)).unwrap();
    assert_eq!(c.targets.len(), 2, "the escaping path is refused");
    set(&sys, "memory.current", "\u{0}\u{1}binary");
    let b = poll(&mut c, 0);
    assert_eq!(b.problems.len(), 1, "{:?}", b.problems);
    assert_eq!(b.problems[0].source, "system/cgroup");
    set(&sys, "memory.current", "1\n");
    set(&sys, "memory.events", "nonsense\n");
    assert_eq!(poll(&mut c, 1).problems.len(), 1);
    fs::remove_dir_all(sys.path().join("fs/cgroup/system.slice/robot.service")).unwrap();
    let b = poll(&mut c, 2);
    assert!(
        b.problems.is_empty(),
        "gone is not a problem: {:?}",
        b.problems
    );
    poll(&mut c, 3);
    assert_eq!(c.targets.len(), 1, "looked up again without it");
}

#[test]
fn hybrid_hierarchy_and_none() {
    let (proc, sys) = fixture();
    let none = tempfile::tempdir().unwrap();
    assert!(Cgroups::discover(proc.path(), none.path(), &[], Duration::from_secs(60)).is_none());
    let hybrid = tempfile::tempdir().unwrap();
    fs::create_dir_all(hybrid.path().join("fs/cgroup/unified")).unwrap();
    fs::write(
        hybrid.path().join("fs/cgroup/unified/cgroup.controllers"),
        "",
    )
    .unwrap();
    let c = Cgroups::discover(proc.path(), hybrid.path(), &[], Duration::from_secs(60)).unwrap();
    assert!(
        c.targets.is_empty(),
        "the agent's cgroup is not in this tree"
    );
    drop(sys);
}
