//! The statistics the regression verdicts rest on, written by hand.
//!
//! Why not `statrs`: what is needed is small — the normal distribution's
//! tail and quantile, `ln Γ` for binomial tails, the Mann–Whitney U test with
//! its exact small-sample distribution — and each piece is a few lines with
//! a published accuracy, tested below against values computed independently
//! (Python's `math.erfc`/`math.lgamma`, exact enumeration, textbook tables).
//! That keeps `rewind-detect` free of a dependency for a dozen functions.
//!
//! - [`normal_sf`]: the upper tail 1 − Φ(z), from `erfc` by the Chebyshev
//!   fit of Numerical Recipes (`erfcc`, fractional error < 1.2·10⁻⁷
//!   everywhere, so tails stay accurate far out).
//! - [`normal_quantile`]: Acklam's rational approximation (relative error
//!   < 1.15·10⁻⁹).
//! - [`ln_gamma`]: Lanczos (g = 7, 9 terms; ~15 digits).
//! - [`mann_whitney`]: U with mid-ranks for ties; the exact null
//!   distribution (generating function ∏ (1 − q^(n+i)) / (1 − q^i)) when
//!   there are no ties, the smaller sample has at most 12 values and
//!   m·n ≤ 50 000 (cost m·n·min(m, n)), otherwise the normal approximation
//!   with the tie correction of the variance and a continuity correction.
//! - [`rate_test`]: two Poisson counts with their exposures compared by the
//!   conditional binomial test (given the total, the second count is
//!   binomial with p = e₁ / (e₀ + e₁)), exact.

use serde::{Deserialize, Serialize};

/// The median absolute deviation times this estimates the standard
/// deviation of normally distributed values (1 / Φ⁻¹(3/4)).
pub const SIGMA_PER_MAD: f64 = 1.482_602_218_505_602;
/// The mean absolute deviation times this estimates the standard deviation
/// of normally distributed values (√(π/2)).
pub const SIGMA_PER_MEAN_AD: f64 = 1.253_314_137_315_500_3;
/// The largest m·n for which U's exact distribution is computed.
const EXACT_MAX_CELLS: usize = 50_000;
/// The largest smaller sample for which it is (the normal approximation
/// is good beyond).
const EXACT_MAX_MIN: usize = 12;

/// The median of `values` (`None` when empty). NaNs must be removed first.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        f64::midpoint(v[mid - 1], v[mid])
    })
}

/// The median absolute deviation from `center` (unscaled; 0 when empty).
#[must_use]
pub fn mad(values: &[f64], center: f64) -> f64 {
    let dev: Vec<f64> = values.iter().map(|x| (x - center).abs()).collect();
    median(&dev).unwrap_or(0.0)
}

/// The mean absolute deviation from `center` (0 when empty).
#[must_use]
pub fn mean_abs_dev(values: &[f64], center: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|x| (x - center).abs()).sum::<f64>() / count(values.len())
}

/// The arithmetic mean (0 when empty).
#[must_use]
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / count(values.len())
}

/// A length as a float (exact below 2⁵³).
#[allow(clippy::cast_precision_loss)] // sample counts are far below 2^53
pub(crate) fn count(n: usize) -> f64 {
    n as f64
}

/// The upper tail of the standard normal distribution, P(Z > z).
#[must_use]
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (Acklam); ±∞ outside.
#[must_use]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail(p)
    } else if p > 1.0 - LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7).
#[must_use]
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + count(i));
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Which way the second sample is expected to differ from the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    /// The second sample tends to be larger.
    Greater,
    /// The second sample tends to be smaller.
    Less,
    /// Either.
    TwoSided,
}

/// The result of a Mann–Whitney U test of `before` against `after`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// U of the second sample: the number of (before, after) pairs with
    /// after > before, ties counting one half.
    pub u_after: f64,
    /// The p-value for the alternative asked.
    pub p_value: f64,
    /// The one-sided p-value for "after is larger".
    pub p_greater: f64,
    /// The one-sided p-value for "after is smaller".
    pub p_less: f64,
    /// Cliff's δ = P(after > before) − P(after < before), in [−1, 1] (equal
    /// to the rank-biserial correlation).
    pub cliffs_delta: f64,
    /// Whether the exact distribution was used (else the normal approximation).
    pub exact: bool,
}

/// The Mann–Whitney U test (Wilcoxon rank-sum) of `before` against `after`.
///
/// `None` when either sample is empty. NaNs must be removed first.
#[must_use]
pub fn mann_whitney(before: &[f64], after: &[f64], alt: Alternative) -> Option<MannWhitney> {
    let (n0, n1) = (before.len(), after.len());
    if n0 == 0 || n1 == 0 {
        return None;
    }
    let mut pooled: Vec<(f64, bool)> = before
        .iter()
        .map(|&x| (x, false))
        .chain(after.iter().map(|&x| (x, true)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum_after, mut tie_term, mut ties) = (0.0, 0.0, false);
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let mid_rank = count(i + j + 1) / 2.0; // ranks i+1..=j
        let in_after = pooled[i..j].iter().filter(|p| p.1).count();
        rank_sum_after += mid_rank * count(in_after);
        let t = count(j - i);
        tie_term += t * t * t - t;
        ties |= j - i > 1;
        i = j;
    }
    let (m, n) = (count(n1), count(n0));
    let u_after = rank_sum_after - m * (m + 1.0) / 2.0;
    let cells = m * n;
    let cliffs_delta = 2.0 * u_after / cells - 1.0;
    let exact = !ties && n0.min(n1) <= EXACT_MAX_MIN && n0.saturating_mul(n1) <= EXACT_MAX_CELLS;
    let (upper, lower) = if exact {
        exact_p(n1, n0, u_after)
    } else {
        let total = m + n;
        let var = cells / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
        normal_p(u_after, cells / 2.0, var)
    };
    let (p_greater, p_less) = (upper.clamp(0.0, 1.0), lower.clamp(0.0, 1.0));
    let p_value = match alt {
        Alternative::Greater => p_greater,
        Alternative::Less => p_less,
        Alternative::TwoSided => (2.0 * p_greater.min(p_less)).min(1.0),
    };
    Some(MannWhitney {
        u_after,
        p_value,
        p_greater,
        p_less,
        cliffs_delta,
        exact,
    })
}

