//! The main pass as a whole: the original CPU/memory/load behaviour, a
//! full fixture tree, absent groups, and the live machine.

use std::{collections::BTreeSet, fs, path::Path};

use rewind_model::Timestamp;

use super::*;
use crate::collect::Reading;

/// The fields `procfs-core` requires, with 1000 kB total and 250 kB available.
const MEMINFO: &str = "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n\
    Buffers: 0 kB\nCached: 0 kB\nSwapCached: 0 kB\nActive: 0 kB\nInactive: 0 kB\n\
    SwapTotal: 0 kB\nSwapFree: 0 kB\nDirty: 0 kB\nWriteback: 0 kB\nMapped: 0 kB\n\
    Slab: 0 kB\nCommitted_AS: 0 kB\nVmallocTotal: 0 kB\nVmallocUsed: 0 kB\n\
    VmallocChunk: 0 kB\n";

fn fixture(stat_busy: (u64, u64)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (busy, idle) = stat_busy;
    fs::write(
        dir.path().join("stat"),
        format!("cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {busy} 0 0 {idle} 0 0 0 0 0 0\nctxt 1\nbtime 1\nprocesses 1\n"),
    )
    .unwrap();
    fs::write(dir.path().join("meminfo"), MEMINFO).unwrap();
    fs::write(dir.path().join("loadavg"), "1.50 0.75 0.25 2/300 4242\n").unwrap();
    dir
}

use crate::collect::system::common::value;

fn pass(m: &mut Machine) -> Batch {
    let mut out = Batch::new(Timestamp::now());
    m.poll(&mut out);
    out
}

fn pass_at(m: &mut Machine, millis: u64) -> Batch {
    let mut out = Batch::new(Timestamp::from_unix_millis(i64::try_from(millis).unwrap()));
    m.poll_at(Duration::from_millis(millis), &mut out);
    out
}

#[test]
fn reads_a_fixture_tree() {
    let dir = fixture((100, 900));
    let mut c = Machine::new(dir.path().to_path_buf());
    let first = pass(&mut c);
    assert_eq!(
        value(&first, "cpu.total.busy_pct"),
        None,
        "needs two readings"
    );
    assert_eq!(
        value(&first, "memory.available_bytes"),
        Some(250.0 * 1024.0)
    );
    assert_eq!(value(&first, "memory.used_bytes"), Some(750.0 * 1024.0));
    assert_eq!(value(&first, "memory.used_pct"), Some(75.0));
    assert_eq!(value(&first, "load.avg1"), Some(1.5));
    assert_eq!(value(&first, "load.avg15"), Some(0.25));

    // 300 more busy ticks and 100 more idle ticks: 75 % busy.
    fs::write(
        dir.path().join("stat"),
        "cpu  400 0 0 1000 0 0 0 0 0 0\nctxt 1\nbtime 1\nprocesses 1\n",
    )
    .unwrap();
    let second = pass(&mut c);
    assert_eq!(value(&second, "cpu.total.busy_pct"), Some(75.0));
}

#[test]
fn a_missing_or_garbled_file_is_counted_and_the_rest_still_read() {
    let dir = fixture((1, 1));
    fs::remove_file(dir.path().join("meminfo")).unwrap();
    fs::write(dir.path().join("loadavg"), b"\xff\xfe garbage").unwrap();
    let mut c = Machine::new(dir.path().to_path_buf());
    let b = pass(&mut c);
    let failed: Vec<&str> = b.problems.iter().map(|p| p.source.as_str()).collect();
    assert_eq!(failed, ["system/meminfo", "system/loadavg"]);
    assert!(value(&b, "load.avg1").is_none());
}

#[test]
fn garbled_stat_and_meminfo_are_problems_not_panics() {
    let dir = fixture((1, 1));
    let mut c = Machine::new(dir.path().to_path_buf());
    for junk in [
        &b"cpu  1 2\n"[..],
        b"\x00\x01\x02",
        b"",
        b"cpu 1 2 3 4 5 6 7 8 9 10 11 12 13\nctxt x\n",
    ] {
        fs::write(dir.path().join("stat"), junk).unwrap();
        fs::write(dir.path().join("meminfo"), "MemTotal\u{e9} 5\n").unwrap();
        let b = pass(&mut c);
        let failed: Vec<&str> = b.problems.iter().map(|p| p.source.as_str()).collect();
        assert_eq!(failed, ["system/stat", "system/meminfo"], "{junk:?}");
    }
}

