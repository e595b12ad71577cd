//! The final tests on the samples after the deploy (or the change point),
//! the finding, the minimum detectable effect and the confidence.

use super::super::stats::{self, Alternative, SIGMA_PER_MEAN_AD};
use super::super::verdict::{Finding, InconclusiveReason, MetricVerdict};
use super::{Ctx, Direction, Location};

/// The spread comparison (latencies): a rank Brown–Forsythe test.
#[derive(Debug, Clone, Copy)]
struct Spread {
    p: f64,
    ratio: f64,
}

/// The tests on `seg` at significance `alpha` (the configured α, or less
/// when the segment was chosen by the change point from the same data).
pub(super) fn conclude(
    mut out: MetricVerdict,
    ctx: &Ctx<'_>,
    seg: &[f64],
    began_before: Option<f64>,
    alpha: f64,
) -> MetricVerdict {
    out.after_samples = seg.len();
    let Some(loc) = ctx.location(seg) else {
        return super::inconclusive(
            out,
            InconclusiveReason::NoData {
                period: super::Period::After,
            },
        );
    };
    let cfg = ctx.cfg;
    out.after_median = Some(loc.median);
    out.relative_change = loc.rel;
    out.change_in_spreads = Some(ctx.base.z(loc.median));
    out.cliffs_delta = loc.cliffs;
    out.rate = loc.rate;
    let spread = (ctx.latency && !ctx.sparse)
        .then(|| spread_test(ctx, seg))
        .flatten();
    out.spread_ratio = spread.map(|s| s.ratio);
    let (mde, power) = ctx.min_detectable(seg.len(), alpha);
    out.min_detectable_effect = mde.is_finite().then(|| mde.max(cfg.min_relative_effect));
    let loc_bad = loc.p_bad <= alpha && loc.big_bad;
    let spread_bad = spread.is_some_and(|s| s.p <= alpha && s.ratio >= cfg.min_spread_ratio);
    out.finding = if loc_bad || spread_bad {
        let p = [
            loc_bad.then_some(loc.p_bad),
            spread.filter(|_| spread_bad).map(|s| s.p),
        ]
        .into_iter()
        .flatten()
        .fold(1.0, f64::min);
        out.p_value = Some(p);
        out.confidence = Some(1.0 - p);
        match began_before {
            Some(lead_seconds) => Finding::BeganBeforeDeploy { lead_seconds },
            None => Finding::Regression,
        }
    } else {
        out.p_value = Some(loc.p_bad);
        out.confidence = Some(power);
        not_regressed(&loc, mde, alpha, seg.len())
    };
    out.verdict = out.finding.verdict();
    out
}

/// The finding when no test flagged a regression.
fn not_regressed(loc: &Location, mde: f64, alpha: f64, n_after: usize) -> Finding {
    if loc.p_bad <= alpha {
        return Finding::BelowMinimumEffect;
    }
    if loc.p_good <= alpha && loc.big_good {
        return Finding::Improvement;
    }
    // Sparse counts that look at least doubled but cannot be told apart
    // from noise: too little traffic, rather than "no change".
    if let Some(rate) = loc.rate
        && mde >= 1.0
        && rate.ratio >= 2.0
        && rate.after > 0
    {
        return Finding::Inconclusive {
            reason: InconclusiveReason::TooLittleTraffic {
                events: rate.before + rate.after,
            },
        };
    }
    // A change big enough to matter, suggested but not confirmed: the
    // window is too short (or too noisy) to say either way.
    if loc.big_bad && loc.p_bad <= UNCONFIRMED_P {
        return Finding::Inconclusive {
            reason: InconclusiveReason::Unconfirmed { have: n_after },
        };
    }
    Finding::NoChange
}

/// Evidence for a change (p at most this) that a regression's α does not
/// reach makes the verdict inconclusive rather than "no regression".
const UNCONFIRMED_P: f64 = 0.01;

/// Mann–Whitney on the absolute deviations of each sample from its own
/// median (a rank form of the Brown–Forsythe test, no F distribution
/// needed), and the ratio of their means after / before, the reference's
/// mean floored at the spread floor.
fn spread_test(ctx: &Ctx<'_>, seg: &[f64]) -> Option<Spread> {
    let m0 = stats::median(ctx.reference)?;
    let m1 = stats::median(seg)?;
    let d0: Vec<f64> = ctx.reference.iter().map(|x| (x - m0).abs()).collect();
    let d1: Vec<f64> = seg.iter().map(|x| (x - m1).abs()).collect();
    let test = stats::mann_whitney(&d0, &d1, Alternative::Greater)?;
    let cfg = ctx.cfg;
    let floor =
        (cfg.spread_floor_relative * m0.abs()).max(cfg.spread_floor_absolute) / SIGMA_PER_MEAN_AD;
    let ratio = stats::mean(&d1) / stats::mean(&d0).max(floor);
    Some(Spread {
        p: test.p_value,
        ratio,
    })
}

impl Ctx<'_> {
    /// The smallest relative change detectable with `n1` samples after, at
    /// `alpha` with the configured power, and the power to see the minimum
    /// effect.
    ///
    /// Values: a shift δ in the mean is seen by Mann–Whitney when
    /// δ / (σ √(π/3) √(1/n₀ + 1/n₁)) ≥ z₁₋α + z_power (its efficiency
    /// relative to the t test is 3/π for normal data). Counts: the count c
    /// after with 2(√c − √μ₁) / √(1 + μ₁/c₀) ≥ z₁₋α + z_power, μ₁ the events
    /// expected after at the baseline rate and c₀ the baseline's events
    /// (Anscombe's square-root transform of Poisson counts).
    fn min_detectable(&self, n1: usize, alpha: f64) -> (f64, f64) {
        let cfg = self.cfg;
        let one_sided = if self.direction == Direction::Either {
            alpha / 2.0
        } else {
            alpha
        };
        let z_alpha = -stats::normal_quantile(one_sided);
        let z_power = stats::normal_quantile(cfg.power);
        let n0 = stats::count(self.reference.len());
        let n1f = stats::count(n1.max(1));
        if self.sparse {
            // Poisson counts on the square-root scale: 2(√c − √μ) is about
            // N(0, 1), widened by √(1 + μ₁/c₀) for the baseline's own noise.
            let c0 = self.reference.iter().sum::<f64>().max(1.0);
            let mu1 = (c0 / n0 * n1f).max(1e-9);
            let widen = (1.0 + mu1 / c0).sqrt();
            let seen = (mu1.sqrt() + (z_alpha + z_power) * widen / 2.0).powi(2);
            let shifted = mu1 * (1.0 + cfg.min_relative_effect);
            let power = stats::normal_sf(z_alpha - 2.0 * (shifted.sqrt() - mu1.sqrt()) / widen);
            return (seen / mu1 - 1.0, power);
        }
        let se =
            self.base.spread * (std::f64::consts::PI / 3.0).sqrt() * (1.0 / n0 + 1.0 / n1f).sqrt();
        let level = self.base.median.abs();
        if level == 0.0 || se == 0.0 {
            return (f64::INFINITY, 0.0);
        }
        let mde = (z_alpha + z_power) * se / level;
        let power = stats::normal_sf(z_alpha - cfg.min_relative_effect * level / se);
        (mde, power)
    }
}
