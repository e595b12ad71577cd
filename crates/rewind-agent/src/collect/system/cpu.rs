//! `cpu.total.busy_pct` from `/proc/stat`: the share of CPU time not idle
//! (nor waiting for I/O) between two readings, over all cores.

use std::path::Path;

use procfs_core::{ExplicitSystemInfo, FromReadSI as _, KernelStats};

use super::{Reading, series};

/// Remembers the previous tick counts so the next reading can be a rate.
#[derive(Debug, Default)]
pub(super) struct CpuBusy {
    prev: Option<(u64, u64)>,
}

/// Only tick ratios are used, so the tick rate and boot time do not matter.
const SYSTEM: ExplicitSystemInfo = ExplicitSystemInfo {
    boot_time_secs: 0,
    ticks_per_second: 100,
    page_size: 4096,
    is_little_endian: true,
};

impl CpuBusy {
    pub(super) fn read(&mut self, path: &Path) -> Result<Vec<Reading>, String> {
        let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
        let stats = KernelStats::from_read(file, &SYSTEM)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let t = &stats.total;
        let idle = t.idle + t.iowait.unwrap_or(0);
        let total = t.user
            + t.nice
            + t.system
            + t.idle
            + t.iowait.unwrap_or(0)
            + t.irq.unwrap_or(0)
            + t.softirq.unwrap_or(0)
            + t.steal.unwrap_or(0);
        let prev = self.prev.replace((idle, total));
        let Some((prev_idle, prev_total)) = prev else {
            return Ok(Vec::new());
        };
        let d_total = total.saturating_sub(prev_total);
        if d_total == 0 {
            return Ok(Vec::new());
        }
        let d_idle = idle.saturating_sub(prev_idle).min(d_total);
        #[allow(clippy::cast_precision_loss)] // tick deltas are far below 2^52
        let busy = (d_total - d_idle) as f64 / d_total as f64 * 100.0;
        Ok(vec![Reading {
            series: series("cpu.total.busy_pct"),
            unit: "percent",
            value: busy,
        }])
    }
}
