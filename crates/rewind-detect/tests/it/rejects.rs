//! Every way a rules file can be wrong: one fixture per problem, each checked
//! for its line, column, message and hint.

mod file;
mod rules;
mod values;

use rewind_detect::{Problem, RuleSet};

/// A valid file; cases break it one way at a time. Positions:
/// line 2 `name` value at column 11, 3 `type` value at 11, 4 `metric` value
/// at 13, 5 `threshold` key at 5, 6 `above` key at 7 and value at 14,
/// 7 `duration` value at 15, 8 `severity` value at 15.
pub(crate) const BASE: &str = "\
triggers:
  - name: \"CPU saturated\"
    type: metric_threshold
    metric: cpu.total.busy_pct
    threshold:
      above: 80
    duration: 2.0
    severity: high
";

/// `BASE` with `from` replaced by `to`; `from` must occur.
pub(crate) fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "fixture has no {from:?}");
    BASE.replacen(from, to, 1)
}

pub(crate) struct Case {
    what: &'static str,
    yaml: String,
    at: (usize, usize),
    message: &'static str,
    hint: &'static str,
}

pub(crate) fn case(
    what: &'static str,
    yaml: impl Into<String>,
    at: (usize, usize),
    message: &'static str,
    hint: &'static str,
) -> Case {
    Case {
        what,
        yaml: yaml.into(),
        at,
        message,
        hint,
    }
}

fn the_problem(case: &Case) -> Problem {
    let err = match RuleSet::parse(&case.yaml, "rules.yaml") {
        Ok(set) => panic!("{}: accepted {set:?}\n{}", case.what, case.yaml),
        Err(err) => err,
    };
    assert_eq!(err.origin, "rules.yaml");
    let [problem] = err.problems.as_slice() else {
        panic!(
            "{}: expected one problem, got:\n{err}\n--- from:\n{}",
            case.what, case.yaml
        )
    };
    problem.clone()
}

pub(crate) fn check(cases: &[Case]) {
    for case in cases {
        let problem = the_problem(case);
        let Problem {
            line,
            column,
            message,
            hint,
        } = &problem;
        assert_eq!(
            (*line, *column),
            case.at,
            "{}: position of {message:?}\n{}",
            case.what,
            case.yaml
        );
        assert_eq!(message, case.message, "{}", case.what);
        let hint = hint.as_deref().unwrap_or_default();
        assert!(
            hint.contains(case.hint),
            "{}: hint {hint:?} lacks {:?}",
            case.what,
            case.hint
        );
    }
}
#[test]
fn the_base_fixture_is_valid() {
    let set = RuleSet::parse(BASE, "rules.yaml").unwrap();
    assert_eq!(set.rules().len(), 1);
}
