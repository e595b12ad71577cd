//! The series the agent's collectors produce, as name patterns with units.
//!
//! One entry per family, taken from the series list at the top of each
//! collector module in [`crate::collect`]; `*` stands for a part the machine
//! decides (a core, a mount, an interface, a watched process, a topic). A
//! unit test runs the collectors on this machine and checks that every
//! series they produce matches an entry with the same unit, so the list
//! cannot drift silently from the code.
//!
//! `rewind rules check` uses it to warn about a rule whose literal series is
//! not collected but is close to one that is ([`suggest`]): a typo such as
//! `cpu.total.busy_pc` otherwise makes a rule that can never fire.
//!
//! Not listed, because any name is possible: series that clients send over
//! the custom-stream socket (`metric` messages, in the client's own names),
//! and Prometheus series under a target's own `prefix` (the default `prom`
//! is listed as `prom.*`).

use rewind_detect::Pattern;

/// One family of series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The names, with `*` for the parts the machine decides.
    pub pattern: &'static str,
    /// The unit of every series of the family; empty when it varies.
    pub unit: &'static str,
    /// The collector producing it, as in the agent config file.
    pub collector: &'static str,
}

const fn f(pattern: &'static str, unit: &'static str, collector: &'static str) -> Family {
    Family {
        pattern,
        unit,
        collector,
    }
}

const SYSTEM: &str = "system";
const DISK: &str = "system/disk";
const PROCESSES: &str = "processes";
const NVML: &str = "gpu/nvml";
const TEGRA: &str = "gpu/tegrastats";
const SOCKET: &str = "socket";