/// P(U ≥ u) and P(U ≤ u) under the normal approximation with continuity
/// correction.
fn normal_p(u: f64, mean: f64, var: f64) -> (f64, f64) {
    if var <= 0.0 {
        return (1.0, 1.0); // every value tied: no evidence either way
    }
    let sd = var.sqrt();
    (
        normal_sf((u - mean - 0.5) / sd),
        normal_sf((mean - u - 0.5) / sd),
    )
}

/// P(U ≥ u) and P(U ≤ u), exactly (no ties), for samples of sizes `m`
/// (after) and `n`.
fn exact_p(m: usize, n: usize, u: f64) -> (f64, f64) {
    let freq = u_distribution(m, n);
    let total: f64 = freq.iter().sum();
    // Without ties U is an integer; round away float noise.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k = u.round().max(0.0) as usize;
    let upper = freq.iter().skip(k).sum::<f64>() / total;
    let lower = freq.iter().take(k + 1).sum::<f64>() / total;
    (upper, lower)
}

/// How many arrangements give each U = 0..=m·n: the coefficients of
/// ∏ᵢ₌₁..ₘ (1 − q^(n+i)) / (1 − q^i) (the Gaussian binomial coefficient).
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    let size = m * n + 1;
    let mut c = vec![0.0; size];
    c[0] = 1.0;
    for i in 1..=m {
        let up = n + i;
        for k in (up..size).rev() {
            c[k] -= c[k - up];
        }
        for k in i..size {
            c[k] += c[k - i];
        }
    }
    c
}

/// The result of comparing two Poisson counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateTest {
    /// Events before and after.
    pub before: u64,
    /// Events after.
    pub after: u64,
    /// Events per unit of exposure before.
    pub before_rate: f64,
    /// Events per unit of exposure after.
    pub after_rate: f64,
    /// The rate after over the rate before (∞ when there were none before).
    pub ratio: f64,
    /// The p-value for the alternative asked (exact conditional binomial).
    pub p_value: f64,
}

/// Compares counts `c0` over exposure `e0` and `c1` over `e1` (exposures in
/// any common unit, > 0): given c0 + c1, c1 ~ Binomial(c0 + c1, e1 / (e0 + e1))
/// when the rates are equal.
#[must_use]
pub fn rate_test(c0: u64, e0: f64, c1: u64, e1: f64, alt: Alternative) -> RateTest {
    let ratio = if c0 == 0 {
        if c1 == 0 { 1.0 } else { f64::INFINITY }
    } else {
        (count_u(c1) / e1) / (count_u(c0) / e0)
    };
    let n = c0 + c1;
    let p = e1 / (e0 + e1);
    let upper = binomial_sf(c1, n, p); // P(X ≥ c1)
    let lower = 1.0 - binomial_sf(c1 + 1, n, p); // P(X ≤ c1)
    let p_value = match alt {
        Alternative::Greater => upper,
        Alternative::Less => lower,
        Alternative::TwoSided => (2.0 * upper.min(lower)).min(1.0),
    };
    RateTest {
        before: c0,
        after: c1,
        before_rate: count_u(c0) / e0,
        after_rate: count_u(c1) / e1,
        ratio,
        p_value: p_value.clamp(0.0, 1.0),
    }
}

#[allow(clippy::cast_precision_loss)] // event counts are far below 2^53
fn count_u(n: u64) -> f64 {
    n as f64
}

/// P(X ≥ k) for X ~ Binomial(n, p), summed in log space from k upwards.
fn binomial_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let nf = count_u(n);
    let ln_choose = |j: f64| ln_gamma(nf + 1.0) - ln_gamma(j + 1.0) - ln_gamma(nf - j + 1.0);
    let log_pmf = |j: u64| {
        let j = count_u(j);
        ln_choose(j) + j * p.ln() + (nf - j) * (1.0 - p).ln()
    };
    // Sum the smaller side for accuracy.
    let mean = nf * p;
    if count_u(k) > mean {
        let mut sum = 0.0;
        for j in k..=n {
            let term = log_pmf(j).exp();
            sum += term;
            if term < sum * 1e-17 && count_u(j) > mean {
                break;
            }
        }
        sum.min(1.0)
    } else {
        let mut below = 0.0;
        for j in (0..k).rev() {
            let term = log_pmf(j).exp();
            below += term;
            if term < below * 1e-17 && count_u(j) < mean {
                break;
            }
        }
        (1.0 - below).max(0.0)
    }
}

#[cfg(test)]
mod tests;
