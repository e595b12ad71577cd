//! Transitions (allowed, refused with the allowed list, compare-and-set under
//! concurrency), notes and deploy links, reopening, and the timeline.

use rewind_model::{
    Change, DeployId, IncidentId, IncidentStatus, NewDeploy, Timestamp, timeline::replay,
};
use rewind_store::{Error, IncidentFilter, IngestOutcome, TransitionChange};

use crate::{backends, bundle};

use IncidentStatus::{Acknowledged, Mitigated, Open, Resolved};

pub(crate) fn to(to: IncidentStatus, at_ms: i64) -> TransitionChange {
    TransitionChange {
        to,
        actor: "alice".into(),
        reason: Some(format!("to {to}")),
        at: Timestamp::from_unix_millis(at_ms),
    }
}

#[tokio::test]
async fn transitions_follow_the_lifecycle_and_refusals_list_the_allowed_moves() {
    for b in backends().await {
        let id = b
            .store
            .ingest(&bundle("r", 1_000))
            .await
            .unwrap()
            .incident
            .id;
        let err = b.store.transition(id, &to(Open, 2_000)).await.unwrap_err();
        match err {
            Error::InvalidTransition { from, to, allowed } => {
                assert_eq!((from, to), (Open, Open), "{}", b.name());
                assert_eq!(allowed, [Acknowledged, Mitigated, Resolved]);
            }
            other => panic!("{}: {other:?}", b.name()),
        }
        let s = b
            .store
            .transition(id, &to(Acknowledged, 3_000))
            .await
            .unwrap();
        assert_eq!(s.status, Acknowledged);
        assert_eq!(s.updated_at, Timestamp::from_unix_millis(3_000));
        let s = b.store.transition(id, &to(Mitigated, 4_000)).await.unwrap();
        assert_eq!(s.status, Mitigated);
        let s = b
            .store
            .transition(id, &to(Acknowledged, 5_000))
            .await
            .unwrap();
        assert_eq!(s.status, Acknowledged, "a mitigation that did not hold");
        let s = b.store.transition(id, &to(Resolved, 6_000)).await.unwrap();
        assert_eq!(s.status, Resolved);
        let err = b
            .store
            .transition(id, &to(Acknowledged, 7_000))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidTransition { from: Resolved, allowed, .. } if allowed.is_empty()),
            "{}: {err:?}",
            b.name()
        );
        let missing = b
            .store
            .transition(IncidentId::new_v7(), &to(Acknowledged, 1))
            .await
            .unwrap_err();
        assert!(matches!(missing, Error::NotFound { .. }));

        let timeline = b.store.timeline(id).await.unwrap();
        let moves: Vec<_> = timeline
            .iter()
            .filter_map(|e| match &e.change {
                Change::Transition { from, to, reason } => {
                    Some((e.seq, *from, *to, reason.clone(), e.actor.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            moves,
            [
                (
                    2,
                    Open,
                    Acknowledged,
                    Some("to acknowledged".into()),
                    "alice".into()
                ),
                (
                    3,
                    Acknowledged,
                    Mitigated,
                    Some("to mitigated".into()),
                    "alice".into()
                ),
                (
                    4,
                    Mitigated,
                    Acknowledged,
                    Some("to acknowledged".into()),
                    "alice".into()
                ),
                (
                    5,
                    Acknowledged,
                    Resolved,
                    Some("to resolved".into()),
                    "alice".into()
                ),
            ],
            "{}",
            b.name()
        );
        assert_eq!(replay(&timeline).unwrap().status, Resolved);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_exactly_one_wins() {
    for b in backends().await {
        for round in 0..10 {
            let id = b
                .store
                .ingest(&bundle(&format!("r{round}"), 1_000))
                .await
                .unwrap()
                .incident
                .id;
            let (s1, s2) = (b.store.clone(), b.store.clone());
            let t1 = tokio::spawn(async move { s1.transition(id, &to(Acknowledged, 2_000)).await });
            let t2 = tokio::spawn(async move { s2.transition(id, &to(Acknowledged, 2_000)).await });
            let results = [t1.await.unwrap(), t2.await.unwrap()];
            let wins = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(wins, 1, "{}: {results:?}", b.name());
            let loss = results.into_iter().find_map(Result::err).unwrap();
            assert!(
                matches!(
                    loss,
                    Error::InvalidTransition {
                        from: Acknowledged,
                        to: Acknowledged,
                        ..
                    }
                ),
                "{}: {loss:?}",
                b.name()
            );
            let timeline = b.store.timeline(id).await.unwrap();
            assert_eq!(timeline.len(), 2, "{}", b.name());
            assert_eq!(replay(&timeline).unwrap().status, Acknowledged);
        }
    }
}

#[tokio::test]
async fn notes_and_deploy_links_go_on_the_timeline_until_resolved() {
    for b in backends().await {
        let id = b
            .store
            .ingest(&bundle("r", 1_000))
            .await
            .unwrap()
            .incident
            .id;
        let deploy = b
            .store
            .insert_deploy(
                &NewDeploy {
                    service: "planner".into(),
                    version: "2.1".into(),
                    environment: "production".into(),
                    commit: None,
                    actor: None,
                    at: None,
                },
                Timestamp::from_unix_millis(500),
            )
            .await
            .unwrap();
        let note = b
            .store
            .add_note(
                id,
                "bob",
                "looks like the planner",
                Timestamp::from_unix_millis(2_000),
            )
            .await
            .unwrap();
        assert_eq!(note.seq, 2, "{}", b.name());
        assert_eq!(
            note.change,
            Change::Note {
                text: "looks like the planner".into()
            }
        );
        let link = b
            .store
            .attach_deploy(id, deploy.id, "bob", Timestamp::from_unix_millis(3_000))
            .await
            .unwrap();
        assert_eq!(link.seq, 3);
        assert_eq!(
            link.change,
            Change::Deploy {
                deploy_id: deploy.id,
                service: "planner".into(),
                version: "2.1".into()
            }
        );
        assert_eq!(
            b.store.get_incident(id).await.unwrap().summary.updated_at,
            Timestamp::from_unix_millis(3_000)
        );
        let timeline = b.store.timeline(id).await.unwrap();
        assert_eq!(timeline[1], note);
        assert_eq!(timeline[2], link);

        let missing_deploy = b
            .store
            .attach_deploy(
                id,
                DeployId::new_v7(),
                "bob",
                Timestamp::from_unix_millis(4_000),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(missing_deploy, Error::NotFound { .. }),
            "{missing_deploy:?}"
        );
        let missing = b
            .store
            .add_note(
                IncidentId::new_v7(),
                "bob",
                "x",
                Timestamp::from_unix_millis(1),
            )
            .await
            .unwrap_err();
        assert!(matches!(missing, Error::NotFound { .. }));

        b.store.transition(id, &to(Resolved, 5_000)).await.unwrap();
        let before = b.store.get_incident(id).await.unwrap();
        let err = b
            .store
            .add_note(id, "bob", "late", Timestamp::from_unix_millis(6_000))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Immutable { id: i } if i == id),
            "{}: {err:?}",
            b.name()
        );
        let err = b
            .store
            .attach_deploy(id, deploy.id, "bob", Timestamp::from_unix_millis(6_000))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Immutable { .. }), "{err:?}");
        assert_eq!(b.store.get_incident(id).await.unwrap(), before);
        assert_eq!(b.store.timeline(id).await.unwrap().len(), 4);
    }
}

