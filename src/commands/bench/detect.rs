//! `rewind bench detect`: how well the release-regression detector
//! (`rewind_detect::regression`) answers "did this deploy break something?",
//! on seeded synthetic scenarios, next to a naive 3σ detector run on the
//! same trials; or, with `--dataset`, how its causal single-series detector
//! scores on a labelled dataset laid out like the Numenta Anomaly Benchmark.
//!
//! The method, the scenarios and what counts as a true or false positive
//! are documented in docs/benchmarks.md.

mod nab;
mod naive;
mod rng;
mod scenarios;
mod table;
mod tally;

use std::{io::Write as _, time::Instant};

use rewind_detect::regression::{Direction, RegressionConfig};
use serde::Serialize;

use self::rng::Rng;
use self::scenarios::{POST_SECS, STEP_SECS, Scenario, Truth};
use self::tally::{Latency, Tally};
use crate::cli::BenchDetectArgs;

/// The most trials per scenario (a million deploys take hours).
const MAX_TRIALS: usize = 100_000;

/// `rewind bench detect [--trials N] [--seed S] [--json] [--dataset DIR …]`.
pub(crate) fn run(args: &BenchDetectArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.dataset {
        return nab::run(dir, args.labels.as_deref(), args.profile, args.json);
    }
    let report = synthetic(args.trials.clamp(1, MAX_TRIALS), args.seed, !args.json)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        table::print(&mut out, &report)?;
    }
    Ok(())
}

/// The configuration judged: the core's defaults, with request rate
/// judged only when it falls. A rise in traffic is load, not a regression
/// (errors and latency tell whether the service coped); a fall can be one
/// (clients failing before they reach the service).
fn config() -> RegressionConfig {
    RegressionConfig {
        directions: vec![("request_rate".to_owned(), Direction::LowerIsWorse)],
        ..RegressionConfig::default()
    }
}

/// Everything one synthetic run measured.
#[derive(Debug, Serialize)]
struct Report {
    seed: u64,
    trials_per_scenario: usize,
    sample_interval_seconds: i64,
    baseline_window_seconds: i64,
    guard_seconds: i64,
    post_window_seconds: i64,
    scenarios: Vec<Row>,
    totals: Totals,
    targets: Vec<Target>,
    wall_seconds: f64,
}

/// One scenario: the robust detector's counts and the naive one's.
#[derive(Debug, Serialize)]
struct Row {
    name: &'static str,
    description: &'static str,
    truth: Truth,
    step: bool,
    trials: usize,
    rewind: Tally,
    naive: Tally,
}

/// The figures the targets are about.
#[derive(Debug, Serialize)]
struct Totals {
    healthy_trials: u64,
    healthy_false_positives: u64,
    naive_healthy_false_positives: u64,
    bad_trials: u64,
    step_regressions: u64,
    step_caught: u64,
    naive_step_caught: u64,
    step_latency: Option<Latency>,
    naive_step_latency: Option<Latency>,
}

/// One target, its measured value and whether it is met.
#[derive(Debug, Serialize)]
struct Target {
    target: &'static str,
    value: String,
    naive: String,
    met: bool,
}

