//! One series against its reference: the CUSUM scan for when, the tests
//! for whether, and the finding.

use rewind_model::Timestamp;

use super::baseline::RobustBaseline;
use super::cusum::Cusum;
use super::stats::{self, Alternative, RateTest};
use super::verdict::{BaselineUsed, Detection, Finding, InconclusiveReason, MetricVerdict, Period};
use super::{Direction, MetricKind, RegressionConfig, Series};

/// The reference samples and where they came from.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub(crate) values: Vec<f64>,
    pub(crate) used: BaselineUsed,
}

/// What to judge: the samples watched by the CUSUM (from `watch_from`), the
/// deploy time that splits before from after, and the end of the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub(crate) watch_from: Timestamp,
    pub(crate) deploy_at: Timestamp,
    /// Exclusive.
    pub(crate) end: Timestamp,
    /// The series' usual sampling interval, for the coverage check.
    pub(crate) interval: Option<i64>,
}

/// The fixed context of one judgement.
pub(crate) struct Ctx<'a> {
    cfg: &'a RegressionConfig,
    pub(crate) base: RobustBaseline,
    reference: &'a [f64],
    direction: Direction,
    sparse: bool,
    latency: bool,
}

/// The location (or count) comparison of a sample with the reference.
#[derive(Debug, Clone, Copy)]
struct Location {
    /// p-value in the bad direction (two-sided for `Either`).
    p_bad: f64,
    /// p-value in the good direction (1 for `Either`).
    p_good: f64,
    /// Relative change of the median (of the rate for counts).
    rel: Option<f64>,
    /// Whether the change is at least the minimum effect and in the bad direction.
    big_bad: bool,
    /// Whether it is at least the minimum effect and in the good direction.
    big_good: bool,
    median: f64,
    cliffs: Option<f64>,
    rate: Option<RateTest>,
}

/// Judges `series` against `reference` over `span`.
pub(crate) fn judge(
    series: &Series,
    reference: Reference,
    span: Span,
    cfg: &RegressionConfig,
) -> MetricVerdict {
    let direction = cfg.direction(&series.name, series.kind);
    let mut out = empty(series, direction, reference.used.clone());
    let n0 = reference.values.len();
    if n0 < cfg.min_baseline_samples {
        let reason = if n0 == 0 {
            InconclusiveReason::NoData {
                period: Period::Baseline,
            }
        } else {
            InconclusiveReason::TooFewSamples {
                period: Period::Baseline,
                have: n0,
                need: cfg.min_baseline_samples,
            }
        };
        return inconclusive(out, reason);
    }
    let Some(prepared) = Prepared::new(series, reference.values, cfg) else {
        return inconclusive(
            out,
            InconclusiveReason::NoData {
                period: Period::Baseline,
            },
        );
    };
    let ctx = prepared.ctx(cfg);
    out.baseline = Some(ctx.base);
    let watched: Vec<(Timestamp, f64)> = series.values_in(span.watch_from, span.end).collect();
    let post_start = watched.partition_point(|p| p.0 < span.deploy_at);
    let post = &watched[post_start..];
    if let Some(reason) = coverage(post.len(), span, cfg) {
        out.after_samples = post.len();
        return inconclusive(out, reason);
    }
    let detection = scan(&watched, &ctx).map(|d| refine(d, &watched, &ctx));
    let (detection, began_before) = place_change(detection, &watched, span.deploy_at, &ctx);
    out.detection = detection;
    let after: Vec<f64> = post.iter().map(|p| p.1).collect();
    // The whole window after the deploy is fixed in advance: the final
    // tests at α. A segment that starts at a change point the CUSUM picked
    // from these same samples is not: any of the watched samples could have
    // been its start, so its tests are at α over their number (Bonferroni);
    // otherwise a short run of noise at the window's end, picked because it
    // is high, passes a test at α far more often than α.
    let Some(d) = detection.filter(|d| post.first().is_some_and(|f| d.change_at != f.0)) else {
        return conclude(out, &ctx, &after, None, cfg.alpha);
    };
    let segment: Vec<f64> = watched
        .iter()
        .filter(|p| p.0 >= d.change_at)
        .map(|p| p.1)
        .collect();
    let lead = began_before.then(|| lead_seconds(d.change_at, span.deploy_at));
    let selected_alpha = cfg.alpha / stats::count(watched.len());
    let chosen = conclude(out.clone(), &ctx, &segment, lead, selected_alpha);
    if matches!(
        chosen.finding,
        Finding::Regression | Finding::BeganBeforeDeploy { .. }
    ) {
        return chosen;
    }
    let whole = conclude(out, &ctx, &after, None, cfg.alpha);
    if whole.finding == Finding::Regression {
        whole
    } else {
        chosen
    }
}

