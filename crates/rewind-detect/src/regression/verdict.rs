//! The results: [`MetricVerdict`] per series, [`DeployVerdict`] per deploy,
//! each with a plain-words summary. Everything serialises to JSON.

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::baseline::RobustBaseline;
use super::cusum::Shift;
use super::stats::RateTest;
use super::{DeployRef, Direction, MetricKind};

/// The answer to "did this deploy make things worse?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It did, by at least the minimum effect, with significance.
    Regression,
    /// It did not, or not by the minimum effect (see the finding).
    NoRegression,
    /// The data cannot tell (see the reason).
    Inconclusive,
}

/// What was found for one series, in more detail than the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Finding {
    /// A significant change in the bad direction of at least the minimum effect.
    Regression,
    /// Nothing significant.
    NoChange,
    /// Significant in the bad direction, but below the minimum relative effect.
    BelowMinimumEffect,
    /// A significant change in the good direction.
    Improvement,
    /// A regression that began before the deploy: not caused by it.
    BeganBeforeDeploy {
        /// How long before the deploy it began, in seconds.
        lead_seconds: f64,
    },
    /// A regression, but another deploy explains it better (a later deploy
    /// of the same service nearer before the change, or the deploy whose
    /// service moved first): see [`super::attribute`].
    AttributedElsewhere {
        /// The deploy it is attributed to.
        deploy_id: String,
    },
    /// The data cannot tell.
    Inconclusive {
        /// Why.
        reason: InconclusiveReason,
    },
}

impl Finding {
    /// The three-way verdict this finding amounts to.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Regression => Verdict::Regression,
            Self::Inconclusive { .. } => Verdict::Inconclusive,
            _ => Verdict::NoRegression,
        }
    }
}

/// Why a series' verdict is inconclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum InconclusiveReason {
    /// No samples at all where they were needed.
    NoData {
        /// `baseline` or `after`.
        period: Period,
    },
    /// Some samples, but fewer than needed.
    TooFewSamples {
        /// `baseline` or `after`.
        period: Period,
        /// Samples there.
        have: usize,
        /// Samples needed.
        need: usize,
    },
    /// The window has a gap: fewer samples than the sampling interval predicts.
    DataMissing {
        /// Samples in the window.
        have: usize,
        /// Samples the baseline's interval predicts.
        expected: usize,
    },
    /// The median moved the bad way by at least the minimum effect, with
    /// some evidence (p ≤ 0.01) but not enough samples to reach the
    /// significance a regression needs: neither "regression" nor "no
    /// regression" would be honest.
    Unconfirmed {
        /// Samples tested after the deploy (or the change point).
        have: usize,
    },
    /// Too few events to see even a doubling of the rate.
    TooLittleTraffic {
        /// Events before and after together.
        events: u64,
    },
}

/// Which part of the data a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The reference.
    Baseline,
    /// After the deploy (or the change point).
    After,
}

/// Which baseline was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BaselineUsed {
    /// The window before the deploy.
    PreDeploy,
    /// The same time of day on earlier days.
    SameTimeOfDay {
        /// Earlier days that had data in the window.
        days: u32,
    },
    /// Instances that did not get the deploy, over the same window.
    Canary {
        /// Their instance labels, sorted.
        control: Vec<String>,
    },
}

/// When a change was seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Which way it moved.
    pub shift: Shift,
    /// The estimated start of the change (the CUSUM's change point, refined
    /// by a maximum-likelihood step fit, and moved to the deploy unless the
    /// samples before it show the change on their own).
    pub change_at: Timestamp,
    /// When the CUSUM alarmed.
    pub alarm_at: Timestamp,
    /// When the alarm was confirmed (the earliest a causal watcher reports
    /// the regression): at or after the alarm.
    pub detected_at: Timestamp,
    /// Samples from the change point to the confirmation, both included
    /// (1 = confirmed on the first changed sample).
    pub samples_to_detect: usize,
}

/// The verdict for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricVerdict {
    /// The series' label (`service/name@instance`).
    pub series: String,
    /// The metric's name.
    pub name: String,
    /// What it measures.
    pub kind: MetricKind,
    /// Which way is worse.
    pub direction: Direction,
    /// The verdict.
    pub verdict: Verdict,
    /// The finding behind it.
    pub finding: Finding,
    /// Which baseline was used.
    pub baseline_used: BaselineUsed,
    /// The reference level and spread (absent without reference data).
    pub baseline: Option<RobustBaseline>,
    /// The median of the tested samples after the deploy (or the change point).
    pub after_median: Option<f64>,
    /// How many samples were tested after.
    pub after_samples: usize,
    /// (after median − baseline median) / |baseline median|.
    pub relative_change: Option<f64>,
    /// The change in baseline spreads.
    pub change_in_spreads: Option<f64>,
    /// Cliff's δ of after against the baseline, in [−1, 1].
    pub cliffs_delta: Option<f64>,
    /// Brown–Forsythe spread ratio after / before (latencies).
    pub spread_ratio: Option<f64>,
    /// The count comparison (sparse counts).
    pub rate: Option<RateTest>,
    /// The p-value of the test that decided (the smallest relevant one).
    pub p_value: Option<f64>,
    /// For a regression, 1 − p; otherwise the power the test had to see a
    /// change of the minimum effect (how sure "no regression" is). Not a
    /// posterior probability.
    pub confidence: Option<f64>,
    /// The smallest relative change this window could have detected (with
    /// the configured power), never below the minimum effect.
    pub min_detectable_effect: Option<f64>,
    /// When the change was seen (CUSUM alarm confirmed), if it was.
    pub detection: Option<Detection>,
}

/// The verdict for one deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployVerdict {
    /// The deploy.
    pub deploy: DeployRef,
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the window was still open (an early, partial verdict).
    pub partial: bool,
    /// The data were read up to this time.
    pub evaluated_until: Timestamp,
    /// The earliest confirmed detection among the regressions.
    pub detected_at: Option<Timestamp>,
    /// One verdict per series, regressions first, then by label.
    pub metrics: Vec<MetricVerdict>,
    /// The verdict in plain words.
    pub summary: String,
}

impl DeployVerdict {
    /// Builds the deploy-level verdict from the series' verdicts: a
    /// regression if any series regressed; inconclusive if none did and
    /// any series (or every series, when there are none) could not tell.
    #[must_use]
    pub fn from_metrics(
        deploy: DeployRef,
        mut metrics: Vec<MetricVerdict>,
        partial: bool,
        evaluated_until: Timestamp,
    ) -> Self {
        let rank = |m: &MetricVerdict| match m.verdict {
            Verdict::Regression => 0,
            Verdict::Inconclusive => 1,
            Verdict::NoRegression => 2,
        };
        metrics.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.series.cmp(&b.series)));
        let verdict = match metrics.first().map(|m| m.verdict) {
            None => Verdict::Inconclusive,
            Some(v) => v,
        };
        let detected_at = metrics
            .iter()
            .filter(|m| m.verdict == Verdict::Regression)
            .filter_map(|m| m.detection.map(|d| d.detected_at))
            .min();
        let mut out = Self {
            deploy,
            verdict,
            partial,
            evaluated_until,
            detected_at,
            metrics,
            summary: String::new(),
        };
        out.summary = super::words::deploy_summary(&out);
        out
    }

    /// The verdict in plain words.
    #[must_use]
    pub fn summary(&self) -> &str {
        &self.summary
    }
}

impl MetricVerdict {
    /// This series' verdict in plain words.
    #[must_use]
    pub fn summary(&self) -> String {
        super::words::metric_summary(self, None)
    }
}
