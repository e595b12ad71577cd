use super::*;
use crate::{
    config::MetricConfig,
    fixture::{Fixture, config},
};

fn check_once(cfg: &Config, eval: &mut Evaluator) -> Vec<Breach> {
    let sampler = Sampler::new(cfg, None);
    let (sample, problems) = sampler.sample();
    assert!(problems.is_empty(), "{problems:?}");
    eval.evaluate(cfg, &sample, &Limits::read(cfg))
}

#[test]
fn rss_breaches_at_085_of_the_cgroup_limit() {
    let f = Fixture::new();
    let dir = f.path("wd");
    let cfg = config(&f, &dir);
    let mut eval = Evaluator::new(&cfg);
    f.set_memory_max(Some(100 * 1024 * 1024));
    f.set_status(80 * 1024, 2); // 80 MiB of 100
    assert!(check_once(&cfg, &mut eval).is_empty());
    f.set_status(90 * 1024, 2); // 90 MiB > 85 MiB
    let b = check_once(&cfg, &mut eval);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].metric, Metric::Rss);
    assert_eq!(b[0].reference, Some(100.0 * 1024.0 * 1024.0));
    assert!(
        b[0].sentence().contains("85% of the cgroup memory limit"),
        "{}",
        b[0].sentence()
    );
}

#[test]
fn without_a_cgroup_limit_only_absolute_rss_rules_apply() {
    let f = Fixture::new();
    let dir = f.path("wd");
    let mut cfg = config(&f, &dir);
    f.set_memory_max(None);
    f.set_status(10 * 1024 * 1024, 2); // 10 GiB, no limit
    let mut eval = Evaluator::new(&cfg);
    assert!(check_once(&cfg, &mut eval).is_empty());
    cfg.metrics[Metric::Rss as usize] = MetricConfig::capture([
        Rule::fraction_of_limit(0.85),
        Rule::above(4.0 * 1024.0 * 1024.0 * 1024.0),
    ]);
    let b = check_once(&cfg, &mut eval);
    assert_eq!(b.len(), 1);
    assert!(matches!(b[0].rule, Rule::Above { .. }));
}

#[test]
fn threads_breach_above_the_absolute_count() {
    let f = Fixture::new();
    let dir = f.path("wd");
    let mut cfg = config(&f, &dir);
    cfg.metrics[Metric::Threads as usize] = MetricConfig::capture([Rule::above(8.0)]);
    let mut eval = Evaluator::new(&cfg);
    f.set_status(1024, 8);
    assert!(check_once(&cfg, &mut eval).is_empty());
    f.set_status(1024, 9);
    let b = check_once(&cfg, &mut eval);
    assert_eq!(
        (b.len(), b[0].metric, b[0].value),
        (1, Metric::Threads, 9.0)
    );
}

#[test]
fn fds_breach_at_080_of_rlimit_nofile() {
    let f = Fixture::new();
    let dir = f.path("wd");
    let cfg = config(&f, &dir);
    let mut eval = Evaluator::new(&cfg);
    f.set_nofile(50);
    f.set_fds(40); // exactly 0.80: not above
    assert!(check_once(&cfg, &mut eval).is_empty());
    f.set_fds(41);
    let b = check_once(&cfg, &mut eval);
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].metric, b[0].threshold), (Metric::Fds, 40.0));
    assert!(
        b[0].sentence().contains("RLIMIT_NOFILE"),
        "{}",
        b[0].sentence()
    );
}

#[test]
fn a_jump_above_the_rolling_average_breaches_below_any_cap() {
    let f = Fixture::new();
    let dir = f.path("wd");
    let mut cfg = config(&f, &dir);
    cfg.metrics[Metric::Fds as usize] =
        MetricConfig::capture([Rule::fraction_of_limit(0.8), Rule::jump_above(50.0, 8)]);
    f.set_nofile(100_000);
    let mut eval = Evaluator::new(&cfg);
    // Three samples are not half of eight: no verdict yet, even on a jump.
    for n in [10, 10, 10] {
        f.set_fds(n);
        assert!(check_once(&cfg, &mut eval).is_empty());
    }
    f.set_fds(11);
    assert!(check_once(&cfg, &mut eval).is_empty());
    f.set_fds(16); // average 10.25: threshold 15.4
    let b = check_once(&cfg, &mut eval);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(matches!(b[0].rule, Rule::JumpAbove { .. }));
    assert!((b[0].reference.unwrap() - 10.25).abs() < 1e-9);
    assert!(
        b[0].sentence().contains("above its average"),
        "{}",
        b[0].sentence()
    );
}

#[test]
fn a_disabled_metric_never_breaches_and_a_missing_file_is_reported() {
    let f = Fixture::new();
    let dir = f.path("wd");
    let mut cfg = config(&f, &dir);
    cfg.metrics[Metric::Fds as usize] = MetricConfig::disabled();
    f.set_nofile(4);
    f.set_fds(10);
    let mut eval = Evaluator::new(&cfg);
    assert!(check_once(&cfg, &mut eval).is_empty());
    std::fs::remove_dir_all(f.path("proc/self/fd")).unwrap();
    let (sample, problems) = Sampler::new(&cfg, None).sample();
    assert_eq!(sample.fds, None);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, Metric::Fds);
}
