//! `log_match`: matching lines counted within a sliding window, line by line.

use crate::Fired as _;
use rewind_detect::{Engine, RuleSet, Signal};
use rewind_model::{Comparison, Event, EventKind, Level, Timestamp};

const T0_MILLIS: i64 = 1_700_000_000_000;

fn at(secs: f64) -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_unix_millis(T0_MILLIS + (secs * 1000.0).round() as i64)
}

/// The YAML of one `log_match` rule with `fields` (indented by 4, from line 5).
fn yaml(fields: &str) -> String {
    format!("triggers:\n  - name: r\n    type: log_match\n    severity: high\n{fields}")
}

fn engine(fields: &str) -> Engine {
    Engine::new(&RuleSet::parse(&yaml(fields), "x.yaml").unwrap())
}

fn line(secs: f64, source: &str, level: Level, message: &str) -> Event {
    Event::new(at(secs), source, EventKind::Log, level, message)
}

fn journal(secs: f64, message: &str) -> Event {
    line(secs, "journal", Level::Error, message)
}

/// `(secs, kind, subject)` of each signal.
fn brief(signals: &[Signal]) -> Vec<(f64, &'static str, String)> {
    #[allow(clippy::cast_precision_loss)]
    signals
        .iter()
        .map(|s| {
            let secs = (s.at.as_unix_millis() - T0_MILLIS) as f64 / 1000.0;
            (secs, s.kind.as_str(), s.subject.clone())
        })
        .collect()
}

fn feed(engine: &mut Engine, events: &[Event]) -> Vec<(f64, &'static str, String)> {
    events
        .iter()
        .flat_map(|e| brief(&engine.observe_event(e)))
        .collect()
}

fn sig(secs: f64, kind: &'static str, subject: &str) -> (f64, &'static str, String) {
    (secs, kind, subject.to_owned())
}

/// Whether one line of `message` (in the journal, at `error`) fires a fresh rule.
fn fires(fields: &str, message: &str) -> bool {
    !engine(fields)
        .observe_event(&journal(0.0, message))
        .fired()
        .is_empty()
}

#[test]
fn one_matching_line_fires_and_the_window_running_out_resolves_it() {
    let mut e = engine("    source: journal\n    regex: segfault\n    window: 10\n");
    let signals = e.observe_event(&journal(0.0, "nginx[101]: segfault at 0"));
    assert_eq!(brief(&signals), [sig(0.0, "firing", "journal")]);
    let t = &signals.fired()[0];
    assert_eq!((t.rule_type.as_str(), t.fired_at), ("log_match", at(0.0)));
    assert_eq!(
        t.summary,
        "a line matching /segfault/ in journal: \"nginx[101]: segfault at 0\""
    );
    let ev = &t.evidence[0];
    assert_eq!(ev.series.as_str(), "log.journal.matches");
    assert_eq!(ev.condition, Comparison::Is("/segfault/".into()));
    assert_eq!((ev.observed, ev.samples, ev.since), (1.0, 1, at(0.0)));
    assert_eq!(ev.text.as_deref(), Some("nginx[101]: segfault at 0"));
    assert_eq!(ev.window_nanos, Some(10_000_000_000));
    assert!(e.advance(at(9.999)).is_empty());
    assert_eq!(
        brief(&e.advance(at(10.0))),
        [sig(10.0, "resolved", "journal")]
    );
}

const THREE_IN_TEN: &str = "    regex: \"segfault|core dumped\"\n    count: 3\n    window: 10\n";

#[test]
fn count_lines_exactly_inside_the_window_fire() {
    let mut e = engine(THREE_IN_TEN);
    let events = [
        journal(0.0, "a: segfault"),
        journal(1.0, "unrelated"),
        journal(5.0, "b: core dumped"),
        journal(9.999, "c: segfault at 0"),
    ];
    assert_eq!(
        feed(
            &mut e,
            &[events[0].clone(), events[1].clone(), events[2].clone()]
        ),
        []
    );
    let signals = e.observe_event(&events[3]);
    assert_eq!(brief(&signals), [sig(9.999, "firing", "journal")]);
    let t = &signals.fired()[0];
    assert_eq!(
        t.summary,
        "3 lines matching /segfault|core dumped/ in journal within 9.999 s (last: \"c: segfault at 0\")"
    );
    assert_eq!(t.evidence[0].observed, 3.0);
    assert_eq!(
        brief(&e.advance(at(10.0))),
        [sig(10.0, "resolved", "journal")]
    );
}

#[test]
fn a_line_exactly_window_old_has_left_it() {
    let mut e = engine(THREE_IN_TEN);
    let events = [
        journal(0.0, "segfault"),
        journal(5.0, "segfault"),
        journal(10.0, "segfault"),
    ];
    assert!(feed(&mut e, &events).is_empty());
    assert_eq!(
        feed(&mut e, &[journal(12.0, "segfault")]),
        [sig(12.0, "firing", "journal")]
    );
}

