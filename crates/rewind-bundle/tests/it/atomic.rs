//! `write_bundle` leaves a complete file or nothing.

use rewind_bundle::{Error, read_bundle, write_bundle};

use crate::common::{Fixture, small_limits};

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn only_the_final_file_remains() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_bundle(dir.path(), &Fixture::new().input()).unwrap();
    assert_eq!(
        entries(dir.path()),
        ["incident_20261123T100005Z_cpu-saturated.zip"]
    );
    assert_eq!(written.path.parent(), Some(dir.path()));
}

#[test]
fn an_existing_bundle_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::new();
    let first = write_bundle(dir.path(), &fixture.input()).unwrap();
    let before = std::fs::read(&first.path).unwrap();
    let second = write_bundle(dir.path(), &fixture.input()).unwrap();
    assert_eq!(
        entries(dir.path()),
        [
            "incident_20261123T100005Z_cpu-saturated-2.zip",
            "incident_20261123T100005Z_cpu-saturated.zip"
        ]
    );
    assert_eq!(std::fs::read(&first.path).unwrap(), before);
    read_bundle(&std::fs::read(second.path).unwrap(), &small_limits()).unwrap();
}

#[test]
fn a_missing_directory_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir");
    let err = write_bundle(&missing, &Fixture::new().input()).unwrap_err();
    assert!(
        matches!(err, Error::Io { ref path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    assert_eq!(err.code(), "bundle_io");
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut fixture = Fixture::new();
    fixture.trigger.evidence[0].observed = f64::INFINITY;
    let err = write_bundle(dir.path(), &fixture.input()).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(entries(dir.path()).is_empty());
}
