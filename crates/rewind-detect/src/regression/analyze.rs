//! Batch analysis of one deploy ([`Analysis`], [`analyze_deploy`]) or many
//! ([`analyze_deploys`], which also attributes each change to a deploy).

use rewind_model::Timestamp;

use super::attribute::{self, AttributionConfig, Cause, ChangeObservation};
use super::config::DAY;
use super::judge::{self, Reference, Span};
use super::verdict::{BaselineUsed, DeployVerdict, Finding};
use super::{BaselineStrategy, DeployRef, RegressionConfig, Result, Series, stats};

/// One deploy with the series to judge it by; a final or an early verdict.
#[derive(Debug, Clone, Copy)]
pub struct Analysis<'a> {
    deploy: &'a DeployRef,
    series: &'a [Series],
    config: &'a RegressionConfig,
}

impl<'a> Analysis<'a> {
    /// Checks the configuration. Only the series that belong to the deploy
    /// ([`Series::belongs_to`]) are judged.
    ///
    /// # Errors
    /// [`super::Error::InvalidConfig`].
    pub fn new(
        deploy: &'a DeployRef,
        series: &'a [Series],
        config: &'a RegressionConfig,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            deploy,
            series,
            config,
        })
    }

    /// The end of the post-deploy window (exclusive).
    #[must_use]
    pub fn window_end(&self) -> Timestamp {
        self.deploy.at.add_nanos(self.config.post_window_nanos)
    }

    /// The verdict over the whole window.
    #[must_use]
    pub fn complete(&self) -> DeployVerdict {
        self.evaluate(self.window_end(), false)
    }

    /// The verdict from the samples up to and including `at`; partial while
    /// `at` is inside the window (the same as [`complete`](Self::complete)
    /// from the window's end on). Early regressions are reported as soon as
    /// the tests hold on the samples so far; "no regression" early only
    /// means "not so far".
    #[must_use]
    pub fn partial(&self, at: Timestamp) -> DeployVerdict {
        let end = at.add_nanos(1);
        if end >= self.window_end() {
            return self.complete();
        }
        self.evaluate(end, true)
    }

    fn evaluate(&self, end: Timestamp, partial: bool) -> DeployVerdict {
        let mine: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| s.belongs_to(self.deploy))
            .collect();
        let metrics = match &self.config.strategy {
            BaselineStrategy::Canary { canary } => canary_verdicts(self, &mine, canary, end),
            _ => mine.iter().map(|s| self.judge_own(s, end)).collect(),
        };
        let until = end.add_nanos(-1);
        DeployVerdict::from_metrics(self.deploy.clone(), metrics, partial, until)
    }

    /// A series against its own history (before the deploy, or earlier days).
    fn judge_own(&self, s: &Series, end: Timestamp) -> super::MetricVerdict {
        let cfg = self.config;
        let at = self.deploy.at;
        let watch_from = at.add_nanos(-cfg.guard_nanos);
        let pre_from = watch_from.add_nanos(-cfg.baseline_window_nanos);
        let pre = || Reference {
            values: s.values_in(pre_from, watch_from).map(|p| p.1).collect(),
            used: BaselineUsed::PreDeploy,
        };
        let reference = match cfg.strategy {
            BaselineStrategy::SameTimeOfDay { days } => same_time(s, at, days, cfg),
            BaselineStrategy::Auto { days } => {
                let seasonal = same_time(s, at, days, cfg);
                if seasonal.values.len() >= cfg.min_baseline_samples {
                    seasonal
                } else {
                    pre()
                }
            }
            BaselineStrategy::PreDeploy | BaselineStrategy::Canary { .. } => pre(),
        };
        let span = Span {
            watch_from,
            deploy_at: at,
            end,
            interval: interval(s, pre_from, at),
        };
        judge::judge(s, reference, span, cfg)
    }
}

/// The pooled windows at the same time of day on up to `days` earlier days.
fn same_time(s: &Series, at: Timestamp, days: u32, cfg: &RegressionConfig) -> Reference {
    let mut values = Vec::new();
    let mut used = 0;
    for d in 1..=i64::from(days) {
        let center = at.add_nanos(-d.saturating_mul(DAY));
        let before = values.len();
        values.extend(
            s.values_in(
                center.add_nanos(-cfg.guard_nanos),
                center.add_nanos(cfg.post_window_nanos),
            )
            .map(|p| p.1),
        );
        used += u32::from(values.len() > before);
    }
    Reference {
        values,
        used: BaselineUsed::SameTimeOfDay { days: used },
    }
}

/// The median gap between the series' samples in `[from, to)`.
fn interval(s: &Series, from: Timestamp, to: Timestamp) -> Option<i64> {
    let times: Vec<Timestamp> = s.values_in(from, to).map(|p| p.0).collect();
    #[allow(clippy::cast_precision_loss)]
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| w[1].nanos_since(w[0]) as f64)
        .collect();
    #[allow(clippy::cast_possible_truncation)]
    stats::median(&gaps).map(|g| g as i64)
}

