use rewind_model::{
    BundleId, Comparison, DeviceId, Evidence, IncidentId, IncidentStatus, SeriesName, Severity,
    TimeRange, Timestamp, Trigger,
};
use rewind_store::{Error, IncidentFilter, NewIncident};

use crate::backends;

fn new_incident(device: &str, at_ms: i64, severity: Severity) -> NewIncident {
    let fired_at = Timestamp::from_unix_millis(at_ms);
    NewIncident {
        device_id: DeviceId::new(device).unwrap(),
        bundle_id: BundleId::new_v7(),
        trigger: Trigger {
            rule: "CPU saturated".into(),
            rule_type: "metric_threshold".into(),
            severity,
            fired_at,
            summary: "cpu.total.busy_pct stayed above 80 for 2.0 s (peak 99, now 97)".into(),
            evidence: vec![Evidence::new(
                SeriesName::new("cpu.total.busy_pct").unwrap(),
                Comparison::Above(80.0),
                97.0,
                99.0,
                fired_at.add_nanos(-2_000_000_000),
                21,
            )],
            labels: Default::default(),
        },
        window: TimeRange {
            start: fired_at.add_nanos(-60_000_000_000),
            end: fired_at.add_nanos(3_000_000_000),
        },
        received_at: fired_at.add_nanos(4_000_000_000),
        bundle_path: format!("{device}/{at_ms}.zip"),
        bundle_bytes: 4096,
        bundle_sha256: "ab".repeat(32),
    }
}

#[tokio::test]
async fn an_inserted_incident_reads_back_whole() {
    for (store, _guard) in backends().await {
        let new = new_incident("robot-1", 1_700_000_000_000, Severity::High);
        let summary = store.insert_incident(&new).await.unwrap();
        assert_eq!(summary.status, IncidentStatus::Open, "{}", store.backend());
        assert_eq!(summary.window, new.window);
        let record = store.get_incident(summary.id).await.unwrap();
        assert_eq!(record.summary, summary);
        assert_eq!(record.trigger, new.trigger, "{}", store.backend());
        assert_eq!(record.bundle_path, new.bundle_path);
        let by_bundle = store
            .incident_by_bundle(new.bundle_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_bundle.summary.id, summary.id);
        assert!(
            store
                .incident_by_bundle(BundleId::new_v7())
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn the_same_bundle_cannot_make_two_incidents() {
    for (store, _guard) in backends().await {
        let new = new_incident("robot-1", 1_700_000_000_000, Severity::High);
        store.insert_incident(&new).await.unwrap();
        let err = store.insert_incident(&new).await.unwrap_err();
        assert!(
            matches!(err, Error::Conflict { .. }),
            "{}: {err:?}",
            store.backend()
        );
        let all = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
    }
}

#[tokio::test]
async fn lists_newest_first_with_filters() {
    for (store, _guard) in backends().await {
        store
            .insert_incident(&new_incident("a", 1_000, Severity::Low))
            .await
            .unwrap();
        store
            .insert_incident(&new_incident("b", 3_000, Severity::Critical))
            .await
            .unwrap();
        store
            .insert_incident(&new_incident("a", 2_000, Severity::High))
            .await
            .unwrap();
        let times = |v: &[rewind_model::IncidentSummary]| {
            v.iter()
                .map(|i| i.triggered_at.as_unix_millis())
                .collect::<Vec<_>>()
        };
        let all = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(times(&all), [3_000, 2_000, 1_000], "{}", store.backend());

        let filter = IncidentFilter {
            device_id: Some(DeviceId::new("a").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            times(&store.list_incidents(&filter).await.unwrap()),
            [2_000, 1_000]
        );

        let filter = IncidentFilter {
            min_severity: Some(Severity::High),
            ..Default::default()
        };
        assert_eq!(
            times(&store.list_incidents(&filter).await.unwrap()),
            [3_000, 2_000]
        );

        let filter = IncidentFilter {
            limit: 1,
            ..Default::default()
        };
        assert_eq!(
            times(&store.list_incidents(&filter).await.unwrap()),
            [3_000]
        );
    }
}

#[tokio::test]
async fn a_missing_incident_is_not_found() {
    for (store, _guard) in backends().await {
        let err = store.get_incident(IncidentId::new_v7()).await.unwrap_err();
        assert!(
            matches!(err, Error::NotFound { .. }),
            "{}: {err:?}",
            store.backend()
        );
        store.ping().await.unwrap();
    }
}
