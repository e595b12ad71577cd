//! The incident list: every filter, and keyset paging over a few hundred
//! incidents (pages disjoint, their union everything, newest first).

use std::collections::HashSet;

use rewind_model::{DeviceId, IncidentStatus, IncidentSummary, Severity, Timestamp};
use rewind_store::{Cursor, IncidentFilter, Store};

use crate::{backends, bundle_of, lifecycle::to, trigger};

const RULES: [&str; 4] = ["Disk_Full", "Disk full", "CPU saturated", "Net 100% loss"];

/// Stores `n` incidents varying every filtered field, with triggers three
/// to a timestamp (ties broken by id). Returns them as stored.
async fn seed(store: &dyn Store, n: usize) -> Vec<IncidentSummary> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at_ms = 1_000_000 + i64::try_from(i / 3).unwrap() * 1_000;
        let severity = Severity::ALL[i % Severity::ALL.len()];
        let n_label = i.to_string();
        let mut labels = vec![("n", n_label.as_str())];
        if i % 3 != 0 {
            labels.push(("service", if i % 3 == 1 { "planner" } else { "lidar" }));
        }
        let mut new = bundle_of(
            &format!("robot-{}", i % 5),
            trigger(RULES[i % RULES.len()], at_ms, severity, &labels),
        );
        new.fleet = (i % 7 != 0).then(|| if i % 2 == 0 { "north" } else { "south" }.to_owned());
        let id = store.ingest(&new).await.unwrap().incident.id;
        let status = match i % 4 {
            0 => IncidentStatus::Open,
            1 => IncidentStatus::Acknowledged,
            2 => IncidentStatus::Mitigated,
            _ => IncidentStatus::Resolved,
        };
        if status != IncidentStatus::Open {
            store.transition(id, &to(status, at_ms + 10)).await.unwrap();
        }
        out.push(store.get_incident(id).await.unwrap().summary);
    }
    out.sort_by_key(|i| std::cmp::Reverse((i.triggered_at, i.id)));
    out
}

/// Every page of `filter` with `limit`, checking each page on the way.
async fn all_pages(store: &dyn Store, filter: &IncidentFilter, limit: u32) -> Vec<IncidentSummary> {
    let mut out: Vec<IncidentSummary> = Vec::new();
    let mut seen = HashSet::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..1_000 {
        let page = store
            .list_incidents(&IncidentFilter {
                after,
                limit,
                ..filter.clone()
            })
            .await
            .unwrap();
        assert!(page.incidents.len() <= limit as usize);
        for i in &page.incidents {
            assert!(seen.insert(i.id), "pages overlap at {}", i.id);
        }
        out.extend(page.incidents.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.incidents.len(),
                    limit as usize,
                    "only the last page is short"
                );
                let last = page.incidents.last().unwrap();
                assert_eq!(
                    next,
                    Cursor {
                        triggered_at: last.triggered_at.as_unix_nanos(),
                        id: last.id
                    }
                );
                // The cursor survives its text form.
                after = Some(next.to_string().parse().unwrap());
            }
            None => return out,
        }
    }
    panic!("paging did not end");
}

fn ids(v: &[IncidentSummary]) -> Vec<String> {
    v.iter()
        .map(|i| format!("{} {} {}", i.triggered_at.as_unix_millis(), i.id, i.rule))
        .collect()
}

