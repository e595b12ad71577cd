//! Board-level scenarios: undervoltage on a Raspberry Pi, and a clock step.

use rewind_model::{Comparison, Level, Severity};

use super::super::{file_log, journal, kmsg, node_missing, sampled, step, trigger, wobble};
use super::WithPair as _;
use crate::rca::Timeline;

/// A Raspberry Pi's supply sags: the firmware reports undervoltage, the
/// clocks are cut, the camera driver misses its heartbeat.
pub(crate) fn undervoltage() -> Timeline {
    undervoltage_with(true)
}

fn undervoltage_with(fails: bool) -> Timeline {
    let t = if fails {
        trigger(
            "Camera driver down",
            "node_status",
            Severity::High,
            "node camera_driver missing since 2026-11-23T09:59:58.8Z (1.2 s)",
            Some((
                "node.camera_driver.status",
                Comparison::Is("missing".into()),
                1.0,
            )),
        )
    } else {
        trigger(
            "Undervoltage",
            "log_match",
            Severity::Medium,
            "1 line matching `(?i)undervoltage` from kmsg within 60.0 s: hwmon hwmon1: Undervoltage detected!",
            Some(("log.kmsg.matches", Comparison::Above(0.0), 1.0)),
        )
    };
    let mut tl = Timeline::new(t)
        .with_series_pair(sampled("cpufreq.cpu0.ratio_pct", -60.0, 10.0, 10.0, |t| {
            if t < -6.5 { 100.0 } else { 33.3 }
        }))
        .with_series_pair(sampled("cpufreq.cpu0.cur_hz", -60.0, 10.0, 10.0, |t| {
            if t < -6.5 { 1.8e9 } else { 0.6e9 }
        }))
        .with_events([kmsg(
            -7.0,
            Level::Warning,
            "hwmon hwmon1: Undervoltage detected!",
        )]);
    if fails {
        tl = tl
            .with_events([node_missing(-1.2, "camera_driver")])
            .with_series_pair(sampled(
                "node.camera_driver.alive",
                -60.0,
                10.0,
                10.0,
                step(-1.2, 1.0, 0.0),
            ))
            .with_series_pair(sampled(
                "topic./camera/image_raw.rate_hz",
                -60.0,
                10.0,
                10.0,
                |t| {
                    if t < -1.2 { 30.0 + wobble(t, 0.2) } else { 0.0 }
                },
            ));
    }
    tl
}

/// Near miss: undervoltage is reported, but nothing fails.
pub(crate) fn undervoltage_harmless() -> Timeline {
    undervoltage_with(false)
}

/// chrony steps the clock back an hour; tf2 clears its buffer and the
/// planner cannot look up transforms.
pub(crate) fn clock_jump() -> Timeline {
    clock_with(-9.0, -8.2)
}

fn clock_with(jump: f64, broken: f64) -> Timeline {
    let t = trigger(
        "Planner stalled",
        "topic_rate",
        Severity::High,
        "topic./plan.rate_hz stayed below 1 for 2.0 s (peak 0, now 0)",
        Some(("topic./plan.rate_hz", Comparison::Below(1.0), 0.0)),
    );
    let planner_log = "/var/log/ros/planner.log";
    Timeline::new(t)
        .with_series_pair(sampled("topic./plan.rate_hz", -60.0, 10.0, 10.0, |t| {
            if t < -7.0 { 5.0 } else { 0.0 }
        }))
        .with_events([
            journal(jump - 0.1, Level::Warning, "chrony.service", "chronyd", "System clock wrong by -3599.827 seconds")
                .with("pid", 611),
            journal(jump, Level::Warning, "chrony.service", "chronyd", "System clock was stepped by -3599.827 seconds")
                .with("pid", 611),
            file_log(
                broken,
                planner_log,
                Level::Warning,
                "[WARN] [tf2_buffer]: Detected jump back in time of 3599.8s. Clearing TF buffer.",
            ),
            file_log(
                broken + 1.2,
                planner_log,
                Level::Error,
                "[ERROR] [planner]: Lookup would require extrapolation into the past. Requested time 1795424400.4 but the earliest data is at time 1795427991.2",
            ),
        ])
}

/// Near miss: the time errors came before the clock was stepped.
pub(crate) fn clock_out_of_order() -> Timeline {
    clock_with(-9.0, -40.0)
}
