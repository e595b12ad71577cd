//! The count test: did a signature's rate go up, given how long each window
//! was?
//!
//! Counts in two windows are two Poisson draws. Under "the rate did not
//! change", the number after, given the total, is binomial with
//! `p = exposure after / (exposure before + exposure after)`, so the
//! one-sided p-value of `after` lines is `P(X ≥ after)` for
//! `X ~ Binomial(before + after, p)` (the conditional test for two Poisson
//! rates). It is exact for small counts, where a ratio of rates lies: one
//! line then two is a doubling, and means nothing.

/// `ln P(X ≥ k)` for `X ~ Binomial(n, p)`.
///
/// Sums the terms from the side where they shrink, stopping when they no
/// longer change the sum, so it costs about the distance to the mode at
/// most, and never overflows.
#[allow(clippy::cast_precision_loss)] // counts are far below 2^52
pub(super) fn ln_upper_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 || p >= 1.0 {
        return 0.0;
    }
    if k > n || p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let odds = p / (1.0 - p);
    if k as f64 >= (n + 1) as f64 * p {
        // At or past the mode: terms fall from k upwards.
        let ln_first = ln_term(k, n, p);
        let mut term = 1.0;
        let mut sum = 1.0;
        for j in k..n {
            term *= (n - j) as f64 / (j + 1) as f64 * odds;
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
        ln_first + sum.ln()
    } else {
        // Before the mode: P(X ≥ k) = 1 − P(X ≤ k − 1), and those terms
        // fall from k − 1 downwards. The result is at least about a half.
        let ln_first = ln_term(k - 1, n, p);
        let mut term = 1.0;
        let mut sum = 1.0;
        for j in (1..k).rev() {
            term *= j as f64 / (n - j + 1) as f64 / odds;
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
        (1.0 - (ln_first + sum.ln()).exp())
            .max(f64::MIN_POSITIVE)
            .ln()
    }
}

/// `ln` of the binomial probability of exactly `k` in `n`.
#[allow(clippy::cast_precision_loss)]
fn ln_term(k: u64, n: u64, p: f64) -> f64 {
    let m = k.min(n - k);
    let ln_choose: f64 = (1..=m).map(|i| ((n - m + i) as f64 / i as f64).ln()).sum();
    ln_choose + k as f64 * p.ln() + (n - k) as f64 * (-p).ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(k: u64, n: u64, p: f64) -> f64 {
        ln_upper_tail(k, n, p).exp()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-300)
    }

    #[test]
    fn small_cases_match_the_sums_by_hand() {
        // n = 3, p = 1/2: P(X ≥ 2) = (3 + 1) / 8.
        assert!(close(tail(2, 3, 0.5), 0.5));
        assert!(close(tail(3, 3, 0.5), 0.125));
        assert!(close(tail(1, 3, 0.5), 0.875));
        assert!(close(tail(0, 3, 0.5), 1.0));
        assert_eq!(tail(4, 3, 0.5), 0.0);
        // n = 10, p = 0.2: P(X ≥ 5) = 0.0327934976.
        assert!(close(tail(5, 10, 0.2), 0.032_793_497_6));
    }

    #[test]
    fn both_branches_agree_with_a_direct_sum() {
        for (n, p) in [(40, 0.3), (200, 0.05), (57, 0.9)] {
            for k in 0..=n {
                let direct: f64 = (k..=n).map(|j| ln_term(j, n, p).exp()).sum();
                let got = tail(k, n, p);
                assert!(
                    (got - direct).abs() < 1e-12,
                    "n={n} p={p} k={k}: {got} vs {direct}"
                );
            }
        }
    }

    #[test]
    fn huge_counts_stay_finite() {
        let ln = ln_upper_tail(1_000_000, 1_000_100, 0.5);
        assert!(ln.is_finite() && ln < -600_000.0);
        assert!(ln_upper_tail(10, 1_000_000, 0.5).abs() < 1e-12);
    }
}
