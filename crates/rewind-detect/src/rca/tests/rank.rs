//! Ranking between chains, and "no known cause".

use super::{analysis, scenarios};

#[test]
fn two_matching_chains_are_ranked_with_a_reason_each() {
    let a = analysis(&scenarios::thermal_and_contention());
    let ranked: Vec<(&str, usize)> = a
        .causes
        .iter()
        .map(|c| (c.chain.as_str(), c.rank))
        .collect();
    assert_eq!(ranked, [("thermal-throttling", 1), ("cpu-contention", 2)]);
    let (first, second) = (&a.causes[0], &a.causes[1]);
    assert!(first.confidence > second.confidence);
    assert_eq!(
        first.reason,
        format!(
            "Ranked first with confidence {} (prior 0.8, 4 of 4 steps seen, timing {}); above \
             `cpu-contention` ({}), for its higher prior.",
            crate::words::number(first.confidence),
            crate::words::number(first.timing),
            crate::words::number(second.confidence),
        )
    );
    assert!(
        second.reason.starts_with("Ranked second with confidence")
            && second
                .reason
                .ends_with("below `thermal-throttling` (0.78), which has the higher prior."),
        "{}",
        second.reason
    );
}

#[test]
fn with_no_chain_matching_the_strongest_changes_are_listed() {
    let a = analysis(&scenarios::unknown());
    assert!(a.causes.is_empty(), "{:?}", a.causes);
    let top: Vec<&str> = a
        .correlated
        .iter()
        .take(2)
        .map(|c| c.series.as_str())
        .collect();
    assert_eq!(top, ["process.planner.fd_used_pct", "process.planner.fds"]);
    let fds = &a.correlated[1];
    assert!(fds.spreads > 3.0 && fds.after == 985.0, "{fds:?}");
    assert!(
        a.correlated
            .iter()
            .all(|c| c.series != "cpu.total.busy_pct"),
        "noise is not a change: {:?}",
        a.correlated
    );
    assert_eq!(a.chains_checked, 8);
}

#[test]
fn the_analysis_is_deterministic() {
    for (_, _, tl) in scenarios::matching() {
        assert_eq!(analysis(&tl), analysis(&tl));
    }
}

#[test]
fn the_analysis_serialises_to_json() {
    let a = analysis(&scenarios::thermal());
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["causes"][0]["chain"], "thermal-throttling");
    assert_eq!(json["causes"][0]["evidence"][2]["kind"], "event");
    assert_eq!(
        json["causes"][0]["evidence"][2]["values"]["node"],
        "perception_node"
    );
    assert_eq!(json["trigger"]["rule"], "Camera topic starvation");
}