fn synthetic(trials: usize, seed: u64, show_progress: bool) -> anyhow::Result<Report> {
    let cfg = config();
    let total = (trials * Scenario::ALL.len()) as u64;
    let bar = progress(total, show_progress);
    let started = Instant::now();
    let mut rows = Vec::new();
    for (index, scenario) in Scenario::ALL.into_iter().enumerate() {
        bar.set_message(scenario.name());
        rows.push(run_scenario(index, scenario, trials, seed, &cfg, &bar)?);
    }
    bar.finish_and_clear();
    let totals = totals(&rows);
    Ok(Report {
        seed,
        trials_per_scenario: trials,
        sample_interval_seconds: STEP_SECS,
        baseline_window_seconds: cfg.baseline_window_nanos / 1_000_000_000,
        guard_seconds: cfg.guard_nanos / 1_000_000_000,
        post_window_seconds: POST_SECS,
        targets: targets(&totals),
        scenarios: rows,
        totals,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The trials of one scenario, split between the cores. Each trial has its
/// own generator (from the seed, the scenario and the trial number), so the
/// figures do not depend on how many threads ran them.
fn run_scenario(
    index: usize,
    scenario: Scenario,
    trials: usize,
    seed: u64,
    cfg: &RegressionConfig,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Row> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    let truth = scenario.truth();
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || -> anyhow::Result<(Tally, Tally)> {
                    let (mut robust, mut plain) = (Tally::default(), Tally::default());
                    for t in (worker..trials).step_by(threads) {
                        let trial = scenario.generate(&mut Rng::for_trial(seed, index, t));
                        robust.add(truth, t, &trial, &tally::robust(&trial, cfg)?);
                        plain.add(truth, t, &trial, &naive::judge(&trial, cfg));
                        bar.inc(1);
                    }
                    Ok((robust, plain))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a benchmark thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let (mut rewind, mut naive) = (Tally::default(), Tally::default());
    for (r, n) in parts {
        rewind.merge(r);
        naive.merge(n);
    }
    rewind.finish();
    naive.finish();
    Ok(Row {
        name: scenario.name(),
        description: scenario.description(),
        truth,
        step: scenario.is_step(),
        trials,
        rewind,
        naive,
    })
}

fn totals(rows: &[Row]) -> Totals {
    let healthy = || rows.iter().filter(|r| r.truth == Truth::Healthy);
    let steps = || rows.iter().filter(|r| r.step);
    let step_latency = |f: fn(&Row) -> &Tally| {
        let all: Vec<i64> = steps().flat_map(|r| f(r).latencies().to_vec()).collect();
        Latency::of(&all)
    };
    Totals {
        healthy_trials: healthy().map(|r| r.trials as u64).sum(),
        healthy_false_positives: healthy().map(|r| r.rewind.fp).sum(),
        naive_healthy_false_positives: healthy().map(|r| r.naive.fp).sum(),
        bad_trials: rows
            .iter()
            .filter(|r| matches!(r.truth, Truth::Regression | Truth::Overlap))
            .map(|r| r.trials as u64)
            .sum(),
        step_regressions: steps().map(|r| r.trials as u64).sum(),
        step_caught: steps().map(|r| r.rewind.tp).sum(),
        naive_step_caught: steps().map(|r| r.naive.tp).sum(),
        step_latency: step_latency(|r| &r.rewind),
        naive_step_latency: step_latency(|r| &r.naive),
    }
}

fn targets(t: &Totals) -> Vec<Target> {
    let median = |l: Option<Latency>| l.map_or_else(|| "-".to_owned(), |l| l.median.to_string());
    vec![
        Target {
            target: "healthy trials >= 1,000",
            value: t.healthy_trials.to_string(),
            naive: String::new(),
            met: t.healthy_trials >= 1_000,
        },
        Target {
            target: "bad-deploy trials >= 1,000",
            value: t.bad_trials.to_string(),
            naive: String::new(),
            met: t.bad_trials >= 1_000,
        },
        Target {
            target: "no false positives on healthy deploys",
            value: t.healthy_false_positives.to_string(),
            naive: t.naive_healthy_false_positives.to_string(),
            met: t.healthy_false_positives == 0,
        },
        Target {
            target: "every step regression >= 3 spreads caught",
            value: format!("{} / {}", t.step_caught, t.step_regressions),
            naive: format!("{} / {}", t.naive_step_caught, t.step_regressions),
            met: t.step_caught == t.step_regressions,
        },
        Target {
            target: "median detection latency <= 2 samples",
            value: median(t.step_latency),
            naive: median(t.naive_step_latency),
            met: t.step_latency.is_some_and(|l| l.median <= 2),
        },
    ]
}

fn progress(total: u64, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "trials {bar:30} {pos}/{len} {msg} {elapsed}/{duration}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
