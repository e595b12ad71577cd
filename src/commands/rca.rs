//! `rewind rca BUNDLE`: the root-cause analysis of `rewind_detect::rca` on
//! a bundle file, offline.

use std::io::Write as _;

use anyhow::Context as _;
use rewind_bundle::{Bundle, Limits, read_bundle};
use rewind_detect::rca::{self, ChainSet, Timeline};
use rewind_model::{Sample, Timestamp};

use crate::{UsageError, cli::RcaArgs};

/// A read bundle as the root-cause timeline. The `logs/` files render the
/// same events, so `events.jsonl` is enough. A bundle holds no deploy
/// records: the analysis falls back to `deploy` events and the trigger's
/// `deploy_id`/`version` labels.
pub(crate) fn timeline(bundle: &Bundle) -> Timeline {
    let mut timeline = Timeline::new(bundle.trigger.clone())
        .with_window(bundle.manifest.time_range)
        .with_events(bundle.events.iter().cloned());
    for s in &bundle.series {
        let samples = s
            .t_nanos
            .iter()
            .zip(&s.v)
            .map(|(&t, &v)| Sample::new(Timestamp::from_unix_nanos(t), v))
            .collect();
        timeline = timeline.with_series(s.name.clone(), samples);
    }
    timeline
}

/// `rewind rca …`.
pub(crate) fn run(args: &RcaArgs) -> anyhow::Result<()> {
    let path = &args.bundle;
    let bytes = fs_err::read(path).map_err(|e| {
        UsageError(format!(
            "error: {e}\n  hint: give the path of an incident bundle (.zip)"
        ))
    })?;
    let bundle = read_bundle(&bytes, &Limits::default()).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid bundle [{}]: {e}",
            path.display(),
            e.code()
        )
    })?;
    let mut chains = rca::builtin().context("the built-in chain library does not parse")?;
    if let Some(file) = &args.chains {
        let text = fs_err::read_to_string(file)
            .map_err(|e| UsageError(format!("error: {e}\n  hint: check --chains")))?;
        let extra = ChainSet::parse(&text, &file.display().to_string())
            .map_err(|e| UsageError(e.to_string()))?;
        chains.extend(extra);
    }
    let timeline = timeline(&bundle);
    let analysis = rca::analyze(&timeline, &chains);
    let explanation = rca::explain(&timeline, &analysis);
    let mut out = std::io::stdout().lock();
    if args.json {
        let body = serde_json::json!({ "analysis": analysis, "explanation": explanation });
        serde_json::to_writer_pretty(&mut out, &body)?;
        writeln!(out)?;
        return Ok(());
    }
    write!(out, "{}", explanation.to_markdown())?;
    if analysis.causes.len() > 1 {
        writeln!(out, "\n### Ranking\n")?;
        for c in &analysis.causes {
            writeln!(out, "- `{}`: {}", c.chain, c.reason)?;
        }
    }
    Ok(())
}
