//! `rewind bench rules`: the detection engine's cost on the spec's workload,
//! 1,000 rules over 10,000 series at 10 Hz, on one thread.
//!
//! Every tick's values are computed before the tick is timed, so the clock
//! measures `Engine::observe` alone. The baseline runs the same loop over
//! the same samples doing one hash-map lookup and store per sample: the
//! least any per-series router could do.

mod generate;

use std::{
    collections::{BTreeMap, HashMap},
    hint::black_box,
    io::Write as _,
    time::{Duration, Instant},
};

use rewind_detect::{Engine, SignalKind};
use rewind_model::{Sample, SeriesName, Timestamp};
use serde::Serialize;

use super::{percentiles, self_status_kib};
use crate::cli::BenchRulesArgs;

/// Ticks per simulated second.
const HZ: u64 = 10;
/// Nanoseconds between ticks.
const TICK_NANOS: i64 = 100_000_000;
/// The simulated run starts here (2026-11-23T10:00:00Z).
const START_NANOS: i64 = 1_795_428_000_000_000_000;

/// What `rewind bench rules` measured.
#[derive(Debug, Serialize)]
struct RulesFigures {
    rules: usize,
    rule_mix: BTreeMap<&'static str, usize>,
    series: usize,
    /// Rule × series pairs the engine tracks at the end.
    subjects: usize,
    simulated_seconds: u64,
    ticks: u64,
    samples: u64,
    /// Wall time spent in `Engine::observe` (the values are made outside it).
    wall_seconds: f64,
    samples_per_second: f64,
    ns_per_sample: f64,
    tick_ns_per_sample_p50: f64,
    tick_ns_per_sample_p99: f64,
    /// The first tick, when every series is routed to its rules once.
    first_tick_ms: f64,
    evaluations: u64,
    evaluations_per_second: f64,
    evaluations_per_sample: f64,
    /// How many times faster than the samples would arrive live.
    real_time_factor: f64,
    signals: u64,
    firing: u64,
    baseline_ns_per_sample: f64,
    baseline_tick_ns_per_sample_p50: f64,
    baseline_tick_ns_per_sample_p99: f64,
    /// `ns_per_sample` / `baseline_ns_per_sample`.
    ratio_to_baseline: f64,
    peak_rss_mb: f64,
    notes: Vec<String>,
}

/// `rewind bench rules [--seconds N] [--rules N] [--series N] [--json]`.
pub(crate) fn run(args: &BenchRulesArgs) -> anyhow::Result<()> {
    let seconds = args.seconds.clamp(1, 3600);
    let series_count = args.series.clamp(1, 1_000_000);
    let rule_count = args.rules.clamp(1, 100_000);
    let names = generate::series(series_count)?;
    let (rules, rule_mix, notes) = generate::rule_set(rule_count, series_count)?;
    let ticks = seconds * HZ;
    let bar = progress(ticks * 2);
    let mut engine = Engine::new(&rules);
    let run = measure(&names, ticks, &bar, |name, sample| {
        let signals = engine.observe(name, sample);
        let firing = signals
            .iter()
            .filter(|s| s.kind == SignalKind::Firing)
            .count();
        (signals.len(), firing)
    });
    let mut latest: HashMap<SeriesName, f64> = names.iter().map(|n| (n.clone(), 0.0)).collect();
    let baseline = measure(&names, ticks, &bar, |name, sample| {
        if let Some(v) = latest.get_mut(black_box(name)) {
            *v = sample.value;
        }
        (0, 0)
    });
    bar.finish_and_clear();
    let figures = figures(
        &engine,
        &run,
        &baseline,
        (rule_count, rule_mix, series_count, seconds),
        notes,
    );
    let mut out = std::io::stdout().lock();
    if args.json {
        // Serialised first, so a closed pipe is an I/O error `main` recognises.
        writeln!(out, "{}", serde_json::to_string_pretty(&figures)?)?;
    } else {
        print_table(&mut out, &figures)?;
    }
    Ok(())
}

/// What one timed pass over the workload gave.
#[derive(Debug)]
struct Run {
    wall: Duration,
    /// ns per sample of each tick, in tick order.
    per_tick: Vec<f64>,
    signals: u64,
    firing: u64,
}

/// Feeds `ticks` ticks of every series to `observe`, timing each tick.
fn measure(
    names: &[SeriesName],
    ticks: u64,
    bar: &indicatif::ProgressBar,
    mut observe: impl FnMut(&SeriesName, Sample) -> (usize, usize),
) -> Run {
    let mut values = vec![0.0; names.len()];
    let mut per_tick = Vec::with_capacity(usize::try_from(ticks).unwrap_or(0));
    let (mut wall, mut signals, mut firing) = (Duration::ZERO, 0_u64, 0_u64);
    for tick in 0..ticks {
        generate::values(tick, &mut values);
        let ts =
            Timestamp::from_unix_nanos(START_NANOS + i64::try_from(tick).unwrap_or(0) * TICK_NANOS);
        let started = Instant::now();
        for (name, &value) in names.iter().zip(&values) {
            let (s, f) = observe(name, Sample::new(ts, value));
            signals += s as u64;
            firing += f as u64;
        }
        let took = started.elapsed();
        wall += took;
        #[allow(clippy::cast_precision_loss)]
        per_tick.push(took.as_nanos() as f64 / names.len() as f64);
        bar.inc(1);
    }
    Run {
        wall,
        per_tick,
        signals,
        firing,
    }
}

