//! `rewind bench detect --dataset DIR`: the causal single-series detector
//! ([`RollingDetector`], one alarm per episode) scored on a labelled
//! dataset laid out like the Numenta Anomaly Benchmark, by NAB's method
//! (Lavin and Ahmad, "Evaluating Real-time Anomaly Detection Algorithms —
//! the Numenta Anomaly Benchmark", 2015; `nab/sweeper.py` and
//! `nab/runner.py` in github.com/numenta/NAB):
//!
//! - Each labelled window is worth its best detection: a detection at row
//!   `i` of the window `[start, end]` scores `A_TP · σ(p) / σ(−1)` with the
//!   scaled sigmoid `σ(p) = 2 / (1 + e^{5p}) − 1` and `p = −(end − i + 1) /
//!   (end − start + 1)`, so the window's first row is worth exactly `A_TP`
//!   and its last about 0. A window without a detection scores `−A_FN`.
//! - A detection outside every window scores `A_FP · σ(p)` with `p` the
//!   distance past the previous window's end in units of its width − 1
//!   (`σ` is −1 from `p ≥ 3` on, and before the first window), so an alarm
//!   just after a window costs little and a stray one costs the full `A_FP`.
//! - The first 15 % of each file (at most 750 rows) is the probationary
//!   period: detections there are not scored, and windows that end there
//!   are not counted against the detector.
//! - The corpus' raw score is the sum over files, normalised as
//!   `100 · (raw − null) / (perfect − null)`: the null detector (no
//!   detections: `−A_FN` per window) scores 0, the perfect one (`A_TP` per
//!   window) 100.
//!
//! NAB sweeps a threshold over each detector's anomaly scores per profile
//! and keeps the best; the detectors here raise alarms, and their alarms
//! are scored as they are (no tuning on the labels).

mod load;

use std::{io::Write as _, path::Path, time::Instant};

use rewind_detect::regression::{MetricKind, RegressionConfig, RollingDetector};
use serde::Serialize;

use super::naive::RollingThreeSigma;
use crate::cli::NabProfile;

use self::load::{File, Window};

/// An application profile: NAB's `config/profiles.json` weights (the
/// paper's `A_FP` and `A_FN` are these with a minus sign).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct Profile {
    name: &'static str,
    tp_weight: f64,
    fp_weight: f64,
    fn_weight: f64,
}

/// standard, reward_low_FP_rate and reward_low_FN_rate.
const PROFILES: [Profile; 3] = [
    Profile {
        name: "standard",
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 1.0,
    },
    Profile {
        name: "reward_low_FP_rate",
        tp_weight: 1.0,
        fp_weight: 0.22,
        fn_weight: 1.0,
    },
    Profile {
        name: "reward_low_FN_rate",
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 2.0,
    },
];

/// Samples in the detectors' reference window: 180, as the default 30
/// minutes at 10 s.
const REFERENCE_SAMPLES: i64 = 180;

/// The rows at the start of a file where detections are not scored:
/// 15 %, at most 750 (NAB's `_getProbationaryLength`).
fn probation(rows: usize) -> usize {
    (rows * 15 / 100).min(750)
}

/// NAB's scaled sigmoid of a relative position (−1 = a window's first row,
/// 0 = just past its end, > 0 = after it).
fn scaled_sigmoid(position: f64) -> f64 {
    if position >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * position).exp()) - 1.0
    }
}

/// One file's (or a corpus') score under one profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
struct Score {
    raw: f64,
    /// What the null detector scores on the same windows.
    null: f64,
    /// What the perfect detector scores.
    perfect: f64,
    windows_found: usize,
    false_positives: usize,
}

impl Score {
    fn add(&mut self, other: Self) {
        self.raw += other.raw;
        self.null += other.null;
        self.perfect += other.perfect;
        self.windows_found += other.windows_found;
        self.false_positives += other.false_positives;
    }