fn empty(series: &Series, direction: Direction, used: BaselineUsed) -> MetricVerdict {
    MetricVerdict {
        series: series.label(),
        name: series.name.clone(),
        kind: series.kind,
        direction,
        verdict: super::Verdict::Inconclusive,
        finding: Finding::NoChange,
        baseline_used: used,
        baseline: None,
        after_median: None,
        after_samples: 0,
        relative_change: None,
        change_in_spreads: None,
        cliffs_delta: None,
        spread_ratio: None,
        rate: None,
        p_value: None,
        confidence: None,
        min_detectable_effect: None,
        detection: None,
    }
}

fn inconclusive(mut out: MetricVerdict, reason: InconclusiveReason) -> MetricVerdict {
    out.finding = Finding::Inconclusive { reason };
    out.verdict = out.finding.verdict();
    out
}

fn lead_seconds(from: Timestamp, to: Timestamp) -> f64 {
    #[allow(clippy::cast_precision_loss)] // seconds for reports
    let s = to.nanos_since(from) as f64 / 1e9;
    s
}

/// Too few samples after the deploy, or a gap.
fn coverage(have: usize, span: Span, cfg: &RegressionConfig) -> Option<InconclusiveReason> {
    if have == 0 {
        return Some(InconclusiveReason::NoData {
            period: Period::After,
        });
    }
    if have < cfg.min_after_samples {
        return Some(InconclusiveReason::TooFewSamples {
            period: Period::After,
            have,
            need: cfg.min_after_samples,
        });
    }
    let interval = span.interval.filter(|&i| i > 0)?;
    let expected = usize::try_from(span.end.nanos_since(span.deploy_at) / interval).unwrap_or(0);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let needed = (cfg.min_coverage * expected as f64).floor() as usize;
    (have < needed).then_some(InconclusiveReason::DataMissing { have, expected })
}

/// Replays the CUSUM causally; the first alarm that the samples since its
/// change point confirm (see `confirms_early`) is the detection.
fn scan(watched: &[(Timestamp, f64)], ctx: &Ctx<'_>) -> Option<Detection> {
    let mut scanner = Scanner::new(ctx.cfg, ctx.direction);
    (1..=watched.len()).find_map(|i| scanner.step(ctx, &watched[..i]))
}

/// The causal detector, one sample at a time: a CUSUM and the alarm
/// waiting for confirmation.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    cusum: Cusum,
    pending: Option<super::cusum::Alarm>,
}

impl Scanner {
    pub(crate) fn new(cfg: &RegressionConfig, direction: Direction) -> Self {
        Self {
            cusum: Cusum::new(cfg.cusum_k, cfg.cusum_h, direction),
            pending: None,
        }
    }

    /// Takes the last of `watched` (the samples so far); the detection when
    /// an alarm is confirmed on this sample.
    pub(crate) fn step(
        &mut self,
        ctx: &Ctx<'_>,
        watched: &[(Timestamp, f64)],
    ) -> Option<Detection> {
        let &(t, x) = watched.last()?;
        if let Some(alarm) = self.cusum.push(t, ctx.base.z(x)) {
            self.pending = Some(alarm);
        }
        let alarm = self.pending?;
        if !self.cusum.in_alarm(alarm.shift) {
            self.pending = None;
            return None;
        }
        let start = watched.partition_point(|p| p.0 < alarm.change_at);
        let seg: Vec<f64> = watched[start..].iter().map(|p| p.1).collect();
        ctx.confirms_early(&seg).then_some(Detection {
            shift: alarm.shift,
            change_at: alarm.change_at,
            alarm_at: alarm.alarm_at,
            detected_at: t,
            samples_to_detect: seg.len(),
        })
    }
}

/// A learned reference, owned, for streaming.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    base: RobustBaseline,
    reference: Vec<f64>,
    direction: Direction,
    sparse: bool,
    latency: bool,
}

impl Prepared {
    /// `None` with fewer reference values than the configuration needs.
    pub(crate) fn new(
        series: &Series,
        reference: Vec<f64>,
        cfg: &RegressionConfig,
    ) -> Option<Self> {
        if reference.len() < cfg.min_baseline_samples {
            return None;
        }
        let base = RobustBaseline::learn(&reference, series.kind, cfg)?;
        Some(Self {
            base,
            direction: cfg.direction(&series.name, series.kind),
            sparse: series.kind == MetricKind::Count && base.mean <= cfg.sparse_count_max_mean,
            latency: series.kind == MetricKind::Latency,
            reference,
        })
    }

