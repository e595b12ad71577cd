//! Listing CPUs and their frequency and throttle files (at build time and
//! every `rediscover_interval`, never on every pass).

use std::path::Path;

use super::{Cpu, MAX_CPUS, Throttle};
use crate::collect::system::common::{named as cpu_series, read_to, read_u64};

/// Every online `cpu<N>` under `dir` with cpufreq or thermal_throttle files, by number.
pub(super) fn cpus(dir: &Path, buf: &mut String) -> Vec<Cpu> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, std::path::PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found.truncate(MAX_CPUS);
    let mut packages = Vec::new();
    found
        .into_iter()
        .filter_map(|(n, path)| cpu(n, &path, &mut packages, buf))
        .collect()
}

/// One CPU, or `None` when it is offline or has nothing to read.
fn cpu(n: u64, path: &Path, packages: &mut Vec<u64>, buf: &mut String) -> Option<Cpu> {
    // `online` is absent for CPUs that cannot go offline (often cpu0).
    if read_to(&path.join("online"), buf).is_ok() && buf.trim() == "0" {
        return None;
    }
    let part = format!("cpu{n}");
    let cur = path.join("cpufreq/scaling_cur_freq");
    let cur_path = cur.is_file().then_some(cur);
    let max_khz = read_u64(&path.join("cpufreq/cpuinfo_max_freq"), buf).ok();
    let throttles = throttles(n, path, packages, buf)?;
    if cur_path.is_none() && throttles.is_empty() {
        return None;
    }
    let names = [
        cpu_series("cpufreq", &part, "cur_hz")?,
        cpu_series("cpufreq", &part, "max_hz")?,
        cpu_series("cpufreq", &part, "ratio_pct")?,
    ];
    Some(Cpu {
        cur_path,
        max_khz,
        names,
        throttles,
    })
}

/// The core counter of CPU `n`, and the package counter if its package has none yet.
fn throttles(
    n: u64,
    path: &Path,
    packages: &mut Vec<u64>,
    buf: &mut String,
) -> Option<Vec<Throttle>> {
    let mut throttles = Vec::new();
    let core = path.join("thermal_throttle/core_throttle_count");
    if core.is_file() {
        let name = cpu_series("cpu", &format!("cpu{n}"), "throttle_count")?;
        throttles.push(Throttle {
            path: core,
            name,
            what: ("cpu", n),
            reported: None,
            last_event: None,
        });
    }
    let package = path.join("thermal_throttle/package_throttle_count");
    let id = read_u64(&path.join("topology/physical_package_id"), buf).unwrap_or(0);
    if package.is_file() && !packages.contains(&id) {
        packages.push(id);
        let name = cpu_series("cpu", &format!("package{id}"), "throttle_count")?;
        throttles.push(Throttle {
            path: package,
            name,
            what: ("package", id),
            reported: None,
            last_event: None,
        });
    }
    Some(throttles)
}
