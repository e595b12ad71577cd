//! The product brief's example triggers load unchanged and behave as it says.

use rewind_detect::{Engine, RuleKind, RuleSet, SignalKind};
use rewind_model::{Comparison, Event, EventKind, Level, Sample, SeriesName, Timestamp};

const ROBOT: &str = include_str!("../../../../examples/rules/robot.yaml");

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000)
}

#[test]
fn the_briefs_three_triggers_load_unchanged() {
    let set = RuleSet::parse(ROBOT, "robot.yaml").unwrap();
    let names: Vec<_> = set.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Camera topic starvation",
            "Jetson thermal throttling",
            "Node crashed",
            "Deployment regression"
        ]
    );
    let RuleKind::Threshold(camera) = &set.rules()[0].kind else {
        panic!("{:?}", set.rules()[0].kind)
    };
    assert_eq!(camera.metric.as_str(), "topic./camera/rgb.rate_hz");
    assert_eq!(camera.condition, Comparison::Below(20.0));
    assert_eq!(set.rules()[0].duration_nanos, 2_000_000_000);
    let RuleKind::Threshold(thermal) = &set.rules()[1].kind else {
        panic!("{:?}", set.rules()[1].kind)
    };
    assert_eq!(thermal.condition, Comparison::Is("throttling".into()));
    assert_eq!(set.rules()[2].kind.type_name(), "node_status");
}

#[test]
fn a_starved_camera_topic_fires_after_two_seconds_below_twenty_hz() {
    let mut engine = Engine::new(&RuleSet::parse(ROBOT, "robot.yaml").unwrap());
    let rate = SeriesName::new("topic./camera/rgb.rate_hz").unwrap();
    let mut fired = Vec::new();
    for (secs, hz) in [
        (0, 30.0),
        (1, 29.5),
        (2, 12.0),
        (3, 8.0),
        (4, 6.0),
        (5, 30.0),
    ] {
        for s in engine.observe(&rate, Sample::new(at(secs), hz)) {
            fired.push((secs, s.kind));
        }
    }
    assert_eq!(
        fired,
        [
            (2, SignalKind::Pending),
            (4, SignalKind::Firing),
            (5, SignalKind::Resolved)
        ]
    );
}

#[test]
fn thermal_throttling_is_a_text_state() {
    let mut engine = Engine::new(&RuleSet::parse(ROBOT, "robot.yaml").unwrap());
    let state = SeriesName::new("gpu.thermal_state").unwrap();
    assert!(engine.observe_text(&state, at(0), "normal").is_empty());
    let signals = engine.observe_text(&state, at(1), "throttling");
    assert_eq!(signals.len(), 1);
    let trigger = signals[0].trigger.as_ref().unwrap();
    assert_eq!(
        trigger.summary,
        "gpu.thermal_state was `throttling` (now `throttling`)"
    );
    assert_eq!(trigger.evidence[0].text.as_deref(), Some("throttling"));
    // A numeric sample of a text-state series says nothing about it.
    assert!(engine.observe(&state, Sample::new(at(2), 1.0)).is_empty());
    let signals = engine.observe_text(&state, at(3), "normal");
    assert_eq!(signals[0].kind, SignalKind::Resolved);
}

#[test]
fn a_node_lost_soon_after_a_deploy_is_a_regression() {
    let mut engine = Engine::new(&RuleSet::parse(ROBOT, "robot.yaml").unwrap());
    let deploy = Event::new(
        at(0),
        "deploy",
        EventKind::Deploy,
        Level::Info,
        "perception 2.4.1",
    )
    .with("service", "perception")
    .with("version", "2.4.1");
    assert!(engine.observe_event(&deploy).is_empty());
    let lost = Event::new(
        at(42),
        "socket",
        EventKind::NodeMissing,
        Level::Error,
        "node /perception_node missed its heartbeat",
    )
    .with("node", "/perception_node");
    let signals = engine.observe_event(&lost);
    let fired: Vec<_> = signals
        .iter()
        .filter(|s| s.kind == SignalKind::Firing)
        .map(|s| s.rule.as_str())
        .collect();
    assert_eq!(fired, ["Node crashed", "Deployment regression"]);
    let regression = signals[1].trigger.as_ref().unwrap();
    assert!(
        regression
            .summary
            .starts_with("42.0 s after the deploy of perception 2.4.1: Node crashed: "),
        "{}",
        regression.summary
    );
    assert_eq!(
        regression.labels.get("kind").map(String::as_str),
        Some("regression")
    );
    let deploy_evidence = regression.evidence.last().unwrap();
    assert_eq!(deploy_evidence.series.as_str(), "deploy.perception");
    assert_eq!(deploy_evidence.condition, Comparison::Is("2.4.1".into()));

    // The same crash two minutes after the deploy is only a crash.
    let mut engine = Engine::new(&RuleSet::parse(ROBOT, "robot.yaml").unwrap());
    engine.observe_event(&deploy);
    let late = Event {
        ts: at(120),
        ..lost
    };
    let fired: Vec<_> = engine
        .observe_event(&late)
        .into_iter()
        .filter(|s| s.kind == SignalKind::Firing)
        .map(|s| s.rule)
        .collect();
    assert_eq!(fired, ["Node crashed"]);
}
