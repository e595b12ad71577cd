//! Load averages from `/proc/loadavg` (parsed by procfs-core):
//! `load.avg1`, `load.avg5`, `load.avg15` (count: runnable and
//! uninterruptible tasks, averaged over 1, 5 and 15 minutes).

use std::path::Path;

use procfs_core::{FromRead as _, LoadAverage};

use super::{Readings, common::read_to, series};

pub(super) fn read(path: &Path, buf: &mut String) -> Readings {
    read_to(path, buf).map_err(|e| e.to_string())?;
    let l =
        LoadAverage::from_read(buf.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(vec![
        (series("load.avg1"), "count", f64::from(l.one)),
        (series("load.avg5"), "count", f64::from(l.five)),
        (series("load.avg15"), "count", f64::from(l.fifteen)),
    ])
}
