//! `docs/rules.md` stays true: its examples parse, or fail, as it says.

use crate::Fired as _;
use rewind_detect::{Engine, RuleSet};
use rewind_model::{Sample, SeriesName, Timestamp};

const DOC: &str = include_str!("../../../../docs/rules.md");

/// The fenced code blocks of `text` with the given language, in order.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    text.split(fence.as_str())
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect()
}

#[test]
fn the_first_example_is_valid() {
    let set = RuleSet::parse(blocks(DOC, "yaml")[0], "rules.md").unwrap();
    assert_eq!(set.rules()[0].name, "CPU saturated");
}

#[test]
fn the_error_example_prints_what_the_doc_says() {
    let errors = DOC.split("## Errors").nth(1).unwrap();
    let yaml = blocks(errors, "yaml")[0];
    let expected = blocks(errors, "text")[0];
    let err = RuleSet::parse(yaml, "rules.yaml").unwrap_err();
    assert_eq!(err.to_string(), expected.trim_end());
}

#[test]
fn the_evaluation_example_fires_where_the_doc_says() {
    let set = RuleSet::parse(blocks(DOC, "yaml")[0], "rules.md").unwrap();
    let mut engine = Engine::new(&set);
    let cpu = SeriesName::new("cpu.total.busy_pct").unwrap();
    let mut fired = Vec::new();
    for (secs, busy) in [50.0, 85.0, 97.5, 96.1, 90.0, 60.0, 91.0]
        .into_iter()
        .enumerate()
    {
        let ts = Timestamp::from_unix_millis(i64::try_from(secs).unwrap() * 1000);
        for trigger in engine.observe(&cpu, Sample::new(ts, busy)).fired() {
            fired.push((secs, trigger.summary));
        }
    }
    let summary = "cpu.total.busy_pct stayed above 80 for 2.0 s (peak 97.5, now 96.1)";
    assert_eq!(fired, [(3, summary.to_owned())]);
    assert!(DOC.contains(summary));
}
