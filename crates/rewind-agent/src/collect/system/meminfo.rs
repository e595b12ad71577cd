//! Memory series from `/proc/meminfo`.

use std::path::Path;

use procfs_core::{FromRead as _, Meminfo};

use super::{Reading, series};

#[allow(clippy::cast_precision_loss)] // byte counts below 2^53 are exact
pub(super) fn read(path: &Path) -> Result<Vec<Reading>, String> {
    let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let m = Meminfo::from_read(file).map_err(|e| format!("{}: {e}", path.display()))?;
    // MemAvailable exists since Linux 3.14; before that, estimate it.
    let available = m
        .mem_available
        .unwrap_or(m.mem_free + m.buffers + m.cached)
        .min(m.mem_total);
    let used = m.mem_total - available;
    let mut out = vec![
        Reading {
            series: series("memory.available_bytes"),
            unit: "bytes",
            value: available as f64,
        },
        Reading {
            series: series("memory.used_bytes"),
            unit: "bytes",
            value: used as f64,
        },
    ];
    if m.mem_total > 0 {
        let pct = used as f64 / m.mem_total as f64 * 100.0;
        out.push(Reading {
            series: series("memory.used_pct"),
            unit: "percent",
            value: pct,
        });
    }
    Ok(out)
}
