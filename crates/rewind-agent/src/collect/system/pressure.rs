//! Pressure stall information from `/proc/pressure/{cpu,memory,io,irq}`
//! (Linux 4.20+; lines parsed by procfs-core's `parse_pressure_record`,
//! one at a time because `cpu` has no `full` line before 5.13 and `irq`
//! has only `full`).
//!
//! Series, for each resource file present and each of its `some`/`full` lines:
//! `pressure.<res>.some_avg10`, `.some_avg60`, `.some_avg300` (percent of
//! time some task was stalled, averaged over 10/60/300 s) and
//! `.some_total_us` (microseconds stalled since boot); `full_*` alike.
//!
//! A kernel without PSI (no `pressure` directory) gets one notice when the
//! collector is built, and nothing afterwards.

use std::{path::Path, time::Duration};

use procfs_core::parse_pressure_record;
use rewind_model::SeriesName;

use super::{
    Batch, Part,
    common::{names, read_to},
};

const RESOURCES: [&str; 4] = ["cpu", "memory", "io", "irq"];
const METRICS: [[&str; 4]; 2] = [
    ["some_avg10", "some_avg60", "some_avg300", "some_total_us"],
    ["full_avg10", "full_avg60", "full_avg300", "full_total_us"],
];

/// One pressure file and the series names of its two lines.
#[derive(Debug)]
struct Resource {
    path: std::path::PathBuf,
    some: [SeriesName; 4],
    full: [SeriesName; 4],
}

/// Reads every pressure file the kernel offers.
#[derive(Debug)]
pub(super) struct Pressure {
    resources: Vec<Resource>,
}

impl Pressure {
    /// The files under `proc_root/pressure`; `None` (with a notice) when PSI is absent.
    pub(super) fn discover(proc_root: &Path) -> Option<Self> {
        let dir = proc_root.join("pressure");
        let resources: Vec<Resource> = RESOURCES
            .iter()
            .filter(|r| dir.join(r).is_file())
            .filter_map(|r| {
                let [some, full] = METRICS;
                Some(Resource {
                    path: dir.join(r),
                    some: names("pressure", r, some)?,
                    full: names("pressure", r, full)?,
                })
            })
            .collect();
        if resources.is_empty() {
            tracing::info!(dir = %dir.display(), "no pressure stall information (kernel older than 4.20 or psi=0): pressure.* series are off");
            return None;
        }
        Some(Self { resources })
    }
}

impl Part for Pressure {
    fn poll(&mut self, _now: Duration, buf: &mut String, out: &mut Batch) {
        for r in &self.resources {
            if let Err(e) = read_to(&r.path, buf) {
                out.problem("system/pressure", e);
                continue;
            }
            let mut seen = false;
            for line in buf.lines() {
                let names = if line.starts_with("some ") {
                    &r.some
                } else if line.starts_with("full ") {
                    &r.full
                } else {
                    continue;
                };
                seen = true;
                match parse_pressure_record(line) {
                    Ok(rec) => {
                        let values = [
                            f64::from(rec.avg10),
                            f64::from(rec.avg60),
                            f64::from(rec.avg300),
                        ];
                        for (name, v) in names.iter().zip(values) {
                            out.reading(name.clone(), "percent", v);
                        }
                        #[allow(clippy::cast_precision_loss)]
                        // microsecond totals stay below 2^53 for centuries
                        out.reading(names[3].clone(), "microseconds", rec.total as f64);
                    }
                    Err(e) => out.problem("system/pressure", format!("{}: {e}", r.path.display())),
                }
            }
            if !seen {
                out.problem(
                    "system/pressure",
                    format!("{}: no `some` or `full` line", r.path.display()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Reading;

    fn value(b: &Batch, name: &str) -> Option<(f64, String)> {
        b.readings
            .iter()
            .find(|r: &&Reading| r.series.as_str() == name)
            .map(|r| (r.value, r.unit.to_string()))
    }

    #[test]
    fn reads_some_and_full_where_present() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pressure");
        std::fs::create_dir(&p).unwrap();
        // Linux 5.10: cpu has only `some`.
        std::fs::write(
            p.join("cpu"),
            "some avg10=0.72 avg60=1.72 avg300=2.98 total=192182600\n",
        )
        .unwrap();
        std::fs::write(
            p.join("memory"),
            "some avg10=0.03 avg60=0.35 avg300=0.41 total=20044579\nfull avg10=0.03 avg60=0.33 avg300=0.36 total=16082774\n",
        )
        .unwrap();
        std::fs::write(
            p.join("io"),
            "some avg10=oops\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .unwrap();
        let mut psi = Pressure::discover(dir.path()).unwrap();
        let mut out = Batch::new(rewind_model::Timestamp::from_unix_millis(0));
        psi.poll(Duration::ZERO, &mut String::new(), &mut out);
        assert_eq!(
            value(&out, "pressure.cpu.some_avg10"),
            Some((f64::from(0.72_f32), "percent".into()))
        );
        assert_eq!(
            value(&out, "pressure.cpu.some_total_us"),
            Some((192_182_600.0, "microseconds".into()))
        );
        assert_eq!(value(&out, "pressure.cpu.full_avg10"), None);
        assert_eq!(
            value(&out, "pressure.memory.full_total_us").map(|v| v.0),
            Some(16_082_774.0)
        );
        assert_eq!(
            value(&out, "pressure.io.full_avg300").map(|v| v.0),
            Some(0.0)
        );
        assert_eq!(value(&out, "pressure.io.some_avg10"), None);
        assert_eq!(
            out.problems.len(),
            1,
            "the malformed io line: {:?}",
            out.problems
        );
    }

    #[test]
    fn garbage_and_vanished_files_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pressure");
        std::fs::create_dir(&p).unwrap();
        for r in ["cpu", "memory", "io"] {
            std::fs::write(
                p.join(r),
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
            )
            .unwrap();
        }
        let mut psi = Pressure::discover(dir.path()).unwrap();
        std::fs::write(p.join("io"), "some avg10=oops\n").unwrap();
        std::fs::remove_file(p.join("memory")).unwrap();
        std::fs::write(p.join("cpu"), "some\n").unwrap(); // `&line[5..]` in an unguarded parser would panic
        let mut out = Batch::new(rewind_model::Timestamp::from_unix_millis(0));
        psi.poll(Duration::ZERO, &mut String::new(), &mut out);
        assert_eq!(
            out.problems.len(),
            3,
            "gone, malformed, empty: {:?}",
            out.problems
        );
    }

    #[test]
    fn absent_psi_is_no_collector() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Pressure::discover(dir.path()).is_none());
    }
}