/// A full tree: `proc/` and `sys/` with every group, shaped like a real machine.
fn full_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (proc, sys) = (dir.path().join("proc"), dir.path().join("sys"));
    for d in ["pressure", "net", "self"] {
        fs::create_dir_all(proc.join(d)).unwrap();
    }
    write_stat(&proc, (1000, 200, 100, 8000, 50), 3_618_514);
    let meminfo = MEMINFO.replace("Cached: 0 kB", "Cached: 300 kB").replace(
        "SwapTotal: 0 kB\nSwapFree: 0 kB",
        "SwapTotal: 400 kB\nSwapFree: 300 kB",
    );
    fs::write(proc.join("meminfo"), meminfo).unwrap();
    fs::write(proc.join("loadavg"), "0.52 0.58 0.59 1/467 88893\n").unwrap();
    for r in ["cpu", "memory", "io"] {
        fs::write(proc.join("pressure").join(r), "some avg10=1.00 avg60=2.00 avg300=3.00 total=400\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").unwrap();
    }
    fs::write(
        proc.join("diskstats"),
        "   8       0 sda 100 0 800 0 50 0 400 0 0 100 0\n",
    )
    .unwrap();
    fs::write(
        proc.join("net/dev"),
        "h1\nh2\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n",
    )
    .unwrap();
    fs::write(proc.join("self/cgroup"), "0::/user.slice\n").unwrap();
    let zone = sys.join("class/thermal/thermal_zone0");
    fs::create_dir_all(&zone).unwrap();
    fs::write(zone.join("type"), "x86_pkg_temp\n").unwrap();
    fs::write(zone.join("temp"), "52000\n").unwrap();
    let cpu0 = sys.join("devices/system/cpu/cpu0/cpufreq");
    fs::create_dir_all(&cpu0).unwrap();
    fs::write(cpu0.join("scaling_cur_freq"), "800000\n").unwrap();
    fs::write(cpu0.join("cpuinfo_max_freq"), "3200000\n").unwrap();
    let cg = sys.join("fs/cgroup/user.slice");
    fs::create_dir_all(&cg).unwrap();
    fs::write(sys.join("fs/cgroup/cgroup.controllers"), "cpu memory\n").unwrap();
    fs::write(cg.join("memory.current"), "4096\n").unwrap();
    dir
}

fn write_stat(
    proc: &Path,
    (user, system, iowait, idle, steal): (u64, u64, u64, u64, u64),
    ctxt: u64,
) {
    let line = format!("{user} 0 {system} {idle} {iowait} 0 0 {steal} 0 0");
    let text = format!(
        "cpu  {line}\ncpu0 {line}\nintr 1843014 0 0 0\nctxt {ctxt}\nbtime 1795429785\nprocesses 88892\nprocs_running 3\nprocs_blocked 1\nsoftirq 864268 0 132056\n"
    );
    fs::write(proc.join("stat"), text).unwrap();
}

fn full_config(dir: &Path) -> Config {
    Config {
        proc_root: dir.join("proc"),
        sys_root: dir.join("sys"),
        ..Config::default()
    }
}

#[test]
fn a_full_tree_gives_every_group_with_exact_values() {
    let dir = full_tree();
    let mut m = Machine::from_config(&full_config(dir.path()));
    let first = pass_at(&mut m, 1000);
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    // 500 ms later: 1000 more ticks (600 user, 100 system, 100 iowait, 150 idle, 50 steal), 500 switches.
    write_stat(
        &dir.path().join("proc"),
        (1600, 300, 200, 8150, 100),
        3_619_014,
    );
    let b = pass_at(&mut m, 1500);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    let expect = [
        ("cpu.total.busy_pct", 75.0),
        ("cpu.total.user_pct", 60.0),
        ("cpu.total.system_pct", 10.0),
        ("cpu.total.iowait_pct", 10.0),
        ("cpu.total.steal_pct", 5.0),
        ("cpu.core0.busy_pct", 75.0),
        ("cpu.core0.user_pct", 60.0),
        ("system.context_switches_per_s", 1000.0),
        ("system.forks_per_s", 0.0),
        ("system.procs_running", 3.0),
        ("system.procs_blocked", 1.0),
        ("memory.total_bytes", 1000.0 * 1024.0),
        ("memory.cached_bytes", 300.0 * 1024.0),
        ("swap.total_bytes", 400.0 * 1024.0),
        ("swap.used_bytes", 100.0 * 1024.0),
        ("swap.used_pct", 25.0),
        ("load.avg5", f64::from(0.58_f32)),
        ("pressure.io.some_total_us", 400.0),
        ("pressure.memory.full_avg10", 0.0),
        ("diskio.sda.reads_per_s", 0.0),
        ("net.eth0.rx_bytes_per_s", 0.0),
        ("thermal.x86_pkg_temp.temp_c", 52.0),
        ("cpufreq.cpu0.ratio_pct", 25.0),
        ("cgroup.agent.memory_current_bytes", 4096.0),
    ];
    for (name, v) in expect {
        assert_eq!(value(&b, name), Some(v), "{name}");
    }
}