#[test]
fn a_literal_with_regex_metacharacters_matches_as_written() {
    let literal = "    literal: \"a.b(c)*\"\n";
    assert!(fires(literal, "x a.b(c)* y"));
    assert!(!fires(literal, "aXb(c)"));
    assert!(!fires(literal, "a.bcc"));
    assert!(
        fires("    regex: \"a.b(c)*\"\n", "aXbcc"),
        "the same text as a regex"
    );
}

#[test]
fn a_regex_is_unanchored_and_case_sensitive() {
    let re = "    regex: \"segfault|core dumped\"\n";
    assert!(fires(re, "nginx: core dumped (signal 11)"));
    assert!(!fires(re, "SEGFAULT"));
    assert!(fires("    regex: \"(?i)segfault\"\n", "SEGFAULT"));
    assert!(!fires("    regex: \"^segfault$\"\n", "a segfault"));
}

#[test]
fn the_level_filter_counts_lines_at_or_above_it() {
    let mut e = engine("    literal: disk\n    level: warning\n");
    let quiet = [
        line(0.0, "journal", Level::Debug, "disk ok"),
        line(1.0, "journal", Level::Notice, "disk ok"),
    ];
    assert!(feed(&mut e, &quiet).is_empty());
    let warn = line(2.0, "journal", Level::Warning, "disk slow");
    assert_eq!(feed(&mut e, &[warn]), [sig(2.0, "firing", "journal")]);
    let mut e = engine("    literal: disk\n    level: warning\n");
    let crit = line(0.0, "kmsg", Level::Critical, "disk gone");
    assert_eq!(feed(&mut e, &[crit]), [sig(0.0, "firing", "kmsg")]);
}

#[test]
fn each_matching_source_counts_on_its_own() {
    let mut e = engine("    source: \"file:/var/log/*.log\"\n    literal: ERROR\n    count: 2\n");
    let events = [
        line(0.0, "file:/var/log/a.log", Level::Info, "ERROR one"),
        line(1.0, "file:/var/log/b.log", Level::Info, "ERROR one"),
        line(2.0, "journal", Level::Error, "ERROR elsewhere"),
        line(2.5, "file:/var/log/a.txt", Level::Error, "ERROR elsewhere"),
    ];
    assert!(feed(&mut e, &events).is_empty(), "1 and 1 are not 2");
    let signals = e.observe_event(&line(3.0, "file:/var/log/a.log", Level::Info, "ERROR two"));
    assert_eq!(brief(&signals), [sig(3.0, "firing", "file:/var/log/a.log")]);
    let ev = &signals.fired()[0].evidence[0];
    assert_eq!(ev.series.as_str(), "log.file:/var/log/a_log.matches");
}

#[test]
fn typed_events_are_lines_too() {
    let mut e = engine("    source: kmsg\n    literal: \"Killed process\"\n");
    let oom = Event::new(
        at(0.0),
        "kmsg",
        EventKind::OomKill,
        Level::Error,
        "Out of memory: Killed process 1234 (stress-ng) total-vm:100kB",
    )
    .with("pid", 1234)
    .with("process", "stress-ng");
    assert_eq!(feed(&mut e, &[oom]), [sig(0.0, "firing", "kmsg")]);
}

#[test]
fn a_late_line_counts_only_within_the_window() {
    let mut e = engine("    literal: boom\n    count: 2\n    window: 10\n");
    assert!(
        feed(&mut e, &[journal(20.0, "boom"), journal(5.0, "boom")]).is_empty(),
        "15 s late"
    );
    assert_eq!(
        feed(&mut e, &[journal(12.0, "boom")]),
        [sig(12.0, "firing", "journal")],
        "8 s late: inside the window ending at 20"
    );
}

#[test]
fn a_huge_line_is_matched_and_cut_in_the_evidence() {
    let mut e = engine("    literal: segfault\n");
    let huge = format!("{}segfault", "x".repeat(1_000_000));
    let t = &e.observe_event(&journal(0.0, &huge)).fired()[0];
    let text = t.evidence[0].text.as_deref().unwrap();
    assert_eq!(text.chars().count(), 500);
    assert!(text.ends_with('…'));
    assert!(t.summary.len() < 200, "{}", t.summary);
}

#[test]
fn a_backtracking_pattern_stays_linear_on_hostile_lines() {
    // Exponential for a backtracking engine; linear for the regex crate.
    let hostile = format!("{}!", "a".repeat(100_000));
    for re in ["(a+)+$", "^(a|aa)+$"] {
        let mut e = engine(&format!("    regex: \"{re}\"\n"));
        assert!(feed(&mut e, &[journal(0.0, &hostile)]).is_empty(), "{re}");
        let plain = "a".repeat(100_000);
        assert_eq!(
            feed(&mut e, &[journal(1.0, &plain)]),
            [sig(1.0, "firing", "journal")],
            "{re}"
        );
    }
}

