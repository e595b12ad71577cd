//! The deterministic explainer: grounded on every scenario, and snapshots.

use super::{analysis, scenarios};
use crate::rca::{Facts, explain, grounded};

fn all() -> Vec<(&'static str, crate::rca::Timeline)> {
    let mut out: Vec<_> = scenarios::matching()
        .into_iter()
        .chain(scenarios::near_misses())
        .map(|(name, _, tl)| (name, tl))
        .collect();
    out.push(("unknown", scenarios::unknown()));
    out.push((
        "thermal_and_contention",
        scenarios::thermal_and_contention(),
    ));
    out
}

#[test]
fn every_explanation_is_grounded_in_its_evidence() {
    for (name, tl) in all() {
        let a = analysis(&tl);
        let facts = Facts::of(&tl, &a);
        let e = explain(&tl, &a);
        assert_eq!(grounded(&e.to_markdown(), &facts), Ok(()), "{name}");
        for cause in &a.causes {
            assert_eq!(
                grounded(&cause.reason, &facts),
                Ok(()),
                "{name}: the reason"
            );
            for item in &cause.evidence {
                assert_eq!(
                    grounded(&item.text, &facts),
                    Ok(()),
                    "{name}: {}",
                    item.step
                );
            }
        }
        for c in &a.correlated {
            assert_eq!(grounded(&c.text, &facts), Ok(()), "{name}: {}", c.series);
        }
    }
}

#[test]
fn invented_numbers_and_names_are_caught() {
    let tl = scenarios::thermal();
    let a = analysis(&tl);
    let facts = Facts::of(&tl, &a);
    let text = explain(&tl, &a).to_markdown()
        + "\nThe GPU reached 104.5 C on `gpu.1.temp_c` after deploy v2.0.1, 17 s before.";
    assert_eq!(
        grounded(&text, &facts),
        Err(vec![
            "`gpu.1.temp_c`".into(),
            "104.5".into(),
            "v2.0.1".into(),
            "17".into()
        ])
    );
}

#[test]
fn an_explanation_says_what_fired_the_chain_and_what_next() {
    let tl = scenarios::thermal();
    let e = explain(&tl, &analysis(&tl));
    assert_eq!(
        e.headline,
        "Likely cause: GPU/CPU thermal throttling (confidence 0.78)"
    );
    assert!(
        e.summary.starts_with(
            "`Camera topic starvation` (topic_rate, high) fired at 2026-11-23T10:00:00Z"
        )
    );
    assert_eq!(e.chain.len(), 4);
    assert_eq!(e.triage.confidence_word, "high");
    assert_eq!(e.triage.next_action, e.actions[0]);
    assert_eq!(e.risk.level, rewind_model::Severity::High);
    assert!(
        e.triage
            .limits
            .iter()
            .any(|l| l.contains("60 s before and 10 s after"))
    );
}

#[test]
fn no_known_cause_is_said_plainly_with_the_changes() {
    let tl = scenarios::unknown();
    let e = explain(&tl, &analysis(&tl));
    assert_eq!(e.headline, "No known cause");
    assert!(
        e.summary.contains("none of the 8 chains matched"),
        "{}",
        e.summary
    );
    assert!(
        e.summary.contains("`process.planner.fds` rose from"),
        "{}",
        e.summary
    );
    assert_eq!(e.triage.confidence_word, "none");
    assert!(e.chain.is_empty());
}

#[test]
fn the_deploy_is_named() {
    let tl = scenarios::bad_deploy();
    let e = explain(&tl, &analysis(&tl));
    assert!(
        e.summary.contains("Deploy: deploy 0192f0c4-5c1e-7d2a-9b3e-4f5a6b7c8d9e of checkout version v1.4.2 to production."),
        "{}",
        e.summary
    );
    let tl = scenarios::deploy_harmless();
    let e = explain(&tl, &analysis(&tl));
    assert!(
        e.summary.contains("The nearest deploy is 0192f0c4-5c1e-7d2a-9b3e-4f5a6b7c8d9e of checkout version v1.4.2, 480 s before the trigger, but no chain ties it to the incident."),
        "{}",
        e.summary
    );
}

#[test]
fn snapshot_the_seed_thermal_chain() {
    let tl = scenarios::thermal();
    insta::assert_snapshot!(explain(&tl, &analysis(&tl)).to_markdown());
}

#[test]
fn snapshot_no_known_cause() {
    let tl = scenarios::unknown();
    insta::assert_snapshot!(explain(&tl, &analysis(&tl)).to_markdown());
}