/// Every family of series the agent collects, by collector.
pub const FAMILIES: &[Family] = &[
    // system: cpu (`collect/system/cpu.rs`)
    f("cpu.total.busy_pct", "percent", SYSTEM),
    f("cpu.total.user_pct", "percent", SYSTEM),
    f("cpu.total.system_pct", "percent", SYSTEM),
    f("cpu.total.iowait_pct", "percent", SYSTEM),
    f("cpu.total.steal_pct", "percent", SYSTEM),
    f("cpu.core*.busy_pct", "percent", SYSTEM),
    f("cpu.core*.user_pct", "percent", SYSTEM),
    f("cpu.core*.system_pct", "percent", SYSTEM),
    f("cpu.core*.iowait_pct", "percent", SYSTEM),
    f("cpu.core*.steal_pct", "percent", SYSTEM),
    f("system.context_switches_per_s", "per_second", SYSTEM),
    f("system.forks_per_s", "per_second", SYSTEM),
    f("system.procs_running", "count", SYSTEM),
    f("system.procs_blocked", "count", SYSTEM),
    // system: meminfo
    f("memory.total_bytes", "bytes", SYSTEM),
    f("memory.available_bytes", "bytes", SYSTEM),
    f("memory.used_bytes", "bytes", SYSTEM),
    f("memory.cached_bytes", "bytes", SYSTEM),
    f("memory.used_pct", "percent", SYSTEM),
    f("swap.total_bytes", "bytes", SYSTEM),
    f("swap.used_bytes", "bytes", SYSTEM),
    f("swap.used_pct", "percent", SYSTEM),
    // system: loadavg
    f("load.avg1", "count", SYSTEM),
    f("load.avg5", "count", SYSTEM),
    f("load.avg15", "count", SYSTEM),
    // system: pressure (`*` is cpu, memory, io or irq)
    f("pressure.*.some_avg10", "percent", SYSTEM),
    f("pressure.*.some_avg60", "percent", SYSTEM),
    f("pressure.*.some_avg300", "percent", SYSTEM),
    f("pressure.*.some_total_us", "microseconds", SYSTEM),
    f("pressure.*.full_avg10", "percent", SYSTEM),
    f("pressure.*.full_avg60", "percent", SYSTEM),
    f("pressure.*.full_avg300", "percent", SYSTEM),
    f("pressure.*.full_total_us", "microseconds", SYSTEM),
    // system: diskio (`*` is a block device)
    f("diskio.*.read_bytes_per_s", "bytes_per_second", SYSTEM),
    f("diskio.*.write_bytes_per_s", "bytes_per_second", SYSTEM),
    f("diskio.*.reads_per_s", "per_second", SYSTEM),
    f("diskio.*.writes_per_s", "per_second", SYSTEM),
    f("diskio.*.busy_pct", "percent", SYSTEM),
    // system: net (`*` is an interface)
    f("net.*.rx_bytes_per_s", "bytes_per_second", SYSTEM),
    f("net.*.tx_bytes_per_s", "bytes_per_second", SYSTEM),
    f("net.*.rx_packets_per_s", "per_second", SYSTEM),
    f("net.*.tx_packets_per_s", "per_second", SYSTEM),
    f("net.*.rx_errors_per_s", "per_second", SYSTEM),
    f("net.*.tx_errors_per_s", "per_second", SYSTEM),
    f("net.*.rx_drops_per_s", "per_second", SYSTEM),
    f("net.*.tx_drops_per_s", "per_second", SYSTEM),
    // system: thermal (`*` is a zone)
    f("thermal.*.temp_c", "celsius", SYSTEM),
    f("thermal.*.trip_*_c", "celsius", SYSTEM),
    // system: cpufreq
    f("cpufreq.cpu*.cur_hz", "hertz", SYSTEM),
    f("cpufreq.cpu*.max_hz", "hertz", SYSTEM),
    f("cpufreq.cpu*.ratio_pct", "percent", SYSTEM),
    f("cpu.cpu*.throttle_count", "count", SYSTEM),
    f("cpu.package*.throttle_count", "count", SYSTEM),
    // system: cgroup (`*` is `agent` or a watched cgroup)
    f("cgroup.*.memory_current_bytes", "bytes", SYSTEM),
    f("cgroup.*.memory_max_bytes", "bytes", SYSTEM),
    f("cgroup.*.oom_total", "count", SYSTEM),
    f("cgroup.*.oom_kill_total", "count", SYSTEM),
    f(
        "cgroup.*.cpu_throttled_us_per_s",
        "microseconds_per_second",
        SYSTEM,
    ),
    f("cgroup.*.cpu_nr_throttled", "count", SYSTEM),
    // system/disk (`*` is a mount: `root`, `var_lib`)
    f("disk.*.used_bytes", "bytes", DISK),
    f("disk.*.free_bytes", "bytes", DISK),
    f("disk.*.used_pct", "percent", DISK),
    f("disk.*.inodes_used_pct", "percent", DISK),
    // processes (`*` is a watch entry's name)
    f("process.*.count", "count", PROCESSES),
    f("process.*.cpu_pct", "percent", PROCESSES),
    f("process.*.rss_bytes", "bytes", PROCESSES),
    f("process.*.threads", "count", PROCESSES),
    f("process.*.fds", "count", PROCESSES),
    f("process.*.fd_limit", "count", PROCESSES),
    f("process.*.fd_used_pct", "percent", PROCESSES),
    f("process.*.state_running", "count", PROCESSES),
    f("process.*.state_sleeping", "count", PROCESSES),
    f("process.*.state_disk_wait", "count", PROCESSES),
    f("process.*.state_zombie", "count", PROCESSES),
    f("process.*.uptime_s", "seconds", PROCESSES),
    // gpu: NVML (`*` is the device index)
    f("gpu.*.util_pct", "percent", NVML),
    f("gpu.*.memory_util_pct", "percent", NVML),
    f("gpu.*.memory_used_bytes", "bytes", NVML),
    f("gpu.*.memory_total_bytes", "bytes", NVML),
    f("gpu.*.temp_c", "celsius", NVML),
    f("gpu.*.power_w", "watts", NVML),
    f("gpu.*.sm_clock_hz", "hertz", NVML),
    f("gpu.*.mem_clock_hz", "hertz", NVML),
    f("gpu.*.throttle_thermal", "bool", NVML),
    f("gpu.*.throttle_power", "bool", NVML),
    f("gpu.*.throttle_hw_slowdown", "bool", NVML),
    // gpu: tegrastats
    f("jetson.ram_used_bytes", "bytes", TEGRA),
    f("jetson.ram_total_bytes", "bytes", TEGRA),
    f("jetson.swap_used_bytes", "bytes", TEGRA),
    f("jetson.swap_total_bytes", "bytes", TEGRA),
    f("jetson.cpu*.util_pct", "percent", TEGRA),
    f("jetson.cpu*.freq_hz", "hertz", TEGRA),
    f("jetson.gpu.util_pct", "percent", TEGRA),
    f("jetson.gpu.freq_hz", "hertz", TEGRA),
    f("jetson.emc.util_pct", "percent", TEGRA),
    f("jetson.emc.freq_hz", "hertz", TEGRA),
    f("jetson.temp.*_c", "celsius", TEGRA),
    f("jetson.power.*_w", "watts", TEGRA),
    // socket: topic reports and heartbeats (`*` is a topic or a node)
    f("topic.*.rate_hz", "hertz", SOCKET),
    f("topic.*.publishers", "count", SOCKET),
    f("node.*.alive", "bool", SOCKET),
    // prometheus, with the default prefix
    f("prom.*", "", "prometheus"),
];

