//! `rewind watchdog list|history|contention` over a program's watchdog
//! directory, and `rewind bench watchdog`.

use std::{fmt::Write as _, io::Write as _, time::Duration};

use anyhow::Context as _;
use rewind_watchdog::{
    RunEnd, bench, crash_loops, list_captures, read_history, request_contention,
};

use crate::cli::{BenchWatchdogArgs, WatchdogCommand};

/// `rewind watchdog …`.
pub(crate) fn run(command: WatchdogCommand) -> anyhow::Result<()> {
    let (WatchdogCommand::List { dir, .. }
    | WatchdogCommand::History { dir, .. }
    | WatchdogCommand::Contention { dir, .. }) = &command;
    if !dir.is_dir() {
        return Err(crate::UsageError(format!(
            "error: {} is not a directory\n  hint: give the directory the program's watchdog writes to (its `Watchdog::builder(dir)`)",
            dir.display()
        ))
        .into());
    }
    let mut out = std::io::stdout().lock();
    match command {
        WatchdogCommand::List { dir, json } => {
            let captures = list_captures(&dir)
                .with_context(|| format!("cannot list the captures in {}", dir.display()))?;
            if json {
                serde_json::to_writer_pretty(&mut out, &captures)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut s = format!("{:<28} {:<14} {:>10}  what\n", "capture", "kind", "bytes");
            for c in &captures {
                let what = match (&c.manifest, &c.problem) {
                    (Some(m), _) => m
                        .triggers
                        .first()
                        .map_or_else(String::new, |t| t.message.clone()),
                    (None, Some(p)) => format!("unreadable: {p}"),
                    (None, None) => String::new(),
                };
                writeln!(s, "{:<28} {:<14} {:>10}  {what}", c.id, c.kind, c.bytes).ok();
            }
            writeln!(s, "{} capture(s) in {}", captures.len(), dir.display()).ok();
            out.write_all(s.as_bytes())?;
        }
        WatchdogCommand::History { dir, json } => {
            let runs = read_history(&dir)
                .with_context(|| format!("cannot read the run history in {}", dir.display()))?;
            let loops = crash_loops(&runs);
            if json {
                let body = serde_json::json!({ "runs": runs, "crash_loops": loops });
                serde_json::to_writer_pretty(&mut out, &body)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut s = String::new();
            for r in &runs {
                let end = match &r.end {
                    RunEnd::Clean { reason, .. } => format!("clean ({reason})"),
                    RunEnd::Crashed { message, .. } => format!("crashed: {message}"),
                    RunEnd::Killed => "killed".to_owned(),
                    RunEnd::Running => "running".to_owned(),
                };
                let mark = if r.in_crash_loop { "*" } else { " " };
                writeln!(
                    s,
                    "{mark} {:<24} pid {:<8} {:<16} {:<10} {}  {end}",
                    r.run, r.pid, r.host, r.version, r.started_at
                )
                .ok();
            }
            writeln!(s, "{} run(s) in {}", runs.len(), dir.display()).ok();
            out.write_all(s.as_bytes())?;
            for l in &loops {
                eprintln!(
                    "crash loop: {} unclean ends between {} and {}",
                    l.runs.len(),
                    l.from,
                    l.to
                );
            }
        }
        WatchdogCommand::Contention { dir, window } => {
            let path = request_contention(&dir, Some(window))
                .with_context(|| format!("cannot ask the watchdog in {}", dir.display()))?;
            writeln!(
                out,
                "asked for {} s of contention sampling: {}\n  hint: the running watchdog picks it up within one tick; then `rewind watchdog list {}`",
                window.as_secs_f64(),
                path.display(),
                dir.display()
            )?;
        }
    }
    Ok(())
}

/// `rewind bench watchdog …`.
pub(crate) async fn bench(args: &BenchWatchdogArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let mut opts = bench::BenchOptions::new(dir.path());
    opts.measure = Duration::from_secs(args.seconds.max(1));
    // The bench runs its own busy tokio runtime: off this one's threads.
    let report = tokio::task::spawn_blocking(move || bench::run(&opts))
        .await
        .context("the watchdog bench task failed")??;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    let mut s = format!(
        "rewind bench watchdog: {:.1} s at a {} ms interval, {} ticks, stacks from {}\n",
        report.measured_s, report.interval_ms, report.ticks, report.stack_source
    );
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    writeln!(s, "{:<44} {:>12}  target", "figure", "value").ok();
    writeln!(
        s,
        "{:<44} {:>11.3}%  < 1 %: {}",
        "watchdog thread CPU",
        report.cpu_percent,
        verdict(report.cpu_percent < 1.0)
    )
    .ok();
    writeln!(
        s,
        "{:<44} {:>10.0}us",
        "CPU per tick", report.cpu_per_tick_us
    )
    .ok();
    writeln!(
        s,
        "{:<44} {:>10.0}ms  within the {} ms tick: {}",
        "tick start -> stacks and /proc written",
        report.tick_to_stacks_ms,
        report.interval_ms,
        verdict(report.stacks_within_tick)
    )
    .ok();
    writeln!(
        s,
        "{:<44} {:>10.0}ms",
        "breach -> stacks written", report.breach_to_stacks_ms
    )
    .ok();
    if let Some(p99) = report.probe_p99_ms {
        writeln!(s, "{:<44} {:>10.1}ms", "scheduling-latency probe p99", p99).ok();
    }
    out.write_all(s.as_bytes())?;
    Ok(())
}