#[tokio::test]
async fn reopening_makes_a_linked_incident_and_leaves_the_old_one_alone() {
    for b in backends().await {
        let first = b.store.ingest(&bundle("r", 1_000)).await.unwrap().incident;
        let second = bundle("r", 2_000);
        b.store.ingest(&second).await.unwrap();

        let err = b
            .store
            .reopen(first.id, "alice", None, Timestamp::from_unix_millis(3_000))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidTransition { from: Open, to: Open, allowed } if allowed.len() == 3),
            "{}: {err:?}",
            b.name()
        );
        let err = b
            .store
            .reopen(
                IncidentId::new_v7(),
                "alice",
                None,
                Timestamp::from_unix_millis(3_000),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));

        b.store
            .transition(first.id, &to(Resolved, 4_000))
            .await
            .unwrap();
        let old_before = b.store.get_incident(first.id).await.unwrap();
        let old_timeline = b.store.timeline(first.id).await.unwrap();

        let at = Timestamp::from_unix_millis(5_000);
        let new = b
            .store
            .reopen(first.id, "alice", Some("it came back"), at)
            .await
            .unwrap();
        assert_ne!(new.id, first.id);
        assert_eq!(new.status, Open, "{}", b.name());
        assert_eq!(new.occurrences, 1);
        assert_eq!(new.reopened_from, Some(first.id));
        assert_eq!(new.fingerprint, first.fingerprint);
        assert_eq!(new.device_id, first.device_id);
        assert_eq!(new.rule, first.rule);
        assert_eq!(new.bundle_id, second.bundle_id, "the latest bundle");
        assert_eq!(new.triggered_at, first.triggered_at);
        assert_eq!(new.updated_at, at);

        let rec = b.store.get_incident(new.id).await.unwrap();
        assert_eq!(rec.trigger, old_before.trigger, "the first trigger");
        assert_eq!(rec.bundles.len(), 1);
        assert_eq!(rec.bundles[0].bundle_id, second.bundle_id);
        assert_eq!(rec.latest_blob_key, second.blob_key);
        let timeline = b.store.timeline(new.id).await.unwrap();
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].seq, 1);
        assert_eq!(timeline[0].actor, "alice");
        assert_eq!(
            timeline[0].change,
            Change::Opened {
                bundle_id: second.bundle_id,
                triggered_at: second.trigger.fired_at,
                reopened_from: Some(first.id),
                reason: Some("it came back".into()),
            }
        );

        // The old incident is untouched, and points at the new one.
        let old_after = b.store.get_incident(first.id).await.unwrap();
        assert_eq!(old_after.summary, old_before.summary);
        assert_eq!(old_after.reopened_as, Some(new.id), "{}", b.name());
        assert_eq!(b.store.timeline(first.id).await.unwrap(), old_timeline);

        // The reopened incident is the active one for the fingerprint.
        let joined = b.store.ingest(&bundle("r", 6_000)).await.unwrap();
        assert_eq!(joined.outcome, IngestOutcome::Joined);
        assert_eq!(joined.incident.id, new.id);

        // Reopening again while an active incident has the fingerprint conflicts.
        let err = b
            .store
            .reopen(first.id, "alice", None, Timestamp::from_unix_millis(7_000))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Conflict { .. }),
            "{}: {err:?}",
            b.name()
        );
        let all = b
            .store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(all.incidents.len(), 2);
        // Listed right above the incident it reopens (same trigger time, newer id).
        assert_eq!(all.incidents[0].id, new.id);
    }
}