#[test]
fn groups_this_machine_lacks_are_not_problems() {
    let dir = fixture((1, 1));
    let empty = tempfile::tempdir().unwrap();
    let c = Config {
        proc_root: dir.path().to_path_buf(),
        sys_root: empty.path().to_path_buf(),
        ..Config::default()
    };
    let mut m = Machine::from_config(&c);
    assert_eq!(
        m.parts.len(),
        3,
        "only stat, meminfo and loadavg: {:?}",
        m.parts
    );
    assert!(pass(&mut m).problems.is_empty());
}

#[test]
fn switched_off_groups_are_not_built() {
    let dir = full_tree();
    let c = Config {
        cpu_per_core: false,
        pressure: false,
        disk_io: false,
        network: false,
        thermal: false,
        cpufreq: false,
        cgroups: false,
        disks: false,
        ..full_config(dir.path())
    };
    let mut m = Machine::from_config(&c);
    assert_eq!(m.parts.len(), 3);
    pass_at(&mut m, 0);
    let b = pass_at(&mut m, 100);
    assert!(
        b.readings
            .iter()
            .all(|r| !r.series.as_str().starts_with("cpu.core"))
    );
    let names: Vec<&str> = c.pollers().iter().map(|s| s.name).collect();
    assert_eq!(names, ["system"]);
    let names: Vec<&str> = full_config(dir.path())
        .pollers()
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["system", "system/disk"]);
    assert!(
        Config {
            enabled: false,
            ..Config::default()
        }
        .pollers()
        .is_empty()
    );
}

#[test]
fn the_config_reads_from_yaml_and_refuses_unknown_fields() {
    let yaml = "interval: 200ms\ndisk_interval: 30s\ncpu_per_core: false\nwatch_cgroups: [/system.slice/robot.service]\nnetwork_exclude: [lo]\n";
    let c: Config = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(
        (c.interval, c.disk_interval),
        (Duration::from_millis(200), Duration::from_secs(10) * 3)
    );
    assert!(!c.cpu_per_core && c.thermal);
    assert_eq!(c.watch_cgroups, ["/system.slice/robot.service"]);
    assert!(serde_saphyr::from_str::<Config>("cpu_percore: true\n").is_err());
}

#[test]
fn reads_the_live_machine() {
    let mut c = Machine::new(PathBuf::from("/proc"));
    pass(&mut c);
    std::thread::sleep(Duration::from_millis(50));
    let r = pass(&mut c);
    let busy = value(&r, "cpu.total.busy_pct").expect("live /proc/stat");
    assert!((0.0..=100.0).contains(&busy), "{busy}");
    assert!(value(&r, "memory.available_bytes").unwrap() > 0.0);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn every_live_series_is_valid_named_and_sane() {
    let mut m = Machine::from_config(&Config::default());
    pass(&mut m);
    std::thread::sleep(Duration::from_millis(120));
    let mut b = pass(&mut m);
    disk::DiskSpace::new(&Config::default()).poll(&mut b);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    let mut seen = BTreeSet::new();
    for Reading {
        series,
        unit,
        value,
    } in &b.readings
    {
        assert!(SeriesName::new(series.as_str()).is_ok(), "{series}");
        assert!(!unit.is_empty(), "{series} has no unit");
        assert!(value.is_finite(), "{series} = {value}");
        if unit == "percent" {
            assert!((0.0..=100.0).contains(value), "{series} = {value}");
        }
        assert!(seen.insert(series.as_str()), "{series} twice in one pass");
        println!("{series} {value} {unit}");
    }
    for name in [
        "cpu.total.user_pct",
        "memory.total_bytes",
        "swap.total_bytes",
        "load.avg1",
        "system.procs_running",
    ] {
        assert!(seen.contains(name), "{name} missing");
    }
    if Path::new("/proc/pressure/cpu").exists() {
        assert!(seen.contains("pressure.cpu.some_avg10"));
    }
}
