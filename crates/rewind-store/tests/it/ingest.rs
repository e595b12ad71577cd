//! Ingest: open, join, already stored, conflict; resolved incidents take no
//! occurrences; concurrent ingests make one incident.

use rewind_model::{BundleId, Change, IncidentId, IncidentStatus, Severity, Timestamp};
use rewind_store::{Error, IncidentFilter, IngestOutcome, TransitionChange};

use crate::{backends, bundle, bundle_of, trigger};

fn to(to: IncidentStatus, at_ms: i64) -> TransitionChange {
    TransitionChange {
        to,
        actor: "alice".into(),
        reason: Some("checked".into()),
        at: Timestamp::from_unix_millis(at_ms),
    }
}

#[tokio::test]
async fn a_first_bundle_opens_an_incident_that_reads_back_whole() {
    for b in backends().await {
        let new = bundle_of(
            "robot-1",
            trigger(
                "CPU saturated",
                1_000,
                Severity::High,
                &[("service", "planner")],
            ),
        );
        let got = b.store.ingest(&new).await.unwrap();
        assert_eq!(got.outcome, IngestOutcome::Opened, "{}", b.name());
        let s = &got.incident;
        assert_eq!(s.status, IncidentStatus::Open);
        assert_eq!(s.occurrences, 1);
        assert_eq!(s.bundle_id, new.bundle_id);
        assert_eq!(s.fingerprint, new.fingerprint);
        assert_eq!(s.service.as_deref(), Some("planner"));
        assert_eq!(s.fleet.as_deref(), Some("warehouse"));
        assert_eq!(s.triggered_at, new.trigger.fired_at);
        assert_eq!(s.last_triggered_at, new.trigger.fired_at);
        assert_eq!(s.window, new.window);
        assert_eq!(s.received_at, new.received_at);
        assert_eq!(s.updated_at, new.received_at);
        assert_eq!(s.bundle_bytes, 4096);
        assert_eq!(s.reopened_from, None);

        let rec = b.store.get_incident(s.id).await.unwrap();
        assert_eq!(&rec.summary, s, "{}", b.name());
        assert_eq!(rec.trigger, new.trigger, "{}", b.name());
        assert_eq!(rec.latest_blob_key, new.blob_key);
        assert_eq!(rec.reopened_as, None);
        assert_eq!(rec.bundles.len(), 1);
        assert_eq!(rec.bundles[0].bundle_id, new.bundle_id);
        assert_eq!(rec.bundles[0].sha256, new.sha256);

        let stored = b.store.bundle(new.bundle_id).await.unwrap().unwrap();
        assert_eq!(stored.incident_id, s.id);
        assert_eq!(stored.blob_key, new.blob_key);
        assert_eq!(stored.device_id, new.device_id);
        assert!(b.store.bundle(BundleId::new_v7()).await.unwrap().is_none());

        let timeline = b.store.timeline(s.id).await.unwrap();
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].seq, 1);
        assert_eq!(timeline[0].actor, "device:robot-1");
        assert_eq!(
            timeline[0].change,
            Change::Opened {
                bundle_id: new.bundle_id,
                triggered_at: new.trigger.fired_at,
                reopened_from: None,
                reason: None
            }
        );
    }
}

#[tokio::test]
async fn the_same_fingerprint_joins_as_an_occurrence() {
    for b in backends().await {
        let first = bundle("robot-1", 1_000);
        let opened = b.store.ingest(&first).await.unwrap().incident;
        let mut second = bundle("robot-1", 5_000);
        second.bytes = 9000;
        let joined = b.store.ingest(&second).await.unwrap();
        assert_eq!(joined.outcome, IngestOutcome::Joined, "{}", b.name());
        let s = joined.incident;
        assert_eq!(s.id, opened.id);
        assert_eq!(s.occurrences, 2);
        assert_eq!(
            s.triggered_at, first.trigger.fired_at,
            "first trigger stays"
        );
        assert_eq!(s.last_triggered_at, second.trigger.fired_at);
        assert_eq!(s.bundle_id, second.bundle_id);
        assert_eq!(s.bundle_bytes, 9000);
        assert_eq!(s.updated_at, second.received_at);
        assert_eq!(s.summary, opened.summary);

        // An older trigger arriving late does not move last_triggered_at back.
        let late = bundle("robot-1", 2_000);
        let s = b.store.ingest(&late).await.unwrap().incident;
        assert_eq!(s.occurrences, 3);
        assert_eq!(s.last_triggered_at, second.trigger.fired_at);

        let rec = b.store.get_incident(s.id).await.unwrap();
        let ids: Vec<_> = rec.bundles.iter().map(|r| r.bundle_id).collect();
        // Oldest received first.
        assert_eq!(ids, [first.bundle_id, late.bundle_id, second.bundle_id]);
        assert_eq!(
            rec.latest_blob_key, late.blob_key,
            "the last ingested bundle"
        );
        assert_eq!(rec.trigger, first.trigger);

        let timeline = b.store.timeline(s.id).await.unwrap();
        let kinds: Vec<_> = timeline
            .iter()
            .map(|e| (e.seq, matches!(e.change, Change::Occurrence { .. })))
            .collect();
        assert_eq!(kinds, [(1, false), (2, true), (3, true)], "{}", b.name());
        assert_eq!(
            timeline[1].change,
            Change::Occurrence {
                bundle_id: second.bundle_id,
                triggered_at: second.trigger.fired_at
            }
        );

        // Another device or another label set is another incident.
        let other = b.store.ingest(&bundle("robot-2", 6_000)).await.unwrap();
        assert_eq!(other.outcome, IngestOutcome::Opened);
        let labelled = bundle_of(
            "robot-1",
            trigger("CPU saturated", 7_000, Severity::High, &[("service", "x")]),
        );
        assert_eq!(
            b.store.ingest(&labelled).await.unwrap().outcome,
            IngestOutcome::Opened
        );
        let all = b
            .store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(all.incidents.len(), 3, "{}", b.name());
    }
}