#[allow(clippy::cast_precision_loss)]
fn figures(
    engine: &Engine,
    run: &Run,
    baseline: &Run,
    (rules, rule_mix, series, seconds): (usize, BTreeMap<&'static str, usize>, usize, u64),
    notes: Vec<String>,
) -> RulesFigures {
    let ticks = run.per_tick.len() as u64;
    let samples = ticks * series as u64;
    let wall = run.wall.as_secs_f64().max(f64::MIN_POSITIVE);
    let per_sample = |r: &Run| r.wall.as_secs_f64() * 1e9 / samples.max(1) as f64;
    let (p50, p99) = percentiles(&mut run.per_tick.clone());
    let (b50, b99) = percentiles(&mut baseline.per_tick.clone());
    let evaluations = engine.stats().evaluations;
    let ns = per_sample(run);
    let base = per_sample(baseline);
    RulesFigures {
        rules,
        rule_mix,
        series,
        subjects: engine.status().len(),
        simulated_seconds: seconds,
        ticks,
        samples,
        wall_seconds: wall,
        samples_per_second: samples as f64 / wall,
        ns_per_sample: ns,
        tick_ns_per_sample_p50: p50,
        tick_ns_per_sample_p99: p99,
        first_tick_ms: run.per_tick.first().copied().unwrap_or(0.0) * series as f64 / 1e6,
        evaluations,
        evaluations_per_second: evaluations as f64 / wall,
        evaluations_per_sample: evaluations as f64 / samples.max(1) as f64,
        real_time_factor: seconds as f64 / wall,
        signals: run.signals,
        firing: run.firing,
        baseline_ns_per_sample: base,
        baseline_tick_ns_per_sample_p50: b50,
        baseline_tick_ns_per_sample_p99: b99,
        ratio_to_baseline: ns / base.max(f64::MIN_POSITIVE),
        peak_rss_mb: self_status_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0,
        notes,
    }
}

fn progress(ticks: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(ticks);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "feeding the engine, then the baseline {bar:30} {pos}/{len} ticks {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn print_table(out: &mut impl std::io::Write, f: &RulesFigures) -> std::io::Result<()> {
    writeln!(
        out,
        "rewind bench rules: {} rules over {} series at {HZ} Hz, {} s simulated, one thread",
        f.rules, f.series, f.simulated_seconds
    )?;
    let mix: Vec<String> = f.rule_mix.iter().map(|(k, n)| format!("{n} {k}")).collect();
    writeln!(out, "rule mix: {}", mix.join(", "))?;
    writeln!(out, "{:<36} {:>14}  baseline / target", "figure", "value")?;
    let live = f.series as f64 * HZ as f64;
    let rows = [
        (
            "samples",
            f.samples.to_string(),
            format!("{} ticks", f.ticks),
        ),
        (
            "time in the engine, s",
            format!("{:.2}", f.wall_seconds),
            "wall time around Engine::observe only".to_owned(),
        ),
        (
            "samples per second",
            format!("{:.0}", f.samples_per_second),
            format!("live rate {live:.0}"),
        ),
        (
            "ns per sample, mean",
            format!("{:.0}", f.ns_per_sample),
            format!(
                "hash-map lookup {:.0}: {:.1}x",
                f.baseline_ns_per_sample, f.ratio_to_baseline
            ),
        ),
        (
            "ns per sample p50 / p99 over ticks",
            format!(
                "{:.0} / {:.0}",
                f.tick_ns_per_sample_p50, f.tick_ns_per_sample_p99
            ),
            format!(
                "hash-map lookup {:.0} / {:.0}",
                f.baseline_tick_ns_per_sample_p50, f.baseline_tick_ns_per_sample_p99
            ),
        ),
        (
            "first tick (routes every series), ms",
            format!("{:.1}", f.first_tick_ms),
            String::new(),
        ),
        (
            "rule evaluations per second",
            format!("{:.0}", f.evaluations_per_second),
            format!("{:.2} per sample", f.evaluations_per_sample),
        ),
        (
            "real-time factor",
            format!("{:.1}x", f.real_time_factor),
            "target >= 1 on one core".to_owned(),
        ),
        (
            "rule subjects tracked",
            f.subjects.to_string(),
            String::new(),
        ),
        (
            "signals (firing)",
            format!("{} ({})", f.signals, f.firing),
            String::new(),
        ),
        (
            "peak RSS, MB",
            format!("{:.1}", f.peak_rss_mb),
            String::new(),
        ),
    ];
    for (name, value, note) in rows {
        writeln!(out, "{name:<36} {value:>14}  {note}")?;
    }
    for note in &f.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}