    pub(crate) fn ctx<'a>(&'a self, cfg: &'a RegressionConfig) -> Ctx<'a> {
        Ctx {
            cfg,
            base: self.base,
            reference: &self.reference,
            direction: self.direction,
            sparse: self.sparse,
            latency: self.latency,
        }
    }

    pub(crate) fn direction(&self) -> Direction {
        self.direction
    }
}

/// How many samples before the CUSUM's change point [`refine`] looks.
const REFINE_BACK: usize = 3;

/// Re-estimates the change point of a confirmed detection by maximum
/// likelihood over all the watched samples: a step from the reference level
/// (z = 0, known) to an unknown level in the detected direction, starting
/// at τ, is likeliest where `Σ_{i ≥ τ} z_i / √(n − τ)` peaks (z clipped as
/// the CUSUM clips it). The CUSUM's own estimate, the first sample after its
/// statistic was last zero, is early whenever a noise sample above k came
/// just before the step, and late by a sample when the step's first sample
/// was low; either misplaces a change near the deploy. The start is kept
/// no later than the detection and at most [`REFINE_BACK`] samples before
/// the CUSUM's estimate (a slow ramp is not a step, and its likeliest
/// "start" can sit far before the CUSUM saw anything).
fn refine(mut d: Detection, watched: &[(Timestamp, f64)], ctx: &Ctx<'_>) -> Detection {
    let sign = match d.shift {
        super::cusum::Shift::Up => 1.0,
        super::cusum::Shift::Down => -1.0,
    };
    let clip = ctx.cfg.cusum_h + ctx.cfg.cusum_k;
    let z: Vec<f64> = watched
        .iter()
        .map(|p| {
            let z = ctx.base.z(p.1);
            if z.is_finite() {
                sign * z.clamp(-clip, clip)
            } else {
                0.0
            }
        })
        .collect();
    let last = watched.partition_point(|p| p.0 <= d.detected_at);
    let first = watched
        .partition_point(|p| p.0 < d.change_at)
        .saturating_sub(REFINE_BACK);
    let mut best: Option<(f64, usize)> = None;
    let mut tail = 0.0;
    for i in (0..z.len()).rev() {
        tail += z[i];
        if i >= last || i < first {
            continue;
        }
        let score = tail / stats::count(z.len() - i).sqrt();
        if best.is_none_or(|b| score >= b.0) {
            best = Some((score, i));
        }
    }
    if let Some((score, i)) = best
        && score > 0.0
    {
        d.change_at = watched[i].0;
        d.alarm_at = d.alarm_at.max(d.change_at);
        d.samples_to_detect = watched
            .iter()
            .filter(|p| p.0 >= d.change_at && p.0 <= d.detected_at)
            .count();
    }
    d
}

/// A change point before the deploy stands only if the samples between it
/// and the deploy show the shift on their own (at least `min_after_samples`
/// of them, the minimum effect, significance √(α · alarm_alpha), about
/// 3·10⁻⁴ by default) and sit at least halfway to the level after the
/// deploy; a few noise samples that started the CUSUM's run early do not.
/// Otherwise the estimate is moved to the deploy. Whether there is a
/// regression at all is for the final tests on the whole segment; this
/// only places its start. The final α would be too strict here: 6 samples
/// against 180 cannot reach 10⁻⁵ even when all are above the reference, so
/// a change that began a minute before the deploy was blamed on it; the
/// alarm's 0.01 too loose: 4 high noise samples before a step pass it.
/// Returns the detection and whether the change began before the deploy.
fn place_change(
    detection: Option<Detection>,
    watched: &[(Timestamp, f64)],
    deploy_at: Timestamp,
    ctx: &Ctx<'_>,
) -> (Option<Detection>, bool) {
    let Some(mut d) = detection else {
        return (None, false);
    };
    if d.change_at >= deploy_at {
        return (Some(d), false);
    }
    let pre: Vec<f64> = watched
        .iter()
        .filter(|p| p.0 >= d.change_at && p.0 < deploy_at)
        .map(|p| p.1)
        .collect();
    let post: Vec<f64> = watched
        .iter()
        .filter(|p| p.0 >= deploy_at)
        .map(|p| p.1)
        .collect();
    let pre_alpha = (ctx.cfg.alpha * ctx.cfg.alarm_alpha).sqrt();
    if ctx.confirms_at(&pre, pre_alpha) && ctx.sits_at_level_of(&pre, &post, d.shift) {
        return (Some(d), true);
    }
    let Some(first) = watched.iter().find(|p| p.0 >= deploy_at) else {
        return (Some(d), false);
    };
    d.change_at = first.0;
    d.detected_at = d.detected_at.max(first.0);
    d.alarm_at = d.alarm_at.max(first.0);
    d.samples_to_detect = watched
        .iter()
        .filter(|p| p.0 >= d.change_at && p.0 <= d.detected_at)
        .count();
    (Some(d), false)
}