/// Canary analysis: each canary series against the pooled series of the
/// same name on the other instances, over the same window. The reference
/// spans the whole window, so this comparison is not causal within it.
fn canary_verdicts(
    a: &Analysis<'_>,
    mine: &[&Series],
    canary: &[String],
    end: Timestamp,
) -> Vec<super::MetricVerdict> {
    let is_canary = |s: &Series| s.instance.as_ref().is_some_and(|i| canary.contains(i));
    let at = a.deploy.at;
    let mut out = Vec::new();
    for s in mine.iter().filter(|s| is_canary(s)) {
        let controls: Vec<&&Series> = mine
            .iter()
            .filter(|c| c.name == s.name && c.instance.is_some() && !is_canary(c))
            .collect();
        let mut names: Vec<String> = controls.iter().filter_map(|c| c.instance.clone()).collect();
        names.sort();
        names.dedup();
        let reference = Reference {
            values: controls
                .iter()
                .flat_map(|c| c.values_in(at, end).map(|p| p.1))
                .collect(),
            used: BaselineUsed::Canary { control: names },
        };
        let pre_from = at.add_nanos(-a.config.baseline_window_nanos);
        let span = Span {
            watch_from: at,
            deploy_at: at,
            end,
            interval: interval(s, pre_from, at),
        };
        out.push(judge::judge(s, reference, span, a.config));
    }
    out
}

/// The final verdict for one deploy: [`Analysis::complete`].
///
/// # Errors
/// [`super::Error::InvalidConfig`].
pub fn analyze_deploy(
    deploy: &DeployRef,
    series: &[Series],
    config: &RegressionConfig,
) -> Result<DeployVerdict> {
    Ok(Analysis::new(deploy, series, config)?.complete())
}

/// Final verdicts for several deploys (in the order given), with each
/// change attributed (see [`attribute::attribute`]): a regression whose
/// change point is better explained by another deploy — a later deploy of
/// the same service nearer before it, or the deploy whose service moved
/// first — becomes [`Finding::AttributedElsewhere`] for this one.
///
/// A series judged for several deploys gets one change point per change:
/// the latest of its estimates within a window of each other. Each
/// deploy's judgement only moves an estimate that precedes its own deploy
/// without support to that deploy, so an earlier estimate from an earlier
/// deploy's window (a noise sample that started the CUSUM's run) is the
/// one to distrust; without this, the two windows could blame the same
/// change on different deploys.
///
/// # Errors
/// [`super::Error::InvalidConfig`].
pub fn analyze_deploys(
    deploys: &[DeployRef],
    series: &[Series],
    config: &RegressionConfig,
) -> Result<Vec<DeployVerdict>> {
    let mut verdicts: Vec<DeployVerdict> = deploys
        .iter()
        .map(|d| analyze_deploy(d, series, config))
        .collect::<Result<_>>()?;
    let label_service = |label: &str| {
        series
            .iter()
            .find(|s| s.label() == label)
            .and_then(|s| s.service.clone())
    };
    let mut changes: Vec<ChangeObservation> = verdicts
        .iter()
        .flat_map(|v| v.metrics.iter())
        .filter(|m| matches!(m.finding, Finding::Regression))
        .filter_map(|m| {
            m.detection.map(|d| ChangeObservation {
                series: m.series.clone(),
                service: label_service(&m.series),
                environment: None,
                change_at: d.change_at,
            })
        })
        .collect();
    let estimated: Vec<(String, Timestamp)> = changes
        .iter()
        .map(|c| (c.series.clone(), c.change_at))
        .collect();
    let same_change = |series: &str, at: Timestamp| {
        let near = |(s, t): &&(String, Timestamp)| {
            s == series && t.nanos_since(at).abs() <= config.post_window_nanos
        };
        estimated
            .iter()
            .filter(near)
            .map(|p| p.1)
            .max()
            .unwrap_or(at)
    };
    for c in &mut changes {
        c.change_at = same_change(&c.series, c.change_at);
    }
    changes.dedup();
    let acfg = AttributionConfig {
        max_lag_nanos: config.post_window_nanos.saturating_mul(2),
        ..AttributionConfig::default()
    };
    let attributions = attribute::attribute(deploys, &changes, &acfg);
    for v in &mut verdicts {
        let mut changed = false;
        for m in &mut v.metrics {
            let Some(d) = m.detection.filter(|_| m.finding == Finding::Regression) else {
                continue;
            };
            let at = same_change(&m.series, d.change_at);
            let other = attributions
                .iter()
                .find(|a| a.change.series == m.series && a.change.change_at == at);
            if let Some(
                Cause::CausedBy { deploy_id, .. } | Cause::FollowedFirstMover { deploy_id, .. },
            ) = other.map(|a| &a.cause)
                && *deploy_id != v.deploy.id
            {
                m.finding = Finding::AttributedElsewhere {
                    deploy_id: deploy_id.clone(),
                };
                m.verdict = m.finding.verdict();
                changed = true;
            }
        }
        if changed {
            let metrics = std::mem::take(&mut v.metrics);
            *v = DeployVerdict::from_metrics(
                v.deploy.clone(),
                metrics,
                v.partial,
                v.evaluated_until,
            );
        }
    }
    Ok(verdicts)
}
