//! Scheduled baselines: `captures/baseline/<name>/` every `baseline.every`
//! (default 10 min, the first on the first tick), `baseline.keep` kept
//! (default 6), never notified. Each holds `proc/status.txt`,
//! `proc/smaps_rollup.txt`, the heap in use (when jemalloc reports it) and
//! a heap profile where jemalloc profiling is on.
//!
//! In delta mode (`delta(true)`), each breach capture carries a copy of the
//! latest baseline under `baseline/`, so a diff
//! (`pprof -diff_base=baseline/heap.prof heap.prof`) never depends on a
//! baseline having landed near the incident.

use std::path::PathBuf;

use rewind_model::Timestamp;

use crate::{
    capture::{heap, procfs},
    engine::Ctx,
    thresholds::Sample,
};

/// Takes one baseline.
pub(crate) fn take(ctx: &Ctx, now: Timestamp, keep: usize) -> Result<PathBuf, String> {
    let mut draft = ctx.captures.begin("baseline", now).map_err(|e| {
        format!(
            "cannot create a baseline in {}: {e}",
            ctx.captures.root.display()
        )
    })?;
    let heap_bytes = heap::in_use();
    draft.manifest.sample = Some(Sample {
        heap_bytes,
        ..Sample::default()
    });
    procfs::memory(&ctx.cfg.proc_root, &mut draft);
    ctx.heap_profile(&mut draft);
    ctx.captures.commit(draft, keep)
}