/// The family `name` belongs to, if the agent collects it.
#[must_use]
pub fn family_of(name: &str) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .find(|family| Pattern::new(family.pattern).matches(name))
}

/// Whether the agent collects a series named `name` (on some machine).
#[must_use]
pub fn collects(name: &str) -> bool {
    family_of(name).is_some()
}

/// For a series name the agent does not collect, the collected name it was
/// most likely meant to be: `cpu.total.busy_pc` → `cpu.total.busy_pct`,
/// `disk.root.used_pc` → `disk.root.used_pct`. `None` when `name` is
/// collected, or nothing is close (it may be a client's own series).
///
/// "Close" is at most a third of the length in edits, and at most 3, as for
/// misspelt fields in rules files; a wildcard keeps what `name` has in the
/// same dot-separated place, when that fits it.
#[must_use]
pub fn suggest(name: &str) -> Option<String> {
    const MAX_LEN: usize = 200; // the longest series name; keeps the work bounded
    if name.len() > MAX_LEN || collects(name) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    FAMILIES
        .iter()
        .filter_map(|family| fill(family.pattern, name))
        .map(|candidate| {
            (
                rewind_detect::edit_distance(&lower, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(d, candidate)| *d <= (candidate.len() / 3).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// A name of `pattern`'s family shaped like `name`: each `*` segment takes
/// `name`'s segment at the same place, if it fits. `None` when it cannot
/// (different number of segments, or a segment that does not fit).
fn fill(pattern: &str, name: &str) -> Option<String> {
    if !pattern.contains('*') {
        return Some(pattern.to_owned());
    }
    let wanted: Vec<&str> = pattern.split('.').collect();
    let given: Vec<&str> = name.split('.').collect();
    if wanted.len() != given.len() {
        return None;
    }
    let mut out = Vec::with_capacity(wanted.len());
    for (w, g) in wanted.iter().zip(&given) {
        if !w.contains('*') {
            out.push(*w);
        } else if !g.is_empty() && Pattern::new(*w).matches(g) {
            out.push(*g);
        } else {
            return None;
        }
    }
    Some(out.join("."))
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, time::Duration};

    use super::*;
    use crate::collect::{Batch, CollectorsConfig};

    #[test]
    fn close_names_get_a_suggestion_and_collected_or_foreign_ones_do_not() {
        let s = |name: &str| suggest(name);
        assert_eq!(
            s("cpu.total.busy_pc").as_deref(),
            Some("cpu.total.busy_pct")
        );
        assert_eq!(
            s("cpu.totl.busy_pct").as_deref(),
            Some("cpu.total.busy_pct")
        );
        assert_eq!(
            s("memory.availble_bytes").as_deref(),
            Some("memory.available_bytes")
        );
        assert_eq!(
            s("disk.root.used_pc").as_deref(),
            Some("disk.root.used_pct")
        );
        assert_eq!(
            s("process.planner.rss_byte").as_deref(),
            Some("process.planner.rss_bytes")
        );
        assert_eq!(
            s("topic./scan.rate_h").as_deref(),
            Some("topic./scan.rate_hz")
        );
        assert_eq!(
            s("CPU.total.busy_pct").as_deref(),
            Some("cpu.total.busy_pct")
        );
        assert_eq!(s("cpu.total.busy_pct"), None, "collected");
        assert_eq!(s("disk./home.used_pct"), None, "collected");
        assert_eq!(s("prom.http_requests_total"), None, "collected");
        assert_eq!(s("robot.arm.torque_nm"), None, "a client's own series");
        assert_eq!(s(&"x".repeat(500)), None);
    }

    #[test]
    fn patterns_fill_in_what_the_name_has() {
        assert_eq!(
            fill("disk.*.used_pct", "dsk.root.used_pc").as_deref(),
            Some("disk.root.used_pct")
        );
        assert_eq!(
            fill("cpu.core*.busy_pct", "cpu.core3.bsy_pct").as_deref(),
            Some("cpu.core3.busy_pct")
        );
        assert_eq!(fill("cpu.core*.busy_pct", "cpu.cor3.busy_pct"), None);
        assert_eq!(fill("disk.*.used_pct", "disk.used_pct"), None);
        assert_eq!(fill("load.avg1", "anything").as_deref(), Some("load.avg1"));
    }

    #[test]
    fn distances() {
        let d = rewind_detect::edit_distance;
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("busy_pc", "busy_pct"), 1);
        assert_eq!(d("bsuy", "busy"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
    }

    #[test]
    fn the_catalogue_is_well_formed() {
        let mut seen = BTreeSet::new();
        for family in FAMILIES {
            assert!(seen.insert(family.pattern), "{} twice", family.pattern);
            let example = family.pattern.replace('*', "x1");
            assert!(
                rewind_model::SeriesName::new(&example).is_ok(),
                "{} does not give valid series names",
                family.pattern
            );
            assert_eq!(
                family_of(&example),
                Some(family),
                "an earlier entry hides {}",
                family.pattern
            );
        }
    }

    /// Runs every polled collector of this machine (with per-core CPU and a
    /// watched process, so those families show up too) and checks every
    /// series against the catalogue, unit included.
    #[test]
    fn every_series_this_machine_produces_is_in_the_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("self.pid");
        std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
        let yaml = format!(
            "system:\n  cpu_per_core: true\nprocesses:\n  watch:\n    - name: self\n      pid_file: {}\n",
            pid_file.display()
        );
        let config: CollectorsConfig = serde_saphyr::from_str(&yaml).unwrap();
        let mut collectors = config.build().unwrap();
        let mut batch = Batch::new(rewind_model::Timestamp::now());
        for s in &mut collectors.polled {
            s.poll.poll(&mut Batch::new(rewind_model::Timestamp::now()));
        }
        std::thread::sleep(Duration::from_millis(150));
        for s in &mut collectors.polled {
            s.poll.poll(&mut batch);
        }
        assert!(
            batch.readings.len() > 20,
            "too few readings: {:?}",
            batch.readings
        );
        let mut unknown = Vec::new();
        for r in &batch.readings {
            match family_of(r.series.as_str()) {
                None => unknown.push(format!("{} ({})", r.series, r.unit)),
                Some(family) if !family.unit.is_empty() && family.unit != r.unit => {
                    unknown.push(format!(
                        "{} is in `{}` but {} is {}",
                        r.series, family.pattern, r.unit, family.unit
                    ))
                }
                Some(_) => {}
            }
        }
        assert!(
            unknown.is_empty(),
            "series missing from the catalogue (add them to FAMILIES):\n{}",
            unknown.join("\n")
        );
        for name in [
            "cpu.total.busy_pct",
            "cpu.core0.busy_pct",
            "memory.available_bytes",
            "process.self.rss_bytes",
        ] {
            assert!(
                batch.readings.iter().any(|r| r.series.as_str() == name),
                "{name} not produced on this machine"
            );
        }
    }
}
