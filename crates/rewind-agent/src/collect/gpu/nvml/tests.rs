use rewind_model::Timestamp;

use super::*;

/// An A100 at work: 87 % busy, 30 of 40 GiB used, 300.5 W, clocks 1410/1215 MHz.
fn busy(throttle: Option<Throttle>) -> Raw {
    Raw {
        util_pct: Some(87),
        memory_util_pct: Some(41),
        memory_used_bytes: Some(30 << 30),
        memory_total_bytes: Some(40 << 30),
        temp_c: Some(84),
        power_mw: Some(300_500),
        sm_clock_mhz: Some(1410),
        mem_clock_mhz: Some(1215),
        throttle,
    }
}

fn batch() -> Batch {
    Batch::new(Timestamp::from_unix_millis(1_700_000_000_000))
}

fn readings(b: &Batch) -> Vec<(&str, &str, f64)> {
    b.readings
        .iter()
        .map(|r| (r.series.as_str(), r.unit.as_ref(), r.value))
        .collect()
}

const THERMAL: Throttle = Throttle {
    thermal: true,
    power: false,
    hw_slowdown: false,
};

#[test]
fn raw_readings_become_series_in_their_units() {
    let mut out = batch();
    let now = record(
        1,
        "NVIDIA A100",
        &busy(Some(Throttle {
            power: true,
            ..Throttle::default()
        })),
        Throttle::default(),
        &mut out,
    );
    assert_eq!(
        readings(&out),
        [
            ("gpu.1.util_pct", "percent", 87.0),
            ("gpu.1.memory_util_pct", "percent", 41.0),
            ("gpu.1.memory_used_bytes", "bytes", 32_212_254_720.0),
            ("gpu.1.memory_total_bytes", "bytes", 42_949_672_960.0),
            ("gpu.1.temp_c", "celsius", 84.0),
            ("gpu.1.power_w", "watts", 300.5),
            ("gpu.1.sm_clock_hz", "hertz", 1_410_000_000.0),
            ("gpu.1.mem_clock_hz", "hertz", 1_215_000_000.0),
            ("gpu.1.throttle_thermal", "bool", 0.0),
            ("gpu.1.throttle_power", "bool", 1.0),
            ("gpu.1.throttle_hw_slowdown", "bool", 0.0),
        ]
    );
    assert!(
        out.events.is_empty(),
        "power capping is not a thermal event"
    );
    assert!(now.power);
}

#[test]
fn missing_readings_are_left_out() {
    let raw = Raw {
        temp_c: Some(40),
        ..Raw::default()
    };
    let mut out = batch();
    let before = THERMAL;
    assert_eq!(
        record(0, "T4", &raw, before, &mut out),
        before,
        "unknown throttle keeps the last state"
    );
    assert_eq!(readings(&out), [("gpu.0.temp_c", "celsius", 40.0)]);
    assert!(out.events.is_empty());
}

#[test]
fn a_thermal_event_is_raised_when_throttling_turns_on_and_only_then() {
    let mut state = Throttle::default();
    let mut events = Vec::new();
    let passes = [
        Throttle::default(),
        THERMAL,
        THERMAL,
        Throttle {
            hw_slowdown: true,
            ..THERMAL
        },
        Throttle::default(),
        THERMAL,
    ];
    for (pass, throttle) in passes.into_iter().enumerate() {
        let mut out = batch();
        state = record(0, "RTX 4090", &busy(Some(throttle)), state, &mut out);
        events.extend(out.events.into_iter().map(|e| (pass, e)));
    }
    let seen: Vec<(usize, &str)> = events
        .iter()
        .map(|(p, e)| (*p, e.fields["reason"].as_str()))
        .collect();
    assert_eq!(seen, [(1, "thermal"), (3, "hw_slowdown"), (5, "thermal")]);
    let (_, first) = &events[0];
    assert_eq!(first.kind, EventKind::Thermal);
    assert_eq!(first.level, Level::Warning);
    assert_eq!(first.source, "nvml");
    assert_eq!(
        first.message,
        "GPU 0 (RTX 4090) is throttling its clocks: thermal slowdown"
    );
    assert_eq!(first.fields["gpu"], "0");
    assert_eq!(first.fields["temp_c"], "84");
    assert_eq!(first.ts, Timestamp::from_unix_millis(1_700_000_000_000));
}

#[test]
fn throttle_reasons_fold_into_three_kinds() {
    let t = |r: ThrottleReasons| Throttle::from_reasons(r);
    assert_eq!(t(ThrottleReasons::GPU_IDLE), Throttle::default());
    assert_eq!(t(ThrottleReasons::SW_THERMAL_SLOWDOWN), THERMAL);
    assert_eq!(t(ThrottleReasons::HW_THERMAL_SLOWDOWN), THERMAL);
    assert_eq!(
        t(ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN),
        Throttle {
            power: true,
            ..Throttle::default()
        }
    );
    assert_eq!(
        t(ThrottleReasons::SW_POWER_CAP | ThrottleReasons::HW_SLOWDOWN),
        Throttle {
            thermal: false,
            power: true,
            hw_slowdown: true
        }
    );
}

#[test]
fn unsupported_readings_are_skipped_quietly_from_then_on() {
    let mut dev = DeviceState::new(2, "GTX 1050".to_owned());
    let mut failed = Vec::new();
    let first: Option<u32> = dev.get(Getter::Power, &mut failed, || Err(NvmlError::NotSupported));
    assert_eq!(first, None);
    let mut asked = false;
    let again: Option<u32> = dev.get(Getter::Power, &mut failed, || {
        asked = true;
        Ok(1)
    });
    assert_eq!(again, None);
    assert!(!asked, "an unsupported reading is not asked for again");
    assert!(failed.is_empty(), "and it is not a problem");
    assert_eq!(
        dev.get(Getter::Temperature, &mut failed, || Ok(55_u32)),
        Some(55)
    );
}

#[test]
fn other_failures_are_reported_every_time() {
    let mut dev = DeviceState::new(0, "A10".to_owned());
    let mut failed = Vec::new();
    for _ in 0..2 {
        let r: Option<u32> = dev.get(Getter::Temperature, &mut failed, || Err(NvmlError::GpuLost));
        assert_eq!(r, None);
    }
    assert_eq!(failed.len(), 2);
    assert!(failed[0].starts_with("temperature: "), "{}", failed[0]);
    assert_eq!(dev.source, "gpu/nvml:0");
}

#[test]
fn opening_nvml_on_the_live_machine_fails_cleanly_without_a_gpu() {
    match Poller::open() {
        Ok(mut poller) => {
            let mut out = batch();
            poller.poll(&mut out);
            assert!(
                out.readings
                    .iter()
                    .all(|r| r.series.as_str().starts_with("gpu."))
            );
        }
        Err(why) => assert!(why.starts_with("NVML"), "{why}"),
    }
}
