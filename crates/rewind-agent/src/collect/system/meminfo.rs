//! Memory and swap from `/proc/meminfo` (parsed by procfs-core; values in bytes):
//! `memory.total_bytes`, `memory.available_bytes`, `memory.used_bytes`
//! (total minus available), `memory.cached_bytes` (the page cache,
//! `Cached`), `memory.used_pct` (percent), `swap.total_bytes`,
//! `swap.used_bytes` and `swap.used_pct` (only when there is swap).

use std::path::Path;

use procfs_core::{FromRead as _, Meminfo};

use super::{Readings, common::read_to, series};

#[allow(clippy::cast_precision_loss)] // byte counts below 2^53 are exact
pub(super) fn read(path: &Path, buf: &mut String) -> Readings {
    read_to(path, buf).map_err(|e| e.to_string())?;
    // procfs-core slices field names by byte; only ASCII is safe to hand it.
    if !buf.is_ascii() {
        return Err(format!("{}: not ASCII text", path.display()));
    }
    let m = Meminfo::from_read(buf.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    // MemAvailable exists since Linux 3.14; before that, estimate it.
    let available = m
        .mem_available
        .unwrap_or(m.mem_free + m.buffers + m.cached)
        .min(m.mem_total);
    let used = m.mem_total - available;
    let mut out = vec![
        (series("memory.total_bytes"), "bytes", m.mem_total as f64),
        (series("memory.available_bytes"), "bytes", available as f64),
        (series("memory.used_bytes"), "bytes", used as f64),
        (series("memory.cached_bytes"), "bytes", m.cached as f64),
    ];
    if m.mem_total > 0 {
        let pct = used as f64 / m.mem_total as f64 * 100.0;
        out.push((series("memory.used_pct"), "percent", pct));
    }
    let swap_used = m.swap_total.saturating_sub(m.swap_free);
    out.push((series("swap.total_bytes"), "bytes", m.swap_total as f64));
    out.push((series("swap.used_bytes"), "bytes", swap_used as f64));
    if m.swap_total > 0 {
        out.push((
            series("swap.used_pct"),
            "percent",
            swap_used as f64 / m.swap_total as f64 * 100.0,
        ));
    }
    Ok(out)
}
