use std::fs;

use rewind_model::Timestamp;

use super::*;

/// Two x86 CPUs in one package (frequency and throttle counters), one
/// offline CPU, and the non-CPU entries sysfs has next to them.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cpus = dir.path().join("devices/system/cpu");
    for n in 0..3 {
        let c = cpus.join(format!("cpu{n}"));
        fs::create_dir_all(c.join("cpufreq")).unwrap();
        fs::create_dir_all(c.join("thermal_throttle")).unwrap();
        fs::create_dir_all(c.join("topology")).unwrap();
        fs::write(c.join("cpufreq/scaling_cur_freq"), "1200000\n").unwrap();
        fs::write(c.join("cpufreq/cpuinfo_max_freq"), "4800000\n").unwrap();
        fs::write(c.join("thermal_throttle/core_throttle_count"), "0\n").unwrap();
        fs::write(c.join("thermal_throttle/package_throttle_count"), "7\n").unwrap();
        fs::write(c.join("topology/physical_package_id"), "0\n").unwrap();
    }
    fs::write(cpus.join("cpu1/online"), "1\n").unwrap();
    fs::write(cpus.join("cpu2/online"), "0\n").unwrap();
    fs::create_dir_all(cpus.join("cpufreq")).unwrap();
    fs::create_dir_all(cpus.join("cpuidle")).unwrap();
    fs::write(cpus.join("online"), "0-1\n").unwrap();
    dir
}

fn poll(f: &mut CpuFreq, secs: u64) -> Batch {
    let mut out = Batch::new(Timestamp::from_unix_millis(0));
    f.poll(Duration::from_secs(secs), &mut String::new(), &mut out);
    out
}

use crate::collect::system::common::value;

fn write(dir: &tempfile::TempDir, file: &str, v: &str) {
    fs::write(dir.path().join("devices/system/cpu").join(file), v).unwrap();
}

#[test]
fn reads_frequencies_and_counters_of_online_cpus() {
    let dir = fixture();
    write(&dir, "cpu1/cpufreq/scaling_cur_freq", "2400000\n");
    let mut f = CpuFreq::discover(dir.path(), Duration::from_secs(60)).unwrap();
    let b = poll(&mut f, 1);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    assert_eq!(value(&b, "cpufreq.cpu0.cur_hz"), Some(1.2e9));
    assert_eq!(value(&b, "cpufreq.cpu0.max_hz"), Some(4.8e9));
    assert_eq!(value(&b, "cpufreq.cpu0.ratio_pct"), Some(25.0));
    assert_eq!(value(&b, "cpufreq.cpu1.ratio_pct"), Some(50.0));
    assert_eq!(value(&b, "cpu.cpu1.throttle_count"), Some(0.0));
    assert_eq!(value(&b, "cpu.package0.throttle_count"), Some(7.0));
    assert_eq!(value(&b, "cpufreq.cpu2.cur_hz"), None, "offline");
    assert_eq!(
        b.readings
            .iter()
            .filter(|r| r.series.as_str() == "cpu.package0.throttle_count")
            .count(),
        1
    );
    assert!(b.events.is_empty(), "counts seen first are not throttling");
}

#[test]
fn throttle_growth_is_an_event_at_most_every_ten_seconds() {
    let dir = fixture();
    let mut f = CpuFreq::discover(dir.path(), Duration::from_secs(600)).unwrap();
    poll(&mut f, 0);
    write(&dir, "cpu1/thermal_throttle/core_throttle_count", "2\n");
    let b = poll(&mut f, 1);
    assert_eq!(b.events.len(), 1);
    let e = &b.events[0];
    assert_eq!(
        (e.kind.clone(), e.level),
        (EventKind::Thermal, Level::Warning)
    );
    assert_eq!(e.fields["cpu"], "1");
    assert_eq!(e.fields["increase"], "2");
    write(&dir, "cpu1/thermal_throttle/core_throttle_count", "5\n");
    assert!(poll(&mut f, 2).events.is_empty(), "too soon");
    let b = poll(&mut f, 11);
    assert_eq!(b.events.len(), 1, "the held-back growth");
    assert_eq!(b.events[0].fields["increase"], "3");
    write(&dir, "cpu0/thermal_throttle/package_throttle_count", "8\n");
    let b = poll(&mut f, 30);
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.events[0].fields["package"], "0");
}

#[test]
fn garbage_is_a_problem_and_an_offlined_cpu_is_dropped() {
    let dir = fixture();
    let mut f = CpuFreq::discover(dir.path(), Duration::from_secs(600)).unwrap();
    write(&dir, "cpu0/cpufreq/scaling_cur_freq", "fast\n");
    fs::remove_dir_all(dir.path().join("devices/system/cpu/cpu1/cpufreq")).unwrap();
    let b = poll(&mut f, 1);
    assert_eq!(b.problems.len(), 1, "{:?}", b.problems);
    assert_eq!(b.problems[0].source, "system/cpufreq");
    assert!(value(&b, "cpu.cpu1.throttle_count").is_some());
    let b = poll(&mut f, 2);
    assert_eq!(value(&b, "cpufreq.cpu1.cur_hz"), None);
    assert!(
        value(&b, "cpu.cpu1.throttle_count").is_some(),
        "still has its throttle counter"
    );
}

#[test]
fn nothing_to_read_is_no_collector() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("devices/system/cpu/cpu0/cpuidle")).unwrap();
    assert!(CpuFreq::discover(dir.path(), Duration::from_secs(60)).is_none());
}
