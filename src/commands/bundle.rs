//! `rewind bundle …`.

mod extract;
mod inspect;
mod timeline;

use std::{io::Write as _, path::Path};

use anyhow::Context as _;
use rewind_bundle::{Bundle, Limits, read_bundle};

use crate::cli::BundleCommand;

/// `rewind bundle inspect|extract|timeline` (`verify` is dispatched directly).
pub(crate) fn run(command: BundleCommand) -> anyhow::Result<()> {
    match command {
        BundleCommand::Verify { file, json } => verify(&file, json),
        BundleCommand::Inspect { file, json } => inspect::run(&file, json),
        BundleCommand::Extract { file, dir } => extract::run(&file, &dir),
        BundleCommand::Timeline { file, step, series } => timeline::run(&file, step, &series),
    }
}

/// Reads `path` and validates it completely with the default [`Limits`];
/// returns the raw bytes too. A bad bundle is an error naming the file and
/// the error's code.
fn load(path: &Path) -> anyhow::Result<(Vec<u8>, Bundle)> {
    let bytes = fs_err::read(path)?;
    let bundle = read_bundle(&bytes, &Limits::default()).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid bundle [{}]: {e}",
            path.display(),
            e.code()
        )
    })?;
    Ok((bytes, bundle))
}

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