    /// `100 · (raw − null) / (perfect − null)`; `None` without windows.
    fn normalised(&self) -> Option<f64> {
        let span = self.perfect - self.null;
        (span > 0.0).then(|| 100.0 * (self.raw - self.null) / span)
    }
}

/// Scores the detections (row indices) of a file of `rows` rows against
/// its windows (sorted, disjoint) under `p`.
#[allow(clippy::cast_precision_loss)]
fn score_file(rows: usize, windows: &[Window], detections: &[usize], p: &Profile) -> Score {
    let probation = probation(rows);
    let max_tp = scaled_sigmoid(-1.0);
    let mut best: Vec<Option<f64>> = vec![None; windows.len()];
    let mut score = Score::default();
    for &i in detections.iter().filter(|&&i| i >= probation && i < rows) {
        if let Some(k) = windows.iter().position(|w| (w.start..=w.end).contains(&i)) {
            let w = windows[k];
            let position = -((w.end - i + 1) as f64) / ((w.end - w.start + 1) as f64);
            let s = scaled_sigmoid(position) * p.tp_weight / max_tp;
            best[k] = Some(best[k].map_or(s, |b| b.max(s)));
            continue;
        }
        let previous = windows.iter().filter(|w| w.end < i).max_by_key(|w| w.end);
        let position = match previous {
            Some(w) if w.end > w.start => (i - w.end) as f64 / (w.end - w.start) as f64,
            _ => 3.0,
        };
        score.raw += scaled_sigmoid(position) * p.fp_weight;
        score.false_positives += 1;
    }
    for (w, b) in windows.iter().zip(&best) {
        score.perfect += p.tp_weight;
        if w.end < probation {
            continue;
        }
        score.null -= p.fn_weight;
        score.raw += b.map_or(-p.fn_weight, |b| b.max(-p.fn_weight));
        score.windows_found += usize::from(b.is_some());
    }
    score
}

/// A detector: a file's alarms as row indices.
type Detector = fn(&File) -> anyhow::Result<Vec<usize>>;

/// The detectors compared.
const DETECTORS: [(&str, Detector); 4] = [
    ("rewind (rolling)", rewind_alarms),
    ("naive 3σ", naive_alarms),
    ("null (no alarms)", |_| Ok(Vec::new())),
    ("perfect (window starts)", |f| {
        Ok(f.windows.iter().map(|w| w.start).collect())
    }),
];

/// [`RollingDetector`] with the default configuration, its reference
/// window set to 180 of the file's median sampling intervals.
fn rewind_alarms(f: &File) -> anyhow::Result<Vec<usize>> {
    let mut gaps: Vec<i64> = f.times.windows(2).map(|w| w[1].nanos_since(w[0])).collect();
    gaps.sort_unstable();
    let interval = gaps
        .get(gaps.len() / 2)
        .copied()
        .unwrap_or(0)
        .max(1_000_000_000);
    let config = RegressionConfig {
        baseline_window_nanos: interval.saturating_mul(REFERENCE_SAMPLES),
        ..RegressionConfig::default()
    };
    let mut d = RollingDetector::new(config, MetricKind::Other)?;
    Ok(f.times
        .iter()
        .zip(&f.values)
        .enumerate()
        .filter_map(|(i, (t, x))| d.push(*t, *x).alarm.map(|_| i))
        .collect())
}

/// [`RollingThreeSigma`] over the previous 180 samples.
fn naive_alarms(f: &File) -> anyhow::Result<Vec<usize>> {
    let mut d = RollingThreeSigma::new(usize::try_from(REFERENCE_SAMPLES).unwrap_or(180));
    Ok(f.values
        .iter()
        .enumerate()
        .filter_map(|(i, x)| d.push(*x).then_some(i))
        .collect())
}

