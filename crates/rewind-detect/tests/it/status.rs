//! `node_status` and `process_status`: missing, restarted, OOM-killed and
//! crash-looping names, event by event.

use crate::Fired as _;
use rewind_detect::{Engine, RuleSet, Signal};
use rewind_model::{Comparison, Event, EventKind, Level, Severity, Timestamp};

const T0_MILLIS: i64 = 1_700_000_000_000;

fn at(secs: f64) -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_unix_millis(T0_MILLIS + (secs * 1000.0).round() as i64)
}

fn engine(yaml: &str) -> Engine {
    Engine::new(&RuleSet::parse(yaml, "x.yaml").unwrap())
}

/// An engine for one rule of `ty` with `fields` (indented by 4).
fn rule(ty: &str, fields: &str) -> Engine {
    engine(&format!(
        "triggers:\n  - name: r\n    type: {ty}\n    severity: high\n{fields}"
    ))
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

/// Feeds the events in order; returns every signal, briefly.
fn feed(engine: &mut Engine, events: &[Event]) -> Vec<(f64, &'static str, String)> {
    events
        .iter()
        .flat_map(|e| brief(&engine.observe_event(e)))
        .collect()
}

fn sig(secs: f64, kind: &'static str, subject: &str) -> (f64, &'static str, String) {
    (secs, kind, subject.to_owned())
}

fn node_missing(secs: f64, node: &str) -> Event {
    let message = format!("node `{node}` missed its heartbeat: nothing for 2.0 s");
    Event::new(
        at(secs),
        "socket",
        EventKind::NodeMissing,
        Level::Error,
        message,
    )
    .with("node", node)
    .with("ttl_s", 2.0)
}

fn node_seen(secs: f64, node: &str) -> Event {
    let message = format!("node `{node}` seen");
    Event::new(
        at(secs),
        "socket",
        EventKind::NodeSeen,
        Level::Info,
        message,
    )
    .with("node", node)
    .with("ttl_s", 2.0)
}

fn process_missing(secs: f64, process: &str, pid: u32) -> Event {
    let message = format!("watched process {process} is gone (pid {pid})");
    Event::new(
        at(secs),
        "process",
        EventKind::ProcessMissing,
        Level::Error,
        message,
    )
    .with("process", process)
    .with("pid", pid)
}

fn restarted(secs: f64, process: &str, new_pid: u32) -> Event {
    let message = format!("watched process {process} restarted (pid 1 -> {new_pid})");
    Event::new(
        at(secs),
        "process",
        EventKind::ProcessRestarted,
        Level::Warning,
        message,
    )
    .with("process", process)
    .with("old_pid", 1)
    .with("new_pid", new_pid)
}

fn oom_kill(secs: f64, process: &str, pid: u32) -> Event {
    let message = format!("Out of memory: Killed process {pid} ({process}) total-vm:100kB");
    Event::new(at(secs), "kmsg", EventKind::OomKill, Level::Error, message)
        .with("pid", pid)
        .with("process", process)
}

/// The seed's example, unchanged.
const SEED: &str = r#"triggers:
  - name: "Node crashed"
    type: "node_status"
    node: "*" # any node
    status: "missing"
    severity: "high"
"#;

#[test]
fn the_seed_example_fires_on_a_missing_node_and_resolves_when_it_is_seen() {
    let mut e = engine(SEED);
    assert!(
        e.observe_event(&node_seen(0.0, "/perception_node"))
            .is_empty()
    );
    let signals = e.observe_event(&node_missing(3.0, "/perception_node"));
    assert_eq!(brief(&signals), [sig(3.0, "firing", "/perception_node")]);
    let [t] = signals.fired().try_into().unwrap();
    assert_eq!(
        (t.rule.as_str(), t.rule_type.as_str()),
        ("Node crashed", "node_status")
    );
    assert_eq!(t.severity, Severity::High);
    assert_eq!(
        t.summary,
        "node /perception_node missing since 2023-11-14T22:13:23Z"
    );
    let [ev] = t.evidence.try_into().unwrap();
    assert_eq!(ev.series.as_str(), "node./perception_node.status");
    assert_eq!(ev.condition, Comparison::Is("missing".into()));
    assert_eq!((ev.observed, ev.samples, ev.since), (1.0, 1, at(3.0)));
    let text = "node `/perception_node` missed its heartbeat: nothing for 2.0 s";
    assert_eq!(ev.text.as_deref(), Some(text));
    assert_eq!(ev.window_nanos, None);

    assert!(
        e.observe_event(&node_missing(4.0, "/perception_node"))
            .is_empty(),
        "still missing"
    );
    let back = e.observe_event(&node_seen(10.0, "/perception_node"));
    assert_eq!(brief(&back), [sig(10.0, "resolved", "/perception_node")]);
}

#[test]
fn a_star_matches_any_name_and_a_literal_or_family_only_theirs() {
    let mut e = engine(
        "triggers:
  - { name: any, type: node_status, node: \"*\", status: missing, severity: high }
  - { name: planner, type: node_status, node: /planner, status: missing, severity: high }
  - { name: perception, type: node_status, node: \"/perception_*\", status: missing, severity: high }
",
    );
    let fired = |e: &mut Engine, event: Event| -> Vec<String> {
        e.observe_event(&event)
            .fired()
            .into_iter()
            .map(|t| t.rule)
            .collect()
    };
    assert_eq!(fired(&mut e, node_missing(1.0, "/camera")), ["any"]);
    assert_eq!(
        fired(&mut e, node_missing(2.0, "/planner")),
        ["any", "planner"]
    );
    assert_eq!(
        fired(&mut e, node_missing(3.0, "/perception_lidar")),
        ["any", "perception"]
    );
    assert!(fired(&mut e, node_missing(4.0, "/planner_x")).contains(&"any".to_owned()));
    assert_eq!(
        fired(&mut e, node_missing(5.0, "/planner_y")),
        ["any"],
        "a literal matches its own name only"
    );
}

#[test]
fn a_missing_process_holds_until_it_restarts_and_duration_runs_on_time() {
    let mut e = rule(
        "process_status",
        "    process: nginx\n    status: missing\n    duration: 5\n",
    );
    let run = feed(
        &mut e,
        &[
            process_missing(0.0, "nginx", 101),
            process_missing(1.0, "redis", 7),
        ],
    );
    assert_eq!(run, [sig(0.0, "pending", "nginx")]);
    assert!(e.advance(at(4.999)).is_empty());
    let fired = e.advance(at(5.0));
    assert_eq!(brief(&fired), [sig(5.0, "firing", "nginx")]);
    assert_eq!(
        fired.fired()[0].summary,
        "process nginx missing since 2023-11-14T22:13:20Z (5.0 s)"
    );
    assert_eq!(
        feed(&mut e, &[restarted(7.0, "nginx", 230)]),
        [sig(7.0, "resolved", "nginx")]
    );
}

#[test]
fn a_restart_fires_once_and_resolves_after_the_hold() {
    let mut e = rule(
        "process_status",
        "    process: nginx\n    status: restarted\n",
    );
    let signals = e.observe_event(&restarted(0.0, "nginx", 230));
    assert_eq!(brief(&signals), [sig(0.0, "firing", "nginx")]);
    let t = &signals.fired()[0];
    assert_eq!(t.summary, "process nginx restarted (pid 230)");
    assert_eq!(t.evidence[0].condition, Comparison::Is("restarted".into()));
    assert!(
        feed(&mut e, &[restarted(30.0, "nginx", 388)]).is_empty(),
        "extends the hold"
    );
    assert!(e.advance(at(89.999)).is_empty());
    assert_eq!(
        brief(&e.advance(at(90.0))),
        [sig(90.0, "resolved", "nginx")]
    );
    assert_eq!(
        feed(&mut e, &[restarted(200.0, "nginx", 401)]),
        [sig(200.0, "firing", "nginx")]
    );
}

#[test]
fn restarts_that_keep_coming_fire_a_longer_duration_with_every_pid() {
    let mut e = rule(
        "process_status",
        "    process: nginx\n    status: restarted\n    hold: 30\n    duration: 40\n",
    );
    let events = [
        restarted(0.0, "nginx", 101),
        restarted(20.0, "nginx", 230),
        restarted(35.0, "nginx", 388),
    ];
    assert_eq!(feed(&mut e, &events), [sig(0.0, "pending", "nginx")]);
    let [t] = e.advance(at(40.0)).fired().try_into().unwrap();
    assert_eq!(t.fired_at, at(40.0));
    assert_eq!(
        t.summary,
        "process nginx restarted 3 times in 35.0 s (pids 101, 230, 388)"
    );
    assert_eq!(t.evidence[0].observed, 3.0);
}

#[test]
fn a_long_burst_keeps_only_the_latest_pids() {
    let mut e = rule(
        "process_status",
        "    process: nginx\n    status: restarted\n    duration: 9.5\n",
    );
    let burst: Vec<Event> = (0..10)
        .map(|i| restarted(f64::from(i), "nginx", 100 + i))
        .collect();
    assert_eq!(feed(&mut e, &burst), [sig(0.0, "pending", "nginx")]);
    let [t] = e.advance(at(9.5)).fired().try_into().unwrap();
    assert_eq!(
        t.summary,
        "process nginx restarted 10 times in 9.0 s (latest pids 102, 103, 104, 105, 106, 107, 108, 109)"
    );
    assert_eq!(t.evidence[0].observed, 10.0);
}

#[test]
fn a_node_restart_is_a_return_after_missing() {
    let mut e = rule(
        "node_status",
        "    node: /planner\n    status: restarted\n    hold: 10\n",
    );
    let run = feed(
        &mut e,
        &[
            node_seen(0.0, "/planner"),
            node_missing(5.0, "/planner"),
            node_seen(9.0, "/planner"),
        ],
    );
    assert_eq!(
        run,
        [sig(9.0, "firing", "/planner")],
        "a first sighting is no restart"
    );
    assert_eq!(
        brief(&e.advance(at(19.0))),
        [sig(19.0, "resolved", "/planner")]
    );
}

const CRASH_LOOP: &str =
    "    process: nginx\n    status: crash_loop\n    restarts: 3\n    window: 300\n";

#[test]
fn a_crash_loop_fires_at_k_restarts_inside_the_window() {
    let mut e = rule("process_status", CRASH_LOOP);
    let mut signals = Vec::new();
    for (secs, pid) in [(0.0, 11), (100.0, 12), (299.999, 13)] {
        signals.extend(e.observe_event(&restarted(secs, "nginx", pid)));
    }
    assert_eq!(brief(&signals), [sig(299.999, "firing", "nginx")]);
    let t = &signals.fired()[0];
    assert_eq!(
        t.summary,
        "process nginx restarted 3 times in 299.999 s (pids 11, 12, 13)"
    );
    let ev = &t.evidence[0];
    assert_eq!(ev.condition, Comparison::Is("crash_loop".into()));
    assert_eq!((ev.observed, ev.window_nanos), (3.0, Some(300_000_000_000)));
    assert_eq!(ev.series.as_str(), "process.nginx.status");
    assert_eq!(
        brief(&e.advance(at(300.0))),
        [sig(300.0, "resolved", "nginx")]
    );
}

#[test]
fn a_crash_loop_just_outside_the_window_does_not_fire() {
    let mut e = rule("process_status", CRASH_LOOP);
    let events = [
        restarted(0.0, "nginx", 11),
        restarted(100.0, "nginx", 12),
        restarted(300.0, "nginx", 13),
    ];
    assert!(
        feed(&mut e, &events).is_empty(),
        "the first restart left the window at 300"
    );
}

#[test]
fn a_crash_loop_holds_while_the_latest_k_restarts_stay_in_the_window() {
    let mut e = rule("process_status", CRASH_LOOP);
    let events = [
        restarted(0.0, "nginx", 11),
        restarted(100.0, "nginx", 12),
        restarted(200.0, "nginx", 13),
        restarted(290.0, "nginx", 14),
    ];
    assert_eq!(feed(&mut e, &events), [sig(200.0, "firing", "nginx")]);
    assert!(
        e.advance(at(300.0)).is_empty(),
        "100, 200 and 290 are still within 300 s"
    );
    assert_eq!(
        brief(&e.advance(at(400.0))),
        [sig(400.0, "resolved", "nginx")]
    );
}

#[test]
fn missing_events_do_not_count_towards_a_crash_loop() {
    let mut e = rule("process_status", CRASH_LOOP);
    let events = [
        process_missing(0.0, "nginx", 11),
        restarted(1.0, "nginx", 12),
        process_missing(2.0, "nginx", 12),
        restarted(3.0, "nginx", 13),
    ];
    assert!(feed(&mut e, &events).is_empty(), "two restarts, not four");
}

#[test]
fn an_oom_kill_fires_for_the_process_the_kernel_names() {
    let mut e = rule(
        "process_status",
        "    process: \"stress*\"\n    status: oom_killed\n",
    );
    assert!(
        feed(
            &mut e,
            &[oom_kill(0.0, "python3", 7), restarted(1.0, "stress-ng", 8)]
        )
        .is_empty()
    );
    let signals = e.observe_event(&oom_kill(2.0, "stress-ng", 1234));
    assert_eq!(brief(&signals), [sig(2.0, "firing", "stress-ng")]);
    let t = &signals.fired()[0];
    assert_eq!(t.summary, "process stress-ng was OOM-killed (pid 1234)");
    let ev = &t.evidence[0];
    assert_eq!(ev.condition, Comparison::Is("oom_killed".into()));
    assert_eq!(
        ev.text.as_deref(),
        Some("Out of memory: Killed process 1234 (stress-ng) total-vm:100kB")
    );
    assert_eq!(
        brief(&e.advance(at(62.0))),
        [sig(62.0, "resolved", "stress-ng")]
    );
}

#[test]
fn a_late_seen_event_older_than_the_missing_one_is_ignored() {
    let mut e = engine(SEED);
    let run = feed(&mut e, &[node_missing(10.0, "/a"), node_seen(5.0, "/a")]);
    assert_eq!(
        run,
        [sig(10.0, "firing", "/a")],
        "the older event says less"
    );
    assert_eq!(
        feed(&mut e, &[node_seen(11.0, "/a")]),
        [sig(11.0, "resolved", "/a")]
    );
}

#[test]
fn a_late_restart_counts_only_within_the_window() {
    let mut e = rule("process_status", CRASH_LOOP);
    let run = feed(
        &mut e,
        &[
            restarted(400.0, "nginx", 2),
            restarted(450.0, "nginx", 3),
            restarted(100.0, "nginx", 1),
        ],
    );
    assert!(
        run.is_empty(),
        "350 s before the latest: outside the window"
    );
    let run = feed(&mut e, &[restarted(200.0, "nginx", 4)]);
    assert_eq!(
        run,
        [sig(200.0, "firing", "nginx")],
        "250 s before the latest: inside"
    );
}

#[test]
fn odd_names_still_give_valid_evidence() {
    let mut e = engine(SEED);
    let name = format!("/a.b c\u{1b}{}", "x".repeat(500));
    let t = &e.observe_event(&node_missing(0.0, &name)).fired()[0];
    assert!(t.evidence[0].series.as_str().starts_with("node./a_b_c_xxx"));
    assert!(!t.summary.contains('\u{1b}'));
    let unnamed = Event::new(at(1.0), "socket", EventKind::NodeMissing, Level::Error, "?");
    assert!(
        e.observe_event(&unnamed).is_empty(),
        "no `node` field: not about a node"
    );
}

#[test]
fn rules_explain_in_plain_words() {
    let describe = |ty: &str, fields: &str| {
        let yaml = format!("triggers:\n  - name: r\n    type: {ty}\n    severity: high\n{fields}");
        RuleSet::parse(&yaml, "x.yaml").unwrap().rules()[0]
            .kind
            .describe()
    };
    assert_eq!(
        describe("node_status", "    node: \"*\"\n    status: missing\n"),
        "any node misses its heartbeat; it clears when seen again"
    );
    assert_eq!(
        describe(
            "process_status",
            "    process: nginx\n    status: restarted\n"
        ),
        "process `nginx` restarts; it clears 60.0 s after the latest restart"
    );
    assert_eq!(
        describe(
            "process_status",
            "    process: \"py*\"\n    status: oom_killed\n    hold: 5\n"
        ),
        "a process matching `py*` is killed by the kernel's OOM killer; it clears 5.0 s after the latest kill"
    );
    assert_eq!(
        describe(
            "process_status",
            "    process: nginx\n    status: crash_loop\n"
        ),
        "process `nginx` restarts 3 times within 300.0 s"
    );
}

/// The error text for one rule of `ty` with `fields` (line 5 on, indented by 4).
fn problem(ty: &str, fields: &str) -> String {
    let yaml = format!("triggers:\n  - name: r\n    type: {ty}\n    severity: high\n{fields}");
    RuleSet::parse(&yaml, "x.yaml").unwrap_err().to_string()
}

#[test]
fn a_missing_name_is_reported_at_the_rule() {
    assert_eq!(
        problem("node_status", "    status: missing\n"),
        "x.yaml:2:5: error: missing required field `node`\n  \
         hint: name the node to watch, e.g. `node: \"/perception_node\"`, or `node: \"*\"` for any"
    );
}

#[test]
fn a_name_must_be_a_pattern_without_spaces() {
    assert_eq!(
        problem(
            "process_status",
            "    process: \"web server\"\n    status: missing\n"
        ),
        "x.yaml:5:14: error: invalid name pattern `web server` in `process`\n  \
         hint: write a name of at most 200 characters without spaces, where `*` matches \
         anything, e.g. `process: nginx`"
    );
}

#[test]
fn a_missing_status_is_reported() {
    assert_eq!(
        problem("node_status", "    node: \"*\"\n"),
        "x.yaml:2:5: error: missing required field `status`\n  \
         hint: add what to watch for: `status:` with one of missing, restarted, oom_killed, crash_loop"
    );
}

#[test]
fn an_unknown_status_gets_a_suggestion() {
    assert_eq!(
        problem("node_status", "    node: \"*\"\n    status: mising\n"),
        "x.yaml:6:13: error: unknown status `mising`\n  \
         hint: did you mean `missing`? use one of missing, restarted, oom_killed, crash_loop"
    );
}

#[test]
fn a_node_cannot_be_oom_killed() {
    assert_eq!(
        problem("node_status", "    node: \"*\"\n    status: oom_killed\n"),
        "x.yaml:6:13: error: `status: oom_killed` is for processes: no event names a node the kernel killed\n  \
         hint: watch the node's program with `type: process_status` and `process:` its command \
         name as the kernel logs it"
    );
}

#[test]
fn process_is_not_a_field_of_node_status() {
    let err = problem("node_status", "    process: nginx\n    status: missing\n");
    assert!(
        err.starts_with("x.yaml:2:5: error: missing required field `node`"),
        "{err}"
    );
    assert!(
        err.contains("x.yaml:5:5: error: unknown field `process`"),
        "{err}"
    );
}

#[test]
fn restarts_must_be_a_count_from_two() {
    assert_eq!(
        problem(
            "process_status",
            "    process: nginx\n    status: crash_loop\n    restarts: 1\n"
        ),
        "x.yaml:7:15: error: `restarts` must be a whole number from 2 to 100, found the number `1`\n  \
         hint: write e.g. `restarts: 3`"
    );
}

#[test]
fn window_must_be_positive_seconds() {
    assert_eq!(
        problem(
            "process_status",
            "    process: nginx\n    status: crash_loop\n    window: -5\n"
        ),
        "x.yaml:7:13: error: `window` must not be negative, found `-5`\n  \
         hint: give a number of seconds, e.g. `window: 300`"
    );
}

#[test]
fn hold_must_be_positive_seconds() {
    assert_eq!(
        problem(
            "process_status",
            "    process: nginx\n    status: restarted\n    hold: 0\n"
        ),
        "x.yaml:7:11: error: `hold` must be more than 0, found `0`\n  \
         hint: give a number of seconds, e.g. `hold: 60`"
    );
}

#[test]
fn hold_has_no_meaning_for_a_crash_loop() {
    assert_eq!(
        problem(
            "process_status",
            "    process: nginx\n    status: crash_loop\n    hold: 60\n"
        ),
        "x.yaml:7:11: error: `hold` has no meaning with `status: crash_loop`\n  \
         hint: remove it: a crash loop holds while `restarts` restarts fall within `window` seconds"
    );
}

#[test]
fn window_has_no_meaning_for_a_restart() {
    assert_eq!(
        problem(
            "process_status",
            "    process: nginx\n    status: restarted\n    window: 60\n"
        ),
        "x.yaml:7:13: error: `window` has no meaning with `status: restarted`\n  \
         hint: remove it, or use `status: crash_loop` to count restarts within a window"
    );
}

#[test]
fn restarts_have_no_meaning_for_missing() {
    assert_eq!(
        problem(
            "node_status",
            "    node: \"*\"\n    status: missing\n    restarts: 3\n"
        ),
        "x.yaml:7:15: error: `restarts` has no meaning with `status: missing`\n  \
         hint: remove it: a missing node holds until it is seen again"
    );
}