impl Ctx<'_> {
    /// An alarm is confirmed when enough samples follow its change point,
    /// their location moved by the minimum effect in the bad direction, and
    /// the test agrees at `alarm_alpha`.
    fn confirms_early(&self, seg: &[f64]) -> bool {
        self.confirms_at(seg, self.cfg.alarm_alpha)
    }

    /// The same at significance `alpha`.
    fn confirms_at(&self, seg: &[f64], alpha: f64) -> bool {
        seg.len() >= self.cfg.min_after_samples
            && self
                .location(seg)
                .is_some_and(|l| l.big_bad && l.p_bad <= alpha)
    }

    /// Whether the samples `pre` moved (from the reference, in `shift`'s
    /// direction) by at least half as much as the samples `post` did, in
    /// baseline spreads of the medians: a change that began before the
    /// deploy has most of its step before it; noise that merely started the
    /// run early, or a baseline a little off, sits nearer the reference.
    fn sits_at_level_of(&self, pre: &[f64], post: &[f64], shift: super::cusum::Shift) -> bool {
        let sign = match shift {
            super::cusum::Shift::Up => 1.0,
            super::cusum::Shift::Down => -1.0,
        };
        match (stats::median(pre), stats::median(post)) {
            (Some(a), Some(b)) => sign * self.base.z(a) >= 0.5 * sign * self.base.z(b),
            _ => false,
        }
    }

    /// The location test: Mann–Whitney, or the rate test for sparse counts.
    fn location(&self, seg: &[f64]) -> Option<Location> {
        let median = stats::median(seg)?;
        if self.sparse {
            return Some(self.counts(seg, median));
        }
        let test = stats::mann_whitney(self.reference, seg, Alternative::Greater)?;
        let b = self.base.median;
        let rel = (b != 0.0).then(|| (median - b) / b.abs());
        let size = |sign: f64| match rel {
            Some(r) => sign * r >= self.cfg.min_relative_effect,
            None => sign * (median - b) > 0.0,
        };
        Some(self.orient(
            test.p_greater,
            test.p_less,
            rel,
            size(1.0),
            size(-1.0),
            median,
            Some(test.cliffs_delta),
            None,
        ))
    }

    fn counts(&self, seg: &[f64], median: f64) -> Location {
        let total = |v: &[f64]| v.iter().map(|x| x.max(0.0)).sum::<f64>().round();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (c0, c1) = (total(self.reference) as u64, total(seg) as u64);
        let (e0, e1) = (stats::count(self.reference.len()), stats::count(seg.len()));
        let up = stats::rate_test(c0, e0, c1, e1, Alternative::Greater);
        let down = stats::rate_test(c0, e0, c1, e1, Alternative::Less);
        let rel = up.ratio.is_finite().then_some(up.ratio - 1.0);
        let big = |sign: f64| rel.map_or(sign > 0.0, |r| sign * r >= self.cfg.min_relative_effect);
        self.orient(
            up.p_value,
            down.p_value,
            rel,
            big(1.0),
            big(-1.0),
            median,
            None,
            Some(up),
        )
    }

    #[allow(clippy::too_many_arguments)] // one constructor for both test kinds
    fn orient(
        &self,
        p_up: f64,
        p_down: f64,
        rel: Option<f64>,
        big_up: bool,
        big_down: bool,
        median: f64,
        cliffs: Option<f64>,
        rate: Option<RateTest>,
    ) -> Location {
        let (p_bad, p_good, big_bad, big_good) = match self.direction {
            Direction::HigherIsWorse => (p_up, p_down, big_up, big_down),
            Direction::LowerIsWorse => (p_down, p_up, big_down, big_up),
            Direction::Either => {
                let up_side = p_up <= p_down;
                let big = if up_side { big_up } else { big_down };
                ((2.0 * p_up.min(p_down)).min(1.0), 1.0, big, false)
            }
        };
        Location {
            p_bad,
            p_good,
            rel,
            big_bad,
            big_good,
            median,
            cliffs,
            rate,
        }
    }
}

mod conclude;
use conclude::conclude;
