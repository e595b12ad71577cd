use rewind_model::{Event, EventKind};

use crate::logsig::template_key;

use super::*;

/// 2026-03-30T14:00:00Z plus `seconds`.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_774_879_200_000 + seconds * 1000)
}

/// Ten minutes before a deploy at 14:10:00 and five after.
fn windows() -> Windows {
    Windows::new(at(0), at(600), at(900)).unwrap()
}

/// `per_minute` lines a minute over `[from, to)` seconds, evenly spread.
fn spread(
    lines: &mut Vec<(Timestamp, String)>,
    from: i64,
    to: i64,
    per_minute: i64,
    text: impl Fn(i64) -> String,
) {
    let step = 60 / per_minute;
    let mut t = from;
    while t < to {
        lines.push((at(t), text(t)));
        t += step;
    }
}

fn run(lines: &[(Timestamp, String)], config: &CompareConfig) -> SignatureReport {
    let lines = lines
        .iter()
        .map(|(ts, text)| LogLine::new(*ts, Some(Level::Error), "app", text));
    compare(lines, &windows(), config).unwrap()
}

#[test]
fn new_jumped_and_unchanged_signatures_are_told_apart() {
    let mut lines = Vec::new();
    // Steady: 2/min before and after.
    spread(&mut lines, 0, 900, 2, |t| {
        format!("cache miss for key k{t} after {t}ms")
    });
    // Jumps: 2/min before, 20/min after.
    spread(&mut lines, 0, 600, 2, |t| {
        format!("upstream 10.0.0.{} timed out", t % 200)
    });
    spread(&mut lines, 600, 900, 20, |t| {
        format!("upstream 10.0.0.{} timed out", t % 200)
    });
    // New: 37 lines after, none before.
    for i in 0..37 {
        lines.push((
            at(605 + i * 5),
            format!("connection to 10.1.2.{i}:5432 refused after {i}0 ms"),
        ));
    }
    // 1 → 2 lines is no jump.
    lines.push((at(30), "disk /dev/sda1 nearly full".to_owned()));
    lines.push((at(700), "disk /dev/sdb1 nearly full".to_owned()));
    lines.push((at(800), "disk /dev/sdc1 nearly full".to_owned()));
    // Gone after the deploy: not a change.
    spread(&mut lines, 0, 600, 6, |t| format!("retrying job {t}"));
    lines.sort_by_key(|(ts, _)| *ts);

    let report = run(&lines, &CompareConfig::default());
    let got: Vec<_> = report
        .changes
        .iter()
        .map(|c| (c.kind, c.template.as_str(), c.count_before, c.count_after))
        .collect();
    assert_eq!(
        got,
        [
            (ChangeKind::RateJump, "upstream <IP> timed out", 20, 100),
            (
                ChangeKind::New,
                "connection to <IP> refused after <NUM> ms",
                0,
                37
            ),
        ]
    );
    let jump = &report.changes[0];
    assert_eq!(jump.rate_before_per_min, 2.0);
    assert_eq!(jump.rate_after_per_min, 20.0);
    assert_eq!(jump.ratio, Some(10.0));
    assert!(jump.p_value < 1e-20, "{}", jump.p_value);
    let new = &report.changes[1];
    assert_eq!(
        new.summary(),
        "new after the deploy: `connection to <IP> refused after <NUM> ms` (37 times, first 14:10:05)"
    );
    assert_eq!(
        new.example,
        "connection to 10.1.2.0:5432 refused after 00 ms"
    );
    assert_eq!(new.first_after, at(605));
    assert_eq!(new.first_seen, at(605));
    assert_eq!(new.sources, ["app"]);
    assert_eq!(new.ratio, None);
    assert_eq!(
        jump.summary(),
        "more frequent after the deploy: `upstream <IP> timed out` at 20/min, was 2/min \
         (100 times after, 20 times before; first after the deploy 14:10:00)"
    );
    let counts = &report.counts;
    assert_eq!(counts.templates, 5);
    assert_eq!(counts.unchanged, 2, "the cache misses and the disk");
    assert_eq!(counts.new_below_min_count, 0);
    assert_eq!(counts.mined_before + counts.mined_after, counts.lines);
}

#[test]
fn a_new_signature_needs_min_count_lines() {
    let mut lines = vec![(at(10), "steady error".to_owned())];
    lines.push((at(610), "brand new failure in 10.0.0.1".to_owned()));
    lines.push((at(620), "brand new failure in 10.0.0.2".to_owned()));
    let report = run(&lines, &CompareConfig::default());
    assert!(report.changes.is_empty());
    assert_eq!(report.counts.new_below_min_count, 1);
    let once = CompareConfig {
        min_count: 1,
        ..CompareConfig::default()
    };
    let report = run(&lines, &once);
    assert_eq!(report.changes.len(), 1);
    assert_eq!(
        report.changes[0].summary(),
        "new after the deploy: `brand new failure in <IP>` (2 times, first 14:10:10)"
    );
}