#[tokio::test]
async fn a_bundle_stored_twice_is_already_stored_and_another_hash_conflicts() {
    for b in backends().await {
        let first = bundle("robot-1", 1_000);
        let opened = b.store.ingest(&first).await.unwrap().incident;
        b.store.ingest(&bundle("robot-1", 2_000)).await.unwrap();

        let again = b.store.ingest(&first).await.unwrap();
        assert_eq!(again.outcome, IngestOutcome::AlreadyStored, "{}", b.name());
        assert_eq!(again.incident.id, opened.id);
        assert_eq!(again.incident.occurrences, 2, "nothing changed");
        assert_eq!(b.store.timeline(opened.id).await.unwrap().len(), 2);

        let mut tampered = first.clone();
        tampered.sha256 = "cd".repeat(32);
        let err = b.store.ingest(&tampered).await.unwrap_err();
        assert!(
            matches!(err, Error::BundleConflict { bundle_id } if bundle_id == first.bundle_id),
            "{}: {err:?}",
            b.name()
        );
        let rec = b.store.get_incident(opened.id).await.unwrap();
        assert_eq!(rec.summary.occurrences, 2);
        assert_eq!(rec.bundles.len(), 2);
    }
}

#[tokio::test]
async fn a_resolved_incident_takes_no_occurrences_a_new_one_opens() {
    for b in backends().await {
        let first = b
            .store
            .ingest(&bundle("robot-1", 1_000))
            .await
            .unwrap()
            .incident;
        b.store
            .transition(first.id, &to(IncidentStatus::Resolved, 2_000))
            .await
            .unwrap();
        let next = b.store.ingest(&bundle("robot-1", 3_000)).await.unwrap();
        assert_eq!(next.outcome, IngestOutcome::Opened, "{}", b.name());
        assert_ne!(next.incident.id, first.id);
        assert_eq!(next.incident.fingerprint, first.fingerprint);
        assert_eq!(next.incident.reopened_from, None);
        let old = b.store.get_incident(first.id).await.unwrap().summary;
        assert_eq!(old.occurrences, 1);
        assert_eq!(old.status, IncidentStatus::Resolved);
        // The new one takes the next occurrence.
        let joined = b.store.ingest(&bundle("robot-1", 4_000)).await.unwrap();
        assert_eq!(joined.outcome, IngestOutcome::Joined);
        assert_eq!(joined.incident.id, next.incident.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingests_of_one_fingerprint_make_one_incident() {
    for b in backends().await {
        let bundles: Vec<_> = (0..12).map(|i| bundle("robot-1", 1_000 + i)).collect();
        let dup = bundles[0].clone();
        let mut tasks = Vec::new();
        for new in bundles.iter().cloned().chain([dup.clone(), dup]) {
            let store = b.store.clone();
            tasks.push(tokio::spawn(async move { store.ingest(&new).await }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap().unwrap().outcome);
        }
        let count = |o| outcomes.iter().filter(|x| **x == o).count();
        assert_eq!(
            count(IngestOutcome::Opened),
            1,
            "{}: {outcomes:?}",
            b.name()
        );
        assert_eq!(count(IngestOutcome::Joined), 11, "{}", b.name());
        assert_eq!(count(IngestOutcome::AlreadyStored), 2, "{}", b.name());
        let all = b
            .store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(all.incidents.len(), 1);
        assert_eq!(all.incidents[0].occurrences, 12);
        let timeline = b.store.timeline(all.incidents[0].id).await.unwrap();
        let seqs: Vec<u32> = timeline.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
        assert_eq!(
            rewind_model::timeline::replay(&timeline)
                .unwrap()
                .occurrences,
            12
        );
    }
}

#[tokio::test]
async fn a_missing_incident_is_not_found() {
    for b in backends().await {
        let id = IncidentId::new_v7();
        assert!(matches!(
            b.store.get_incident(id).await.unwrap_err(),
            Error::NotFound { .. }
        ));
        assert!(matches!(
            b.store.timeline(id).await.unwrap_err(),
            Error::NotFound { .. }
        ));
        b.store.ping().await.unwrap();
    }
}
