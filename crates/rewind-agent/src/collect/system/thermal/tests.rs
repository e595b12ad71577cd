use std::fs;

use rewind_model::Timestamp;

use super::*;

/// A sysfs tree shaped like a Jetson's: a CPU zone with two trips, two
/// zones sharing a type, one with a broken sensor, and a cooling device.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class/thermal");
    let zone = |n: usize, kind: &str, temp: &str| {
        let z = class.join(format!("thermal_zone{n}"));
        fs::create_dir_all(&z).unwrap();
        fs::write(z.join("type"), format!("{kind}\n")).unwrap();
        fs::write(z.join("temp"), format!("{temp}\n")).unwrap();
        z
    };
    let cpu = zone(0, "CPU-therm", "45500");
    for (n, t, kind, hyst) in [
        (0, "95000", "passive", "2000"),
        (1, "105000", "critical", "0"),
        (2, "0", "active", "0"),
    ] {
        fs::write(cpu.join(format!("trip_point_{n}_temp")), t).unwrap();
        fs::write(cpu.join(format!("trip_point_{n}_type")), kind).unwrap();
        fs::write(cpu.join(format!("trip_point_{n}_hyst")), hyst).unwrap();
    }
    zone(1, "acpitz", "27800");
    zone(2, "acpitz", "-5000");
    zone(3, "broken", "N/A");
    fs::create_dir_all(class.join("cooling_device0")).unwrap();
    dir
}

fn set_temp(dir: &tempfile::TempDir, zone: usize, millis: i64) {
    fs::write(
        dir.path()
            .join(format!("class/thermal/thermal_zone{zone}/temp")),
        millis.to_string(),
    )
    .unwrap();
}

fn poll(t: &mut Thermal) -> Batch {
    let mut out = Batch::new(Timestamp::from_unix_millis(5));
    t.poll(Duration::from_secs(1), &mut String::new(), &mut out);
    out
}

use crate::collect::system::common::value;

#[test]
fn reads_zones_and_trip_points() {
    let dir = fixture();
    let mut t = Thermal::discover(dir.path(), Duration::from_secs(60)).unwrap();
    let b = poll(&mut t);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    assert_eq!(value(&b, "thermal.cpu-therm.temp_c"), Some(45.5));
    assert_eq!(value(&b, "thermal.cpu-therm.trip_0_c"), Some(95.0));
    assert_eq!(value(&b, "thermal.cpu-therm.trip_1_c"), Some(105.0));
    assert_eq!(
        value(&b, "thermal.cpu-therm.trip_2_c"),
        None,
        "a trip at 0 °C is unset"
    );
    assert_eq!(
        value(&b, "thermal.zone1.temp_c"),
        Some(27.8),
        "shared type: by number"
    );
    assert_eq!(value(&b, "thermal.zone2.temp_c"), Some(-5.0));
    assert!(b.readings.iter().all(|r| r.unit == "celsius"));
    assert_eq!(
        b.readings.len(),
        5,
        "the broken zone is left out: {:?}",
        b.readings
    );
    assert!(b.events.is_empty());
}

#[test]
fn a_trip_crossing_is_one_event_until_it_cools_down() {
    let dir = fixture();
    let mut t = Thermal::discover(dir.path(), Duration::from_secs(60)).unwrap();
    let mut events = Vec::new();
    for temp in [90_000, 96_000, 97_000, 94_000, 92_000, 96_000, 106_000] {
        set_temp(&dir, 0, temp);
        events.push(poll(&mut t).events);
    }
    let counts: Vec<usize> = events.iter().map(Vec::len).collect();
    assert_eq!(counts, [0, 1, 0, 0, 0, 1, 1]);
    let first = &events[1][0];
    assert_eq!(first.kind, EventKind::Thermal);
    assert_eq!(first.level, Level::Warning);
    assert_eq!(first.source, "thermal");
    assert_eq!(first.ts, Timestamp::from_unix_millis(5));
    assert_eq!(first.fields["zone"], "CPU-therm");
    assert_eq!(first.fields["trip_type"], "passive");
    assert_eq!(first.fields["temp_c"], "96");
    let critical = &events[6][0];
    assert_eq!(
        (critical.level, critical.fields["trip"].as_str()),
        (Level::Critical, "1")
    );
}

#[test]
fn already_hot_at_start_is_not_a_crossing() {
    let dir = fixture();
    set_temp(&dir, 0, 99_000);
    let mut t = Thermal::discover(dir.path(), Duration::from_secs(60)).unwrap();
    assert!(poll(&mut t).events.is_empty());
    assert!(poll(&mut t).events.is_empty());
}

#[test]
fn bad_readings_are_problems_and_vanished_zones_are_dropped() {
    let dir = fixture();
    let mut t = Thermal::discover(dir.path(), Duration::from_secs(60)).unwrap();
    fs::write(
        dir.path().join("class/thermal/thermal_zone1/temp"),
        b"\xff\xfe",
    )
    .unwrap();
    fs::remove_dir_all(dir.path().join("class/thermal/thermal_zone2")).unwrap();
    let b = poll(&mut t);
    assert_eq!(b.problems.len(), 1, "{:?}", b.problems);
    assert_eq!(b.problems[0].source, "system/thermal");
    assert!(value(&b, "thermal.cpu-therm.temp_c").is_some());
    let b = poll(&mut t);
    assert_eq!(value(&b, "thermal.zone2.temp_c"), None);
    assert!(
        b.problems.is_empty(),
        "looked again: zone1 is unreadable now, zone2 gone: {:?}",
        b.problems
    );
    // Zone 1 alone now has type acpitz, so it is named by its type.
    fs::write(dir.path().join("class/thermal/thermal_zone1/temp"), "30000").unwrap();
    t.every.force();
    assert_eq!(value(&poll(&mut t), "thermal.acpitz.temp_c"), Some(30.0));
}

#[test]
fn no_thermal_class_is_no_collector() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Thermal::discover(dir.path(), Duration::from_secs(60)).is_none());
}