#[derive(Debug, Serialize)]
struct DatasetReport {
    dataset: String,
    labels: String,
    files: usize,
    rows: usize,
    windows: usize,
    notes: Vec<String>,
    per_file: Vec<FileSummary>,
    profiles: Vec<Profile>,
    detectors: Vec<DetectorScore>,
    wall_seconds: f64,
}

#[derive(Debug, Serialize)]
struct FileSummary {
    name: String,
    rows: usize,
    windows: usize,
}

#[derive(Debug, Serialize)]
struct DetectorScore {
    detector: &'static str,
    detections: usize,
    windows_found: usize,
    false_positives: usize,
    scores: Vec<ProfileScore>,
}

#[derive(Debug, Serialize)]
struct ProfileScore {
    profile: &'static str,
    /// 0 = the null detector, 100 = the perfect one.
    score: Option<f64>,
    #[serde(flatten)]
    parts: Score,
}

/// `rewind bench detect --dataset DIR [--labels FILE] [--profile P] [--json]`.
pub(super) fn run(
    dir: &Path,
    labels: Option<&Path>,
    only: Option<NabProfile>,
    json: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let data = load::load(dir, labels)?;
    let profiles: Vec<Profile> = PROFILES
        .into_iter()
        .filter(|p| only.is_none_or(|o| o.nab_name() == p.name))
        .collect();
    let mut detectors = Vec::new();
    for (name, detect) in DETECTORS {
        let mut totals = vec![Score::default(); profiles.len()];
        let mut detections = 0;
        for f in &data.files {
            let alarms = detect(f)?;
            detections += alarms.len();
            for (t, p) in totals.iter_mut().zip(&profiles) {
                t.add(score_file(f.values.len(), &f.windows, &alarms, p));
            }
        }
        let first = totals.first().copied().unwrap_or_default();
        detectors.push(DetectorScore {
            detector: name,
            detections,
            windows_found: first.windows_found,
            false_positives: first.false_positives,
            scores: profiles
                .iter()
                .zip(totals)
                .map(|(p, s)| ProfileScore {
                    profile: p.name,
                    score: s.normalised(),
                    parts: s,
                })
                .collect(),
        });
    }
    let report = DatasetReport {
        dataset: dir.display().to_string(),
        labels: data.labels.display().to_string(),
        files: data.files.len(),
        rows: data.files.iter().map(|f| f.values.len()).sum(),
        windows: data.files.iter().map(|f| f.windows.len()).sum(),
        notes: data.notes,
        per_file: data
            .files
            .iter()
            .map(|f| FileSummary {
                name: f.name.clone(),
                rows: f.values.len(),
                windows: f.windows.len(),
            })
            .collect(),
        profiles,
        detectors,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print(&mut out, &report)?;
    }
    Ok(())
}

fn print(out: &mut impl std::io::Write, r: &DatasetReport) -> std::io::Result<()> {
    writeln!(
        out,
        "rewind bench detect --dataset {}: {} files, {} rows, {} labelled windows ({:.1} s)",
        r.dataset, r.files, r.rows, r.windows, r.wall_seconds
    )?;
    writeln!(out, "labels: {}", r.labels)?;
    writeln!(
        out,
        "NAB scores: 0 = the null detector, 100 = the perfect one; detections in the first \
         15 % of each file (at most 750 rows) are not scored\n"
    )?;
    write!(out, "{:<24}", "detector")?;
    for p in &r.profiles {
        write!(out, " {:>19}", p.name)?;
    }
    writeln!(
        out,
        " {:>10} {:>13} {:>6}",
        "detections", "windows found", "FP"
    )?;
    for d in &r.detectors {
        write!(out, "{:<24}", d.detector)?;
        for s in &d.scores {
            let v = s
                .score
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
            write!(out, " {v:>19}")?;
        }
        let found = format!("{}/{}", d.windows_found, r.windows);
        writeln!(
            out,
            " {:>10} {found:>13} {:>6}",
            d.detections, d.false_positives
        )?;
    }
    for n in &r.notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
