//! Load averages from `/proc/loadavg`.

use std::path::Path;

use procfs_core::{FromRead as _, LoadAverage};

use super::{Reading, series};

pub(super) fn read(path: &Path) -> Result<Vec<Reading>, String> {
    let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let l = LoadAverage::from_read(file).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(vec![
        Reading {
            series: series("load.avg1"),
            unit: "count",
            value: f64::from(l.one),
        },
        Reading {
            series: series("load.avg5"),
            unit: "count",
            value: f64::from(l.five),
        },
        Reading {
            series: series("load.avg15"),
            unit: "count",
            value: f64::from(l.fifteen),
        },
    ])
}
