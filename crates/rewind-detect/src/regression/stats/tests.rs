//! Reference values: Python's `math.erfc`, `math.lgamma`,
//! `statistics.NormalDist().inv_cdf` and `math.comb`, and exact enumeration
//! of every split for the small Mann–Whitney samples.

use proptest::prelude::*;

use super::*;

fn close(actual: f64, expected: f64, rel: f64) {
    let err = (actual - expected).abs() / expected.abs().max(1e-300);
    assert!(err <= rel, "{actual} is not within {rel} of {expected}");
}

#[test]
fn median_and_mad_of_known_sets() {
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    // The classic example: {1, 1, 2, 2, 4, 6, 9} has median 2 and MAD 1.
    let v = [1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0];
    assert_eq!(median(&v), Some(2.0));
    assert_eq!(mad(&v, 2.0), 1.0);
    close(mean_abs_dev(&v, 2.0), 15.0 / 7.0, 1e-15);
}

#[test]
fn normal_tail_and_quantile_match_reference_values() {
    for (z, p) in [
        (0.0, 0.5),
        (1.0, 0.158_655_253_931_457_07),
        (1.96, 0.024_997_895_148_220_435),
        (3.0, 0.001_349_898_031_630_095_7),
        (5.0, 2.866_515_718_791_946e-7),
        (8.0, 6.220_960_574_271_819e-16),
    ] {
        close(normal_sf(z), p, 2e-7);
        assert!((1.0 - normal_sf(-z) - p).abs() < 1e-7);
    }
    for (p, q) in [
        (0.001, -3.090_232_306_167_813),
        (0.05, -1.644_853_626_951_472_6),
        (0.975, 1.959_963_984_540_053_6),
        (1.0 - 1e-5, 4.264_890_793_923_84),
    ] {
        close(normal_quantile(p), q, 1e-8);
    }
    assert_eq!(normal_quantile(0.5), 0.0);
}

#[test]
fn ln_gamma_matches_reference_values() {
    for (x, v) in [
        (0.5, 0.572_364_942_924_700_4),
        (5.0, 3.178_053_830_347_945),
        (10.5, 13.940_625_219_403_763),
        (100.0, 359.134_205_369_575_4),
    ] {
        close(ln_gamma(x), v, 1e-13);
    }
    assert!(ln_gamma(1.0).abs() < 1e-14);
}

#[test]
fn mann_whitney_small_textbook_sample_is_exact() {
    // before {19, 22, 16, 29, 24}, after {20, 11, 17, 12}: U = 3; by
    // enumeration of the 126 splits P(U ≤ 3) = 7/126.
    let before = [19.0, 22.0, 16.0, 29.0, 24.0];
    let after = [20.0, 11.0, 17.0, 12.0];
    let t = mann_whitney(&before, &after, Alternative::Less).unwrap();
    assert!(t.exact);
    assert_eq!(t.u_after, 3.0);
    close(t.p_value, 7.0 / 126.0, 1e-12);
    let two = mann_whitney(&before, &after, Alternative::TwoSided).unwrap();
    close(two.p_value, 14.0 / 126.0, 1e-12);
    close(t.cliffs_delta, 2.0 * 3.0 / 20.0 - 1.0, 1e-15);
    // Complete separation: 1 / C(6, 3) and 1 / C(9, 4).
    let t = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], Alternative::Greater).unwrap();
    close(t.p_value, 0.05, 1e-12);
    assert_eq!(t.cliffs_delta, 1.0);
    let t = mann_whitney(
        &[1.0, 2.0, 3.0, 4.0, 5.0],
        &[6.0, 7.0, 8.0, 9.0],
        Alternative::Greater,
    )
    .unwrap();
    close(t.p_value, 1.0 / 126.0, 1e-12);
}

