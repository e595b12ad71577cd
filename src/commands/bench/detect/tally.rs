//! What a detector said about a trial ([`Judgement`]), and the counting of
//! those answers into true and false positives and negatives, with the
//! detection latencies ([`Tally`]).

use rewind_detect::regression::{
    DeployVerdict, Finding, RegressionConfig, Verdict, analyze_deploy, analyze_deploys,
};
use rewind_model::Timestamp;
use serde::Serialize;

use super::scenarios::{POST_SECS, STEP_SECS, Trial, Truth};

const STEP_NANOS: i64 = STEP_SECS * 1_000_000_000;

/// A detector's answer for each deploy of a trial.
#[derive(Debug, Default)]
pub(super) struct Judgement {
    /// Whether it called the deploy a regression.
    pub flagged: Vec<bool>,
    /// When it knew (the confirmed detection).
    pub detected_at: Vec<Option<Timestamp>>,
    /// Flagged by the window's final tests without a confirmed alarm: known
    /// only when the window ends (the detection time is its last sample).
    pub final_only: Vec<bool>,
    /// The change it reported as having begun before the deploy (not caused
    /// by it), with when it was confirmed.
    pub began_before: Option<Option<Timestamp>>,
    /// Each deploy's verdict in words (the robust detector's only).
    pub summaries: Vec<String>,
}

/// The core's verdicts: [`analyze_deploy`] for one deploy, and
/// [`analyze_deploys`] (which attributes each change) for several.
pub(super) fn robust(trial: &Trial, cfg: &RegressionConfig) -> anyhow::Result<Judgement> {
    let verdicts: Vec<DeployVerdict> = match trial.deploys.as_slice() {
        [one] => vec![analyze_deploy(one, &trial.series, cfg)?],
        many => analyze_deploys(many, &trial.series, cfg)?,
    };
    let mut out = Judgement::default();
    for v in &verdicts {
        let flagged = v.verdict == Verdict::Regression;
        let last_sample = v
            .deploy
            .at
            .add_nanos(POST_SECS * 1_000_000_000 - STEP_NANOS);
        let final_only = flagged && v.detected_at.is_none();
        out.flagged.push(flagged);
        out.final_only.push(final_only);
        out.summaries.push(v.summary.clone());
        out.detected_at.push(if final_only {
            Some(last_sample)
        } else {
            v.detected_at
        });
        if let Some(m) = v
            .metrics
            .iter()
            .find(|m| matches!(m.finding, Finding::BeganBeforeDeploy { .. }))
        {
            out.began_before = Some(m.detection.map(|d| d.detected_at));
        }
    }
    Ok(out)
}

/// Detection latency in samples after the true change (0 = on the first
/// changed sample), over the detections at or after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) struct Latency {
    pub detections: usize,
    pub min: i64,
    pub median: i64,
    pub p95: i64,
    pub max: i64,
}

impl Latency {
    /// Nearest-rank percentiles (the median is the lower one); `None` when empty.
    pub(super) fn of(samples: &[i64]) -> Option<Self> {
        let mut v = samples.to_vec();
        v.sort_unstable();
        let rank = |q: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let r = (q * v.len() as f64).ceil() as usize;
            v.get(r.saturating_sub(1)).copied()
        };
        Some(Self {
            detections: v.len(),
            min: *v.first()?,
            median: rank(0.5)?,
            p95: rank(0.95)?,
            max: *v.last()?,
        })
    }
}

/// One detector's counts over one scenario.
#[derive(Debug, Default, Clone, Serialize)]
pub(super) struct Tally {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Trials where every deploy was judged right.
    pub trials_right: u64,
    /// True positives detected before the true change began (on noise).
    pub early: u64,
    /// True positives found only by the window's final tests.
    pub final_only: u64,
    pub latency: Option<Latency>,
    /// The first wrong answers (by trial number), to reproduce with the seed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wrong: Vec<Wrong>,
    #[serde(skip)]
    latencies: Vec<i64>,
}

/// One wrong answer, with the verdict in words.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Wrong {
    pub trial: usize,
    /// `fp` or `fn`.
    pub outcome: &'static str,
    pub verdict: String,
}

/// Wrong answers kept per scenario.
const WRONG_KEPT: usize = 10;

impl Tally {
    /// Counts one trial. Per deploy: a flag on the culprit is a true
    /// positive, a flag on any other deploy a false positive. For a change
    /// that began before the deploy, the right answer is "began before" (a
    /// true positive), a flag blames the deploy (a false positive) and
    /// anything else missed the change (a false negative).
    pub(super) fn add(&mut self, truth: Truth, number: usize, trial: &Trial, j: &Judgement) {
        let (tp, fp, tn, fn_) = (self.tp, self.fp, self.tn, self.fn_);
        if truth == Truth::BeganBefore {
            if j.flagged.iter().any(|f| *f) {
                self.fp += 1;
            } else if let Some(detected) = j.began_before {
                self.tp += 1;
                self.latency_of(detected, trial.change_at);
            } else {
                self.fn_ += 1;
            }
        } else {
            for (i, &flagged) in j.flagged.iter().enumerate() {
                let culprit = trial.culprit == Some(i);
                match (culprit, flagged) {
                    (true, true) => {
                        self.tp += 1;
                        self.final_only += u64::from(j.final_only.get(i) == Some(&true));
                        let at = j.detected_at.get(i).copied().flatten();
                        self.latency_of(at, trial.change_at);
                    }
                    (true, false) => self.fn_ += 1,
                    (false, true) => self.fp += 1,
                    (false, false) => self.tn += 1,
                }
            }
        }
        self.trials_right +=
            u64::from(self.fp == fp && self.fn_ == fn_ && (self.tp, self.tn) != (tp, tn));
        let outcome = if self.fp > fp { "fp" } else { "fn" };
        if (self.fp > fp || self.fn_ > fn_) && !j.summaries.is_empty() {
            self.wrong.push(Wrong {
                trial: number,
                outcome,
                verdict: j.summaries.join(" / "),
            });
        }
    }

    fn latency_of(&mut self, detected: Option<Timestamp>, change: Option<Timestamp>) {
        let (Some(d), Some(c)) = (detected, change) else {
            return;
        };
        let samples = d.nanos_since(c).div_euclid(STEP_NANOS);
        if samples < 0 {
            self.early += 1;
        } else {
            self.latencies.push(samples);
        }
    }

    /// Adds another part's counts (the trials split between threads).
    pub(super) fn merge(&mut self, other: Self) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.tn += other.tn;
        self.fn_ += other.fn_;
        self.trials_right += other.trials_right;
        self.early += other.early;
        self.final_only += other.final_only;
        self.latencies.extend(other.latencies);
        self.wrong.extend(other.wrong);
    }

    /// Computes the latency figures once every part is merged.
    pub(super) fn finish(&mut self) {
        self.latency = Latency::of(&self.latencies);
        self.wrong.sort_by_key(|w| w.trial);
        self.wrong.truncate(WRONG_KEPT);
    }

    pub(super) fn latencies(&self) -> &[i64] {
        &self.latencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_uses_nearest_rank_percentiles() {
        let l = Latency::of(&[5, 1, 2, 2, 3, 2, 9, 2, 4, 2]).unwrap();
        assert_eq!(
            (l.detections, l.min, l.median, l.p95, l.max),
            (10, 1, 2, 9, 9)
        );
        assert_eq!(Latency::of(&[]), None);
        assert_eq!(Latency::of(&[4]).map(|l| l.median), Some(4));
    }
}