#[tokio::test]
async fn every_filter_pages_through_exactly_its_incidents_newest_first() {
    for b in backends().await {
        let all = seed(b.store.as_ref(), 300).await;
        let ms = Timestamp::from_unix_millis;
        type Pred = Box<dyn Fn(&IncidentSummary) -> bool>;
        let cases: Vec<(&str, IncidentFilter, Pred)> = vec![
            ("everything", IncidentFilter::default(), Box::new(|_| true)),
            (
                "open",
                IncidentFilter {
                    statuses: vec![IncidentStatus::Open],
                    ..Default::default()
                },
                Box::new(|i| i.status == IncidentStatus::Open),
            ),
            (
                "acknowledged or mitigated",
                IncidentFilter {
                    statuses: vec![IncidentStatus::Acknowledged, IncidentStatus::Mitigated],
                    ..Default::default()
                },
                Box::new(|i| {
                    matches!(
                        i.status,
                        IncidentStatus::Acknowledged | IncidentStatus::Mitigated
                    )
                }),
            ),
            (
                "high and above",
                IncidentFilter {
                    min_severity: Some(Severity::High),
                    ..Default::default()
                },
                Box::new(|i| i.severity >= Severity::High),
            ),
            (
                "fleet",
                IncidentFilter {
                    fleet: Some("north".into()),
                    ..Default::default()
                },
                Box::new(|i| i.fleet.as_deref() == Some("north")),
            ),
            (
                "device",
                IncidentFilter {
                    device_id: Some(DeviceId::new("robot-3").unwrap()),
                    ..Default::default()
                },
                Box::new(|i| i.device_id.as_str() == "robot-3"),
            ),
            (
                "service",
                IncidentFilter {
                    service: Some("planner".into()),
                    ..Default::default()
                },
                Box::new(|i| i.service.as_deref() == Some("planner")),
            ),
            (
                "rule",
                IncidentFilter {
                    rule: Some("Disk full".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule == "Disk full"),
            ),
            (
                "since",
                IncidentFilter {
                    since: Some(ms(1_050_000)),
                    ..Default::default()
                },
                Box::new(move |i| i.triggered_at >= ms(1_050_000)),
            ),
            (
                "until",
                IncidentFilter {
                    until: Some(ms(1_020_000)),
                    ..Default::default()
                },
                Box::new(move |i| i.triggered_at < ms(1_020_000)),
            ),
            (
                "since and until",
                IncidentFilter {
                    since: Some(ms(1_010_000)),
                    until: Some(ms(1_030_000)),
                    ..Default::default()
                },
                Box::new(move |i| {
                    i.triggered_at >= ms(1_010_000) && i.triggered_at < ms(1_030_000)
                }),
            ),
            (
                "text, any case",
                IncidentFilter {
                    text: Some("cpu SAT".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule == "CPU saturated"),
            ),
            (
                "text with a literal underscore",
                IncidentFilter {
                    text: Some("k_f".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule == "Disk_Full"),
            ),
            (
                "text with a literal percent",
                IncidentFilter {
                    text: Some("0% L".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule == "Net 100% loss"),
            ),
            (
                "text in the summary",
                IncidentFilter {
                    text: Some("BUSY_PCT stayed".into()),
                    ..Default::default()
                },
                Box::new(|_| true),
            ),
            (
                "text that is a wildcard",
                IncidentFilter {
                    text: Some("%".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule.contains('%')),
            ),
            (
                "text of two characters",
                IncidentFilter {
                    text: Some("sK".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule.starts_with("Disk")),
            ),
            (
                "text with a literal percent and underscore",
                IncidentFilter {
                    text: Some("Y_PCT stayed above 80 for 2.0 s (net 100%".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule == "Net 100% loss"),
            ),
            (
                "text with wildcards that would match, no match",
                IncidentFilter {
                    text: Some("100%_".into()),
                    ..Default::default()
                },
                Box::new(|_| false),
            ),
            (
                "text in the summary only, mixed case",
                IncidentFilter {
                    text: Some("(disk_FULL)".into()),
                    ..Default::default()
                },
                Box::new(|i| i.rule == "Disk_Full"),
            ),
            (
                "text in resolved incidents",
                IncidentFilter {
                    statuses: vec![IncidentStatus::Resolved],
                    text: Some("100% LOSS".into()),
                    ..Default::default()
                },
                Box::new(|i| i.status == IncidentStatus::Resolved && i.rule == "Net 100% loss"),
            ),
            (
                "status and device",
                IncidentFilter {
                    statuses: vec![IncidentStatus::Open, IncidentStatus::Resolved],
                    device_id: Some(DeviceId::new("robot-1").unwrap()),
                    ..Default::default()
                },
                Box::new(|i| {
                    matches!(i.status, IncidentStatus::Open | IncidentStatus::Resolved)
                        && i.device_id.as_str() == "robot-1"
                }),
            ),
            (
                "everything narrowed at once",
                IncidentFilter {
                    statuses: vec![IncidentStatus::Open, IncidentStatus::Mitigated],
                    min_severity: Some(Severity::Low),
                    fleet: Some("north".into()),
                    service: Some("lidar".into()),
                    since: Some(ms(1_000_000)),
                    until: Some(ms(1_090_000)),
                    text: Some("disk".into()),
                    ..Default::default()
                },
                Box::new(move |i| {
                    matches!(i.status, IncidentStatus::Open | IncidentStatus::Mitigated)
                        && i.severity >= Severity::Low
                        && i.fleet.as_deref() == Some("north")
                        && i.service.as_deref() == Some("lidar")
                        && i.triggered_at < ms(1_090_000)
                        && i.rule.starts_with("Disk")
                }),
            ),
        ];
        for (name, filter, pred) in &cases {
            let expected: Vec<_> = all.iter().filter(|i| pred(i)).cloned().collect();
            if !name.contains("no match") {
                assert!(!expected.is_empty(), "{name}: the seed covers this filter");
            }
            for limit in [7, 1_000] {
                let got = all_pages(b.store.as_ref(), filter, limit).await;
                assert_eq!(
                    ids(&got),
                    ids(&expected),
                    "{}: {name}, limit {limit}",
                    b.name()
                );
            }
        }
        // A page with room for everything has no next cursor; limit 0 means 1.
        let page = b
            .store
            .list_incidents(&IncidentFilter {
                limit: 300,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.incidents.len(), 300);
        assert_eq!(page.next, None);
        let page = b
            .store
            .list_incidents(&IncidentFilter {
                limit: 0,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.incidents.len(), 1);
    }
}

/// Whether `i` passes the text filter as the store defines it: the rule or
/// the summary contains `text`, ASCII case-insensitively.
fn contains_text(i: &IncidentSummary, text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [&i.rule, &i.summary]
        .iter()
        .any(|s| s.to_ascii_lowercase().contains(&text))
}

/// Text search over a few thousand incidents, enough that a rare text is
/// answered by the text index and a common one by the walk down the time
/// index: both page exactly like the filter says. The incidents are written
/// before migration 0003 (which must index them) and then edited and
/// deleted behind the store's back (which its triggers must follow).
#[tokio::test]
async fn text_search_by_index_or_by_time_pages_exactly() {
    let (sqlite, _dir) = crate::sqlite_location();
    let mut locations = vec![sqlite];
    if let Some(url) = crate::pg_url() {
        locations.push(crate::Location::Postgres {
            url,
            schema: crate::pg_schema(),
        });
    }
    for location in locations {
        // Three incidents a timestamp, so pages break inside ties.
        let seed = crate::schema::bulk_seed_sql(&location, 3_000)
            .replace("i * 1000000000", "(i / 3) * 1000000000");
        crate::schema::database_at(&location, 2, &[seed]).await;
        let b = crate::Backend {
            store: crate::open_at(&location).await,
            location: location.clone(),
            _dir: None,
        };
        let store = b.store.as_ref();
        let name = store.backend();
        let id = |i: u32| format!("00000000-0000-7000-8000-{i:012}");
        let raw = |sql: String| {
            let b = &b;
            async move { b.execute_raw(&sql).await.unwrap() }
        };
        // Behind the store's back: a new summary for an old open incident, a
        // new rule for another, one incident gone.
        let n = raw(format!(
            "UPDATE incidents SET summary = 'Zebra crossing: 50%_off' WHERE id = '{}'",
            id(1_000)
        ))
        .await;
        assert_eq!(n, 1);
        raw(format!(
            "UPDATE incidents SET rule = 'Brake_Fault', occurrences = 2 WHERE id = '{}'",
            id(1_010)
        ))
        .await;
        raw(format!("DELETE FROM incidents WHERE id = '{}'", id(1_234))).await;
        let all = all_pages(store, &IncidentFilter::default(), 5_000).await;
        assert_eq!(all.len(), 2_999, "{name}");

        let cases: Vec<(&str, IncidentFilter)> = vec![
            ("rare text, old", text("incident 12")),
            ("rare text, one row", text("INCIDENT 2345")),
            ("common text, new", text("incident 29")),
            ("common text, everywhere", text("SUMMARY of")),
            ("text in the rule, mixed case", text("RuLe-1")),
            ("text of two characters", text("t 7")),
            ("absent text", text("no such words")),
            ("absent text with wildcards", text("incident 1_3%")),
            ("edited summary", text("ZEBRA CROSSING: 50%_")),
            ("old summary, edited away", text("incident 1000")),
            ("edited rule", text("brake_f")),
            ("deleted", text("incident 1234")),
            (
                "rare text, resolved",
                IncidentFilter {
                    statuses: vec![IncidentStatus::Resolved],
                    text: Some("incident 11".into()),
                    ..Default::default()
                },
            ),
            (
                "common text, one device",
                IncidentFilter {
                    device_id: Some(DeviceId::new("robot-7").unwrap()),
                    text: Some("summary".into()),
                    ..Default::default()
                },
            ),
            (
                "rare text, window and since",
                IncidentFilter {
                    since: Some(Timestamp::from_unix_nanos(
                        1_700_000_000_000_000_000 + 400 * 1_000_000_000,
                    )),
                    text: Some("incident 1".into()),
                    ..Default::default()
                },
            ),
        ];
        for (what, filter) in &cases {
            let t = filter.text.as_deref().unwrap();
            let expected: Vec<_> = all
                .iter()
                .filter(|i| contains_text(i, t))
                .filter(|i| filter.statuses.is_empty() || filter.statuses.contains(&i.status))
                .filter(|i| filter.device_id.as_ref().is_none_or(|d| *d == i.device_id))
                .filter(|i| filter.since.is_none_or(|s| i.triggered_at >= s))
                .cloned()
                .collect();
            for limit in [7, 200] {
                let got = all_pages(store, filter, limit).await;
                assert_eq!(ids(&got), ids(&expected), "{name}: {what}, limit {limit}");
            }
        }
        let edited = all_pages(store, &text("zebra"), 10).await;
        assert_eq!(edited.len(), 1, "{name}");
        assert_eq!(edited[0].id.to_string(), id(1_000));
        assert_eq!(edited[0].summary, "Zebra crossing: 50%_off");
        if name == "sqlite" {
            // The FTS5 index agrees with the table it indexes.
            raw("INSERT INTO incidents_text (incidents_text) VALUES ('integrity-check')".into())
                .await;
        }
    }
}

fn text(t: &str) -> IncidentFilter {
    IncidentFilter {
        text: Some(t.into()),
        ..Default::default()
    }
}
