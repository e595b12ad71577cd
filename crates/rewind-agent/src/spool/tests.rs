use rewind_bundle::{BundleExtras, BundleInput, write_bundle};
use rewind_model::{BundleId, DeviceId, TimeRange, Timestamp, Trigger};

use super::*;

/// Writes a real (empty-series) bundle of `rule` at `secs` into `dir`.
pub(crate) fn bundle(dir: &Path, rule: &str, severity: Severity, secs: i64) -> PathBuf {
    let at = Timestamp::from_unix_millis(1_795_428_000_000 + secs * 1000);
    let trigger = Trigger {
        rule: rule.into(),
        rule_type: "metric_threshold".into(),
        severity,
        fired_at: at,
        summary: "test".into(),
        evidence: vec![],
        labels: Default::default(),
    };
    let device = DeviceId::new("t").unwrap();
    let input = BundleInput {
        bundle_id: BundleId::new_v7(),
        device_id: &device,
        agent_version: "0",
        created_at: at,
        trigger: &trigger,
        window: TimeRange { start: at, end: at },
        series: &[],
        events: &[],
        attachments: &[],
        extras: &BundleExtras::default(),
    };
    write_bundle(dir, &input).unwrap().path
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn lists_zips_oldest_first_and_moves_rejects_aside() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().join("spool")).unwrap();
    for name in [
        "incident_2_b.zip",
        "incident_1_a.zip",
        "notes.txt",
        ".incident_3.zip.tmp",
    ] {
        std::fs::write(spool.dir().join(name), b"x").unwrap();
    }
    assert_eq!(
        names(&spool.pending()),
        ["incident_1_a.zip", "incident_2_b.zip"]
    );
    spool.reject(&spool.dir().join("incident_1_a.zip"));
    spool.done(&spool.dir().join("incident_2_b.zip"));
    assert!(spool.pending().is_empty());
    assert!(spool.dir().join("rejected/incident_1_a.zip").exists());
}

#[test]
fn rotation_keeps_the_newest_bundles_of_one_rule() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().to_path_buf()).unwrap();
    for name in [
        "incident_20261123T100000Z_cpu-hot.zip",
        "incident_20261123T100001Z_cpu-hot.zip",
        "incident_20261123T100001Z_cpu-hot-2.zip",
        "incident_20261123T100002Z_cpu-hot.zip",
        "incident_20261123T100000Z_cpu-hot-disk.zip",
        "incident_20261123T100000Z_mem.zip",
    ] {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    let removed = spool.rotate("cpu-hot", 2);
    assert_eq!(
        names(&removed),
        [
            "incident_20261123T100000Z_cpu-hot.zip",
            "incident_20261123T100001Z_cpu-hot-2.zip"
        ]
    );
    assert_eq!(
        spool.pending().len(),
        4,
        "other rules' bundles are untouched"
    );
    assert!(spool.rotate("cpu-hot", 2).is_empty());
}

#[test]
fn rotation_passes_over_the_bundle_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().to_path_buf()).unwrap();
    let paths: Vec<_> = (0..3)
        .map(|s| bundle(dir.path(), "hot", Severity::Low, s))
        .collect();
    let flight = spool.uploading(&paths[0]).unwrap();
    assert_eq!(
        spool.rotate("hot", 1),
        [paths[1].clone()],
        "the oldest is being sent: the newest besides it is kept"
    );
    drop(flight);
    assert_eq!(spool.rotate("hot", 1), [paths[0].clone()]);
    assert_eq!(spool.pending(), [paths[2].clone()]);
}

#[test]
fn eviction_takes_the_lowest_severity_then_the_oldest_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Budget {
        max_bytes: u64::MAX,
        max_bundles: 3,
    };
    let spool = Spool::open(dir.path().to_path_buf())
        .unwrap()
        .with_budget(budget);
    let high = bundle(dir.path(), "a", Severity::High, 0);
    let low_old = bundle(dir.path(), "b", Severity::Low, 1);
    let info = bundle(dir.path(), "c", Severity::Info, 2);
    let low_new = bundle(dir.path(), "d", Severity::Low, 3);
    assert_eq!(spool.enforce_budget().evicted, vec![info]);
    let medium = bundle(dir.path(), "e", Severity::Medium, 4);
    let done = spool.enforce_budget();
    assert_eq!(done.evicted, vec![low_old]);
    assert!(!done.over_budget);
    assert_eq!(spool.evicted(), 2);
    assert_eq!(spool.pending(), [high, low_new, medium]);
}

#[test]
fn eviction_by_bytes_keeps_critical_bundles_and_the_one_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let critical = bundle(dir.path(), "a", Severity::Critical, 0);
    let size = fs_err::metadata(&critical).unwrap().len();
    let uploading = bundle(dir.path(), "b", Severity::Info, 1);
    let other = bundle(dir.path(), "c", Severity::High, 2);
    let spool = Spool::open(dir.path().to_path_buf())
        .unwrap()
        .with_budget(Budget {
            max_bytes: size,
            max_bundles: 100,
        });
    let flight = spool.uploading(&uploading).unwrap();
    let done = spool.enforce_budget();
    assert_eq!(done.evicted, [other]);
    assert!(done.over_budget, "two bundles are left and neither may go");
    assert_eq!(spool.pending(), [critical.clone(), uploading.clone()]);
    drop(flight);
    let done = spool.enforce_budget();
    assert_eq!(done.evicted, [uploading]);
    assert!(!done.over_budget);
    assert_eq!(spool.pending(), [critical]);
}

#[test]
fn a_bundle_without_a_readable_manifest_counts_as_info() {
    let dir = tempfile::tempdir().unwrap();
    let low = bundle(dir.path(), "a", Severity::Low, 0);
    let junk = dir.path().join("incident_20991231T000000Z_junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let spool = Spool::open(dir.path().to_path_buf())
        .unwrap()
        .with_budget(Budget {
            max_bytes: u64::MAX,
            max_bundles: 1,
        });
    assert_eq!(spool.enforce_budget().evicted, [junk]);
    assert_eq!(spool.pending(), [low]);
}

#[test]
fn a_bundle_gone_before_its_upload_is_not_marked_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().to_path_buf()).unwrap();
    assert!(
        spool
            .uploading(&dir.path().join("incident_1_a.zip"))
            .is_none()
    );
}

#[test]
fn settings_out_of_range_are_problems() {
    assert!(SpoolConfig::default().problems().is_empty());
    let bad = SpoolConfig {
        max_bytes: 10,
        max_bundles: 0,
        retry_initial: Duration::from_secs(5),
        retry_max: Duration::from_secs(1),
    };
    assert_eq!(bad.problems().len(), 3, "{:?}", bad.problems());
}