#[tokio::test]
async fn the_timeline_is_in_order_without_gaps_and_replays_to_the_row() {
    for b in backends().await {
        let id = b
            .store
            .ingest(&bundle("r", 1_000))
            .await
            .unwrap()
            .incident
            .id;
        b.store.ingest(&bundle("r", 2_000)).await.unwrap();
        b.store
            .transition(id, &to(Acknowledged, 3_000))
            .await
            .unwrap();
        b.store
            .add_note(id, "bob", "n1", Timestamp::from_unix_millis(4_000))
            .await
            .unwrap();
        b.store.ingest(&bundle("r", 5_000)).await.unwrap();
        b.store.transition(id, &to(Mitigated, 6_000)).await.unwrap();
        let _ = b.store.transition(id, &to(Open, 7_000)).await.unwrap_err();
        b.store
            .add_note(id, "bob", "n2", Timestamp::from_unix_millis(8_000))
            .await
            .unwrap();
        let timeline = b.store.timeline(id).await.unwrap();
        let seqs: Vec<u32> = timeline.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=7).collect::<Vec<_>>(), "{}", b.name());
        let kinds: Vec<&str> = timeline
            .iter()
            .map(|e| match e.change {
                Change::Opened { .. } => "opened",
                Change::Occurrence { .. } => "occurrence",
                Change::Transition { .. } => "transition",
                Change::Note { .. } => "note",
                Change::Deploy { .. } => "deploy",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "opened",
                "occurrence",
                "transition",
                "note",
                "occurrence",
                "transition",
                "note"
            ]
        );
        let r = replay(&timeline).unwrap();
        let row = b.store.get_incident(id).await.unwrap().summary;
        assert_eq!((r.status, r.occurrences), (row.status, row.occurrences));
        assert_eq!((row.status, row.occurrences), (Mitigated, 3));
    }
}
