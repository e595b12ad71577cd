//! `rewind bundle …`.

use std::{io::Write as _, path::Path};

use anyhow::Context as _;
use rewind_bundle::{Limits, read_bundle};

/// `rewind bundle verify FILE [--json]`.
pub(crate) fn verify(path: &Path, json: bool) -> anyhow::Result<()> {
    let bytes = fs_err::read(path)?;
    let limits = Limits {
        max_bundle_bytes: u64::MAX,
        ..Limits::default()
    };
    let bundle = read_bundle(&bytes, &limits)
        .with_context(|| format!("{} is not a valid bundle", path.display()))?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &bundle.manifest)?;
        writeln!(out)?;
        return Ok(());
    }
    let m = &bundle.manifest;
    writeln!(
        out,
        "{}: valid bundle (format {})",
        path.display(),
        m.format_version
    )?;
    writeln!(out, "  bundle   {}", m.bundle_id)?;
    writeln!(out, "  device   {}", m.device_id)?;
    writeln!(
        out,
        "  trigger  [{}] {}: {}",
        bundle.trigger.severity, bundle.trigger.rule, bundle.trigger.summary
    )?;
    writeln!(
        out,
        "  window   {} .. {}",
        m.time_range.start, m.time_range.end
    )?;
    for s in &bundle.series {
        writeln!(
            out,
            "  series   {} ({}, {} samples)",
            s.name,
            s.unit,
            s.v.len()
        )?;
    }
    Ok(())
}