#[test]
fn mann_whitney_normal_approximation_with_ties() {
    // Ties force the normal approximation with the tie-corrected variance:
    // U = 56.5, Σ(t³ − t) = 72, p = 0.0052576 (continuity-corrected).
    let before = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0];
    let after = [3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 6.0, 7.0];
    let t = mann_whitney(&before, &after, Alternative::Greater).unwrap();
    assert!(!t.exact);
    assert_eq!(t.u_after, 56.5);
    close(t.p_value, 0.005_257_622_967_929_459, 1e-6);
    // 1..=10 against 11..=20: exactly 1/184756; the normal approximation
    // (used for larger samples) gives 9.1336e-5.
    let a: Vec<f64> = (1..=10).map(f64::from).collect();
    let b: Vec<f64> = (11..=20).map(f64::from).collect();
    let exact = mann_whitney(&a, &b, Alternative::Greater).unwrap();
    close(exact.p_value, 1.0 / 184_756.0, 1e-9);
    close(
        normal_p(100.0, 50.0, 175.0).0,
        9.133_589_555_477_52e-5,
        1e-6,
    );
    // All values tied: no evidence.
    let t = mann_whitney(&[1.0; 10], &[1.0; 10], Alternative::Greater).unwrap();
    assert_eq!(t.p_value, 1.0);
    assert_eq!(mann_whitney(&[], &[1.0], Alternative::Greater), None);
}

#[test]
fn exact_distribution_counts_every_split() {
    // Σ counts = C(m + n, m), symmetric about m·n / 2.
    let d = u_distribution(4, 6);
    close(d.iter().sum(), 210.0, 0.0);
    for k in 0..d.len() {
        assert_eq!(d[k], d[d.len() - 1 - k]);
    }
}

#[test]
fn rate_test_matches_binomial_tails() {
    // 8 of 10 events in one of two equal exposures: P(X ≥ 8) = 56/1024.
    let t = rate_test(2, 1.0, 8, 1.0, Alternative::Greater);
    close(t.p_value, 0.054_687_5, 1e-12);
    close(t.ratio, 4.0, 1e-15);
    // 2/min for 30 min (60) then 6/min for 5 min (30): 4.2e-6.
    let t = rate_test(60, 30.0, 30, 5.0, Alternative::Greater);
    close(t.p_value, 4.199_756_346_012_66e-6, 1e-9);
    // 2/min then 3/min: 0.1088.
    let t = rate_test(60, 30.0, 15, 5.0, Alternative::Greater);
    close(t.p_value, 0.108_837_361_755_363_32, 1e-9);
    // The lower tail: P(X ≤ 2 | 40, 1/4) = 0.0010157.
    let t = rate_test(38, 3.0, 2, 1.0, Alternative::Less);
    close(t.p_value, 0.001_015_715_101_325_476_2, 1e-9);
    let none = rate_test(0, 1.0, 0, 1.0, Alternative::Greater);
    assert_eq!((none.p_value, none.ratio), (1.0, 1.0));
}

proptest! {
    #[test]
    fn u_statistics_of_the_two_samples_add_up(
        a in prop::collection::vec(-100i32..100, 1..30),
        b in prop::collection::vec(-100i32..100, 1..30),
    ) {
        let a: Vec<f64> = a.into_iter().map(f64::from).collect();
        let b: Vec<f64> = b.into_iter().map(f64::from).collect();
        let ab = mann_whitney(&a, &b, Alternative::Greater).unwrap();
        let ba = mann_whitney(&b, &a, Alternative::Less).unwrap();
        let cells = count(a.len() * b.len());
        prop_assert!((ab.u_after + ba.u_after - cells).abs() < 1e-9);
        prop_assert!((ab.cliffs_delta + ba.cliffs_delta).abs() < 1e-9);
        // Swapping the samples and the alternative gives the same p-value.
        prop_assert!((ab.p_value - ba.p_value).abs() < 1e-9);
        prop_assert!((0.0..=1.0).contains(&ab.p_value));
    }
}