#[test]
fn a_small_ratio_or_an_insignificant_count_is_no_jump() {
    let mut lines = Vec::new();
    // 2/min → 4/min: doubled, below the ratio of 3.
    spread(&mut lines, 0, 600, 2, |_| "pool exhausted".to_owned());
    spread(&mut lines, 600, 900, 4, |_| "pool exhausted".to_owned());
    // 1 line → 3 lines: a ratio of 6 (windows differ), but 3 lines prove little.
    lines.push((at(100), "odd failure".to_owned()));
    for t in [700, 750, 800] {
        lines.push((at(t), "odd failure".to_owned()));
    }
    let report = run(&lines, &CompareConfig::default());
    assert!(report.changes.is_empty(), "{:#?}", report.changes);
    assert_eq!(report.counts.unchanged, 2);
}

#[test]
fn only_error_like_lines_are_mined_by_default() {
    let line = |ts, level, text| LogLine::new(ts, level, "svc", text);
    let lines = [
        line(at(1), Some(Level::Info), "served request"),
        line(at(2), Some(Level::Info), "Request TIMED OUT upstream"),
        line(at(3), None, "java.lang.NullPointerException at Foo"),
        line(at(4), None, "all good"),
        line(at(5), Some(Level::Warning), "slow disk"),
        line(at(6), Some(Level::Debug), "kernel panic"),
        line(at(-5), Some(Level::Error), "too early"),
        line(at(900), Some(Level::Error), "too late"),
    ];
    let report = compare(lines, &windows(), &CompareConfig::default()).unwrap();
    let c = &report.counts;
    assert_eq!(
        (c.lines, c.outside_windows, c.filtered_out, c.mined_before),
        (8, 2, 2, 4)
    );
    let all = CompareConfig {
        filter: LineFilter::All,
        ..CompareConfig::default()
    };
    let report = compare(lines, &windows(), &all).unwrap();
    assert_eq!(
        (report.counts.filtered_out, report.counts.mined_before),
        (0, 6)
    );
}

#[test]
fn events_are_lines() {
    let event = Event::new(at(620), "journal", EventKind::Log, Level::Error, "boom 1");
    let line = LogLine::from(&event);
    assert_eq!(
        (line.ts, line.level, line.source, line.text),
        (at(620), Some(Level::Error), "journal", "boom 1")
    );
}

#[test]
fn the_report_serialises_for_the_command_line() {
    let mut lines = Vec::new();
    for i in 0..3 {
        lines.push((at(600 + i), format!("panic: worker {i} crashed")));
    }
    let report = run(&lines, &CompareConfig::default());
    // The CLI prints JSON; serde-saphyr (already a dependency) shows the
    // same field names and values without adding serde_json here.
    let text = serde_saphyr::to_string(&report).unwrap();
    let key = template_key("panic: worker <NUM> crashed");
    for want in [
        r#"deploy_at: "2026-03-30T14:10:00Z""#,
        "kind: new",
        "template_id: 1",
        r#"template: "panic: worker <NUM> crashed""#,
        &format!("key: {key}"),
        r#"first_after: "2026-03-30T14:10:00Z""#,
        "mined_after: 3",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert!(
        !text.contains("ratio"),
        "no ratio for a new signature:\n{text}"
    );
}

#[test]
fn changes_are_sorted_by_significance_and_cut_to_max_reported() {
    let mut lines = Vec::new();
    for (name, n) in [("alpha", 5), ("bravo", 50), ("charlie", 12)] {
        for i in 0..n {
            lines.push((at(600 + i), format!("{name} failed to start unit")));
        }
    }
    let config = CompareConfig {
        max_reported: 2,
        ..CompareConfig::default()
    };
    let report = run(&lines, &config);
    let order: Vec<_> = report.changes.iter().map(|c| c.count_after).collect();
    assert_eq!(order, [50, 12]);
    assert_eq!(report.counts.not_reported, 1);
    assert!(report.changes[0].significance > report.changes[1].significance);
}

#[test]
fn bad_windows_and_settings_are_refused() {
    assert!(matches!(
        Windows::new(at(10), at(10), at(20)),
        Err(ConfigError::Windows { .. })
    ));
    assert!(Windows::new(at(30), at(20), at(40)).is_err());
    let bad = CompareConfig {
        jump_ratio: 0.5,
        ..CompareConfig::default()
    };
    let err = compare([], &windows(), &bad).unwrap_err();
    assert_eq!(err.to_string(), "jump_ratio must be at least 1, got 0.5");
    let bad = CompareConfig {
        max_p_value: 0.0,
        ..CompareConfig::default()
    };
    assert!(compare([], &windows(), &bad).is_err());
}