#[test]
fn rules_explain_in_plain_words() {
    let describe = |fields: &str| {
        RuleSet::parse(&yaml(fields), "x.yaml").unwrap().rules()[0]
            .kind
            .describe()
    };
    assert_eq!(
        describe("    literal: boom\n"),
        "a line from any source matches \"boom\"; it clears 60.0 s after the latest one"
    );
    assert_eq!(
        describe(
            "    source: journal\n    regex: \"seg(fault)?\"\n    level: error\n    count: 3\n    window: 30\n"
        ),
        "3 lines from `journal` at level error or above match /seg(fault)?/ within 30.0 s"
    );
    assert_eq!(
        describe("    source: \"file:*\"\n    literal: x\n    count: 2\n"),
        "2 lines from a source matching `file:*` match \"x\" within 60.0 s"
    );
}

fn problem(fields: &str) -> String {
    RuleSet::parse(&yaml(fields), "x.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn regex_or_literal_is_required() {
    assert_eq!(
        problem("    source: journal\n"),
        "x.yaml:2:5: error: missing required field `regex` or `literal`\n  \
         hint: say what to look for, e.g. `regex: \"segfault|core dumped\"` or `literal: \"Out of memory\"`"
    );
}

#[test]
fn regex_and_literal_together_are_refused() {
    assert_eq!(
        problem("    regex: a\n    literal: b\n"),
        "x.yaml:6:14: error: a `log_match` rule has both `regex` and `literal`\n  \
         hint: keep one: `regex:` is a regular expression, `literal:` is text looked for as written"
    );
}

#[test]
fn an_invalid_regex_is_reported_with_the_regex_crates_message() {
    assert_eq!(
        problem("    regex: \"segfault(\"\n"),
        "x.yaml:5:12: error: invalid regex `segfault(`: unclosed group (at character 9)\n  \
         hint: see the syntax at https://docs.rs/regex/latest/regex/#syntax; to find text as \
         written, use `literal:` instead"
    );
    let err = problem("    regex: \"(?<=a)b\"\n");
    assert!(
        err.starts_with("x.yaml:5:12: error: invalid regex `(?<=a)b`: look-around"),
        "{err}"
    );
}

#[test]
fn a_catastrophically_large_regex_is_refused_by_the_size_limit() {
    let err = problem("    regex: \"(a{1000}){1000}\"\n");
    assert!(
        err.starts_with(
            "x.yaml:5:12: error: `regex` `(a{1000}){1000}` is too large once compiled (over 1048576 bytes)"
        ),
        "{err}"
    );
    assert!(err.contains("hint: simplify it"), "{err}");
}

#[test]
fn a_too_long_pattern_is_refused() {
    let err = problem(&format!("    regex: \"{}\"\n", "a".repeat(1001)));
    assert_eq!(
        err,
        "x.yaml:5:12: error: `regex` is too long: 1001 characters\n  hint: use at most 1000 characters"
    );
}

#[test]
fn an_empty_literal_is_refused() {
    assert_eq!(
        problem("    literal: \"\"\n"),
        "x.yaml:5:14: error: `literal` is empty: it would match every line\n  \
         hint: say what to look for, e.g. `literal: \"Out of memory\"`"
    );
}

#[test]
fn a_literal_must_be_text() {
    assert_eq!(
        problem("    literal: 404\n"),
        "x.yaml:5:14: error: `literal` must be text, found the number `404`\n  \
         hint: put it in quotes: `literal: \"404\"`"
    );
}

#[test]
fn an_unknown_level_gets_a_suggestion() {
    assert_eq!(
        problem("    literal: x\n    level: eror\n"),
        "x.yaml:6:12: error: unknown level `eror` in `level`\n  \
         hint: did you mean `error`? use one of debug, info, notice, warning, error, critical: \
         a line counts at that level or above"
    );
}

#[test]
fn count_must_be_from_one_to_a_thousand() {
    assert_eq!(
        problem("    literal: x\n    count: 0\n"),
        "x.yaml:6:12: error: `count` must be a whole number from 1 to 1000, found the number `0`\n  \
         hint: write e.g. `count: 3`"
    );
}

#[test]
fn window_must_be_more_than_zero() {
    assert_eq!(
        problem("    literal: x\n    window: 0\n"),
        "x.yaml:6:13: error: `window` must be more than 0, found `0`\n  \
         hint: give a number of seconds, e.g. `window: 60`"
    );
}

#[test]
fn a_source_must_be_a_pattern_without_spaces() {
    assert_eq!(
        problem("    source: \"my log\"\n    literal: x\n"),
        "x.yaml:5:13: error: invalid name pattern `my log` in `source`\n  \
         hint: write a name of at most 200 characters without spaces, where `*` matches \
         anything, e.g. `source: journal`"
    );
}
