//! `rewind agent fsck`: checks the spooled bundles, quarantines damaged
//! ones, deletes stale temp files.

use std::{io::Write as _, path::Path, time::SystemTime};

use rewind_agent::fsck::{BundleStatus, FsckReport, fsck};

use super::state_dir;
use crate::cli::StateDirArgs;

/// `rewind agent fsck [--state-dir D] [--json]`: exit 0 when whole, 1 when
/// something was quarantined (or could not be moved).
pub(crate) fn run(at: &StateDirArgs, json: bool) -> anyhow::Result<()> {
    let spool = state_dir(at)?.join("spool");
    let report = fsck(&spool, SystemTime::now());
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print(&mut out, &report)?;
    }
    let bad = report.quarantined() + report.damaged();
    if bad > 0 {
        anyhow::bail!(
            "{bad} damaged bundle(s) in {}: {} moved to quarantine/, {} could not be moved",
            spool.display(),
            report.quarantined(),
            report.damaged()
        );
    }
    Ok(())
}

fn print(out: &mut impl std::io::Write, report: &FsckReport) -> std::io::Result<()> {
    let rel = |p: &Path| {
        p.strip_prefix(&report.spool)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    writeln!(
        out,
        "checked {} bundle(s) in {}",
        report.bundles.len(),
        report.spool.display()
    )?;
    for b in &report.bundles {
        let error = b.error.as_deref().unwrap_or_default();
        let code = b.code.unwrap_or_default();
        match b.status {
            BundleStatus::Ok => writeln!(out, "ok           {}", rel(&b.path))?,
            BundleStatus::Quarantined => writeln!(
                out,
                "quarantined  {} -> {}: {code}: {error}",
                rel(&b.path),
                b.moved_to.as_deref().map(rel).unwrap_or_default()
            )?,
            BundleStatus::Damaged => {
                writeln!(out, "DAMAGED      {}: {code}: {error}", rel(&b.path))?;
            }
        }
    }
    for t in &report.temp_files {
        if t.removed {
            writeln!(
                out,
                "removed      {} (temp file left by a crash, {} s old)",
                rel(&t.path),
                t.age_secs
            )?;
        } else {
            writeln!(
                out,
                "kept         {} ({} s old: a bundle being written, perhaps)",
                rel(&t.path),
                t.age_secs
            )?;
        }
    }
    let removed = report.temp_files.iter().filter(|t| t.removed).count();
    writeln!(
        out,
        "result: {} ok, {} quarantined, {} damaged and left in place, {} stale temp file(s) removed",
        report.ok(),
        report.quarantined(),
        report.damaged(),
        removed
    )
}
