use proptest::prelude::{prop_assert, prop_assert_eq, proptest};

use super::*;
use crate::regression::testing::{Rng, at};

#[test]
fn finds_a_three_spread_step_within_two_samples_median() {
    // 1 001 trials: 50 noise samples, then a step of 3 spreads; latency is
    // the alarm's index counted from the first shifted sample (0 = on it).
    // (Measured over 5·10⁶ noise samples: 5 alarms at h = 4, 2 at 4.5, 0 at 5.)
    let (mut latencies, mut noise_alarms) = (Vec::new(), 0);
    let mut rng = Rng::new(7);
    for _ in 0..1_001 {
        let mut c = Cusum::new(1.5, 4.0, Direction::HigherIsWorse);
        noise_alarms += (0..50)
            .filter(|&i| c.push(at(i), rng.normal()).is_some())
            .count();
        let found = (0..40).find(|&i| c.push(at(50 + i), 3.0 + rng.normal()).is_some());
        latencies.push(found.unwrap_or(99));
    }
    latencies.sort_unstable();
    let median = latencies[latencies.len() / 2];
    assert!(median <= 2, "median latency {median}");
    assert!(
        latencies[latencies.len() - 1] < 10,
        "every step found: {latencies:?}"
    );
    assert!(
        noise_alarms <= 1,
        "{noise_alarms} alarms on 50 050 noise samples"
    );
}

#[test]
fn stays_quiet_on_ten_thousand_noise_samples() {
    let mut rng = Rng::new(42);
    let mut c = Cusum::new(1.5, 4.0, Direction::Either);
    let alarms = (0..10_000)
        .filter(|&i| c.push(at(i), rng.normal()).is_some())
        .count();
    assert_eq!(alarms, 0);
}

#[test]
fn reports_the_change_point_and_clears() {
    let mut c = Cusum::new(0.5, 5.0, Direction::Either);
    let mut zs = vec![0.0; 10];
    zs.extend([2.0; 6]);
    let alarms: Vec<Alarm> = zs
        .iter()
        .enumerate()
        .filter_map(|(i, &z)| c.push(at(i as i64), z))
        .collect();
    // 1.5 per sample: past 5 on the 4th shifted sample (index 13); began at 10.
    assert_eq!(alarms.len(), 1, "one alarm per episode");
    assert_eq!(
        (alarms[0].change_at, alarms[0].alarm_at, alarms[0].samples),
        (at(10), at(13), 4)
    );
    assert_eq!(alarms[0].shift, Shift::Up);
    assert!(c.in_alarm(Shift::Up));
    for i in 16..40 {
        c.push(at(i), -1.0);
    }
    assert!(!c.in_alarm(Shift::Up), "back to zero clears the alarm");
    // One wild sample alone never alarms.
    assert_eq!(c.push(at(40), 1e9), None);
    // The direction filters: a fall is no alarm when only rises count.
    let mut up_only = Cusum::new(0.5, 5.0, Direction::HigherIsWorse);
    assert!((0..20).all(|i| up_only.push(at(i), -3.0).is_none()));
    assert_eq!(up_only.pending_start(Shift::Down), Some(at(0)));
}

proptest! {
    #[test]
    fn never_alarms_on_constant_input(k in 0.0f64..3.0, h in 0.1f64..20.0, n in 1usize..500) {
        let mut c = Cusum::new(k, h, Direction::Either);
        for i in 0..n {
            prop_assert!(c.push(at(i as i64), 0.0).is_none());
        }
        prop_assert_eq!(c.statistics(), (0.0, 0.0));
    }
}
