//! The text table of a synthetic run.

use std::io::{self, Write};

use super::scenarios::Truth;
use super::tally::{Latency, Tally};
use super::{Report, Row};

fn latency(l: Option<Latency>) -> String {
    l.map_or_else(
        || "-".to_owned(),
        |l| format!("{}/{}/{}/{}", l.min, l.median, l.p95, l.max),
    )
}

fn counts(t: &Tally) -> String {
    format!(
        "{:>5} {:>5} {:>5} {:>5}  {:<12}",
        t.tp,
        t.fp,
        t.tn,
        t.fn_,
        latency(t.latency)
    )
}

pub(super) fn print(out: &mut impl Write, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "rewind bench detect: {} scenarios x {} trials, seed {} ({:.1} s)",
        r.scenarios.len(),
        r.trials_per_scenario,
        r.seed,
        r.wall_seconds
    )?;
    writeln!(
        out,
        "samples every {} s, baseline {} min (+{} min guard), window {} min; \
         latency = samples from the true change to the detection (0 = on the first \
         changed sample), min/median/p95/max",
        r.sample_interval_seconds,
        r.baseline_window_seconds / 60,
        r.guard_seconds / 60,
        r.post_window_seconds / 60,
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<21} {:>6} | {:<37} | naive 3σ, same trials",
        "", "", "rewind (robust, confirmed)"
    )?;
    let head = format!(
        "{:>5} {:>5} {:>5} {:>5}  {:<12}",
        "TP", "FP", "TN", "FN", "latency"
    );
    let line = format!("{:<21} {:>6} | {head} | {head}", "scenario", "trials");
    writeln!(out, "{}", line.trim_end())?;
    for row in &r.scenarios {
        let line = format!(
            "{:<21} {:>6} | {} | {}",
            row.name,
            row.trials,
            counts(&row.rewind),
            counts(&row.naive)
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<44} {:>13} {:>13}  met",
        "target", "rewind", "naive 3σ"
    )?;
    for t in &r.targets {
        let met = if t.met { "yes" } else { "NO" };
        writeln!(
            out,
            "{:<44} {:>13} {:>13}  {met}",
            t.target, t.value, t.naive
        )?;
    }
    writeln!(out)?;
    notes(out, r)?;
    writeln!(out, "\nscenarios:")?;
    for row in &r.scenarios {
        writeln!(out, "  {:<21} {}", row.name, row.description)?;
    }
    Ok(())
}

fn notes(out: &mut impl Write, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "healthy_*, traffic_spike: a regression verdict is a false positive."
    )?;
    writeln!(
        out,
        "began_before_deploy: TP = reported as begun before the deploy (not caused by it); \
         FP = blamed on the deploy; FN = not reported."
    )?;
    for row in r.scenarios.iter().filter(|s| s.truth == Truth::Overlap) {
        writeln!(
            out,
            "{}: per trial, TP/FN on the deploy that broke, FP/TN on the other one; \
             attributed right in {} of {} trials (naive: {}).",
            row.name, row.rewind.trials_right, row.trials, row.naive.trials_right
        )?;
    }
    let sum = |f: fn(&Row) -> u64| r.scenarios.iter().map(f).sum::<u64>();
    let final_only = sum(|s| s.rewind.final_only);
    if final_only > 0 {
        writeln!(
            out,
            "{final_only} regressions were found by the window's final tests without a confirmed \
             alarm; their latency is the window's last sample."
        )?;
    }
    let (early, naive_early) = (sum(|s| s.rewind.early), sum(|s| s.naive.early));
    if early + naive_early > 0 {
        writeln!(
            out,
            "detections before the true change (on noise; counted as TP, left out of the \
             latency): rewind {early}, naive {naive_early}."
        )?;
    }
    for row in &r.scenarios {
        for w in &row.rewind.wrong {
            writeln!(
                out,
                "rewind {} on {} trial {} (seed {}): {}",
                w.outcome.to_uppercase(),
                row.name,
                w.trial,
                r.seed,
                w.verdict
            )?;
        }
    }
    Ok(())
}
