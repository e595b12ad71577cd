//! Recorded-style scenarios: one per built-in chain, and near misses.
//!
//! Each builds what an agent bundle would hold: 60 s before the trigger and
//! 10 s after, with the agent's series names and event shapes.

use rewind_model::{Comparison, Event, EventKind, Level, SeriesName, Severity};

use super::{
    at, file_log, journal, kmsg, node_missing, nvml_throttle, oom_kill, process_missing,
    process_restarted, sampled, step, trigger, wobble,
};
use crate::rca::Timeline;

mod board;
mod deploy;

pub(crate) use board::{clock_jump, clock_out_of_order, undervoltage, undervoltage_harmless};
pub(crate) use deploy::{bad_deploy, bad_deploy_bundle, deploy_harmless};

/// Linear from `a` at `t0` to `b` at `t1`, flat outside.
pub(super) fn ramp(t: f64, (t0, a): (f64, f64), (t1, b): (f64, f64)) -> f64 {
    if t <= t0 {
        a
    } else if t >= t1 {
        b
    } else {
        a + (b - a) * (t - t0) / (t1 - t0)
    }
}

/// The seed's incident: GPU heat → throttling → CPU pressure → the
/// perception node misses its heartbeat → the camera topic drops.
pub(crate) fn thermal() -> Timeline {
    thermal_with(|tl| {
        tl.with_events([node_missing(-0.4, "perception_node")])
            .with_series_pair(sampled(
                "node.perception_node.alive",
                -60.0,
                10.0,
                10.0,
                step(-0.4, 1.0, 0.0),
            ))
    })
}

/// The thermal scenario's hardware part, completed by `rest`.
fn thermal_with(rest: impl FnOnce(Timeline) -> Timeline) -> Timeline {
    let t = trigger(
        "Camera topic starvation",
        "topic_rate",
        Severity::High,
        "topic./camera/rgb.rate_hz stayed below 20 for 2.0 s (peak 8, now 8)",
        Some(("topic./camera/rgb.rate_hz", Comparison::Below(20.0), 8.0)),
    );
    let temp = |t: f64| ramp(t, (-30.0, 62.0), (-5.0, 95.0)) - ramp(t, (-5.0, 0.0), (0.0, 4.0));
    let rate = |t: f64| {
        if t < -20.0 {
            30.0 + wobble(t, 0.3)
        } else if t < -0.4 {
            ramp(t, (-20.0, 28.0), (-5.0, 18.0))
        } else {
            8.0
        }
    };
    let tl = Timeline::new(t)
        .with_series_pair(sampled("gpu.0.temp_c", -60.0, 10.0, 1.0, temp))
        .with_series_pair(sampled(
            "gpu.0.throttle_thermal",
            -60.0,
            10.0,
            1.0,
            step(-5.0, 0.0, 1.0),
        ))
        .with_series_pair(sampled("cpu.total.busy_pct", -60.0, 10.0, 10.0, |t| {
            ramp(t, (-30.0, 45.0), (0.0, 56.0)) + wobble(t, 2.0)
        }))
        .with_series_pair(sampled("pressure.cpu.some_avg10", -60.0, 10.0, 10.0, |t| {
            ramp(t, (-5.0, 4.0), (-3.0, 35.0))
        }))
        .with_series_pair(sampled(
            "topic./camera/rgb.rate_hz",
            -60.0,
            10.0,
            10.0,
            rate,
        ))
        .with_events([nvml_throttle(-5.0, 0, 95)]);
    rest(tl)
}

/// Near miss: the GPU throttles, but every node stays alive and the topic
/// keeps its rate.
pub(crate) fn thermal_node_stays_alive() -> Timeline {
    let mut tl = thermal_with(|tl| tl);
    tl.trigger = trigger(
        "GPU throttling",
        "metric_threshold",
        Severity::Medium,
        "gpu.0.throttle_thermal stayed above 0.5 for 0.0 s (peak 1, now 1)",
        Some(("gpu.0.throttle_thermal", Comparison::Above(0.5), 1.0)),
    );
    tl.series.retain(|(n, _)| !n.as_str().starts_with("topic."));
    tl.with_series_pair(sampled(
        "topic./camera/rgb.rate_hz",
        -60.0,
        10.0,
        10.0,
        |t| 30.0 + wobble(t, 0.3),
    ))
    .with_series_pair(sampled(
        "node.perception_node.alive",
        -60.0,
        10.0,
        10.0,
        |_| 1.0,
    ))
}

/// Near miss: the node went missing (and came back) long before the GPU
/// throttled: the steps are out of order.
pub(crate) fn thermal_out_of_order() -> Timeline {
    thermal_with(|tl| {
        tl.with_events([
            node_missing(-40.0, "perception_node"),
            Event::new(
                at(-36.0),
                "socket",
                EventKind::NodeSeen,
                Level::Info,
                "node `perception_node` is back after 4.0 s missing",
            )
            .with("node", "perception_node"),
        ])
        .with_series_pair(sampled(
            "node.perception_node.alive",
            -60.0,
            10.0,
            10.0,
            |t| {
                if (-40.0..-36.0).contains(&t) {
                    0.0
                } else {
                    1.0
                }
            },
        ))
    })
}

/// Near miss: a short throttling episode 100 s before the node went
/// missing: outside the chain's windows.
pub(crate) fn thermal_outside_window() -> Timeline {
    let t = trigger(
        "Camera topic starvation",
        "topic_rate",
        Severity::High,
        "topic./camera/rgb.rate_hz stayed below 20 for 2.0 s (peak 8, now 8)",
        Some(("topic./camera/rgb.rate_hz", Comparison::Below(20.0), 8.0)),
    );
    Timeline::new(t)
        .with_series_pair(sampled("gpu.0.throttle_thermal", -120.0, 10.0, 1.0, |t| {
            if (-100.0..-90.0).contains(&t) {
                1.0
            } else {
                0.0
            }
        }))
        .with_series_pair(sampled(
            "topic./camera/rgb.rate_hz",
            -120.0,
            10.0,
            10.0,
            |t| {
                if t < -0.4 { 30.0 + wobble(t, 0.3) } else { 8.0 }
            },
        ))
        .with_events([
            nvml_throttle(-100.0, 0, 88),
            node_missing(-0.4, "perception_node"),
        ])
}

/// A leaking planner: RSS grows until the OOM killer kills it, twice; the
/// processes collector sees it gone and restarted each time.
pub(crate) fn oom() -> Timeline {
    oom_with(true)
}

fn oom_with(restarts: bool) -> Timeline {
    let rss = |t: f64| {
        if t < -20.0 {
            ramp(t, (-60.0, 1.2e9), (-20.0, 1.98e9))
        } else if t < -4.0 {
            ramp(t, (-18.0, 0.3e9), (-4.0, 1.95e9))
        } else {
            0.31e9
        }
    };
    let available = |t: f64| {
        if t < -20.0 {
            ramp(t, (-60.0, 2.9e9), (-20.0, 0.12e9))
        } else if t < -4.0 {
            ramp(t, (-18.0, 1.9e9), (-4.0, 0.15e9))
        } else {
            1.9e9
        }
    };
    let summary = if restarts {
        "process planner restarted 2 times in 16.0 s (latest pids 2311, 2398)"
    } else {
        "process planner missing since 2026-11-23T09:59:57Z"
    };
    let t = trigger(
        if restarts {
            "Planner crash-looping"
        } else {
            "Planner gone"
        },
        "process_status",
        Severity::Critical,
        summary,
        Some((
            "process.planner.status",
            Comparison::Is(if restarts { "crash_loop" } else { "missing" }.into()),
            2.0,
        )),
    );
    let mut events = vec![
        oom_kill(-20.0, 2207, "planner"),
        process_missing(-19.0, "planner", 2207),
    ];
    if restarts {
        events.extend([
            process_restarted(-18.0, "planner", 2207, 2311),
            oom_kill(-4.0, 2311, "planner"),
            process_missing(-3.0, "planner", 2311),
            process_restarted(-2.0, "planner", 2311, 2398),
        ]);
    }
    let tl = Timeline::new(t)
        .with_series_pair(sampled(
            "memory.available_bytes",
            -60.0,
            10.0,
            10.0,
            available,
        ))
        .with_events(events);
    if restarts {
        tl.with_series_pair(sampled("process.planner.rss_bytes", -60.0, 10.0, 1.0, rss))
    } else {
        tl.with_series_pair(sampled("process.planner.rss_bytes", -60.0, -20.0, 1.0, rss))
    }
}

/// Near miss: the planner leaks and is OOM-killed, but is not restarted.
pub(crate) fn oom_no_restart() -> Timeline {
    oom_with(false)
}

/// The recorder fills the root filesystem; writes fail; it exits.
pub(crate) fn disk_full() -> Timeline {
    disk_with(true)
}

fn disk_with(errors: bool) -> Timeline {
    let t = if errors {
        trigger(
            "Recorder down",
            "process_status",
            Severity::High,
            "process rosbag2_recorder missing since 2026-11-23T09:59:57Z",
            Some((
                "process.rosbag2_recorder.status",
                Comparison::Is("missing".into()),
                1.0,
            )),
        )
    } else {
        trigger(
            "Disk almost full",
            "metric_threshold",
            Severity::Medium,
            "disk.root.used_pct stayed above 95 for 0.0 s (peak 97, now 97)",
            Some(("disk.root.used_pct", Comparison::Above(95.0), 97.0)),
        )
    };
    let used = move |t: f64| {
        if errors {
            ramp(t, (-60.0, 96.1), (-10.0, 100.0))
        } else {
            97.0
        }
    };
    let tl = Timeline::new(t)
        .with_series_pair(sampled("disk.root.used_pct", -60.0, 10.0, 0.1, used))
        .with_series_pair(sampled(
            "disk.root.free_bytes",
            -60.0,
            10.0,
            0.1,
            move |t| (100.0 - used(t)) * 1.2e9,
        ))
        .with_series_pair(sampled(
            "process.rosbag2_recorder.count",
            -60.0,
            10.0,
            1.0,
            move |t| {
                if errors && t >= -3.0 { 0.0 } else { 1.0 }
            },
        ));
    if !errors {
        return tl;
    }
    tl.with_events([
        journal(
            -12.0,
            Level::Error,
            "rosbag-recorder.service",
            "rosbag2_recorder",
            "[ERROR] [rosbag2_storage]: Failed to write message: No space left on device",
        ),
        process_missing(-3.0, "rosbag2_recorder", 1432),
        journal(
            -2.5,
            Level::Notice,
            "rosbag-recorder.service",
            "systemd",
            "rosbag-recorder.service: Main process exited, code=exited, status=1/FAILURE",
        ),
    ])
}

/// Near miss: the disk is nearly full, but nothing fails to write.
pub(crate) fn disk_no_errors() -> Timeline {
    disk_with(false)
}

/// eth0 starts erring and dropping; the lidar topic starves.
pub(crate) fn network() -> Timeline {
    network_with(true)
}

fn network_with(starved: bool) -> Timeline {
    let t = if starved {
        trigger(
            "Lidar starvation",
            "topic_rate",
            Severity::High,
            "topic./lidar/points.rate_hz stayed below 5 for 2.0 s (peak 2, now 2)",
            Some(("topic./lidar/points.rate_hz", Comparison::Below(5.0), 2.0)),
        )
    } else {
        trigger(
            "NIC errors",
            "metric_threshold",
            Severity::Low,
            "net.eth0.rx_errors_per_s stayed above 1 for 2.0 s (peak 48, now 41)",
            Some(("net.eth0.rx_errors_per_s", Comparison::Above(1.0), 41.0)),
        )
    };
    let lidar = move |t: f64| {
        if starved && t >= -5.0 {
            ramp(t, (-5.0, 6.0), (-2.0, 2.0))
        } else {
            10.0 + wobble(t, 0.1)
        }
    };
    Timeline::new(t)
        .with_series_pair(sampled(
            "net.eth0.rx_errors_per_s",
            -60.0,
            10.0,
            10.0,
            |t| {
                if t < -6.0 { 0.0 } else { 41.0 + wobble(t, 7.0) }
            },
        ))
        .with_series_pair(sampled("net.eth0.rx_drops_per_s", -60.0, 10.0, 10.0, |t| {
            if t < -6.0 {
                0.0
            } else {
                120.0 + wobble(t, 15.0)
            }
        }))
        .with_series_pair(sampled("net.eth0.rx_bytes_per_s", -60.0, 10.0, 10.0, |t| {
            if t < -6.0 {
                4.1e6 + wobble(t, 1e5)
            } else {
                1.2e6 + wobble(t, 1e5)
            }
        }))
        .with_series_pair(sampled(
            "topic./lidar/points.rate_hz",
            -60.0,
            10.0,
            10.0,
            lidar,
        ))
        .with_events([kmsg(
            -6.2,
            Level::Warning,
            "NETDEV WATCHDOG: eth0 (igb): transmit queue 0 timed out",
        )])
}

/// Near miss: eth0 errs, but the topics keep their rates.
pub(crate) fn network_topics_fine() -> Timeline {
    network_with(false)
}

/// A compression job takes three cores; the control loop runs late.
pub(crate) fn cpu() -> Timeline {
    cpu_with(true)
}

fn cpu_with(late: bool) -> Timeline {
    let t = if late {
        trigger(
            "Control loop late",
            "metric_threshold",
            Severity::High,
            "control.loop_latency_ms stayed above 5 for 2.0 s (peak 14.2, now 12.9)",
            Some(("control.loop_latency_ms", Comparison::Above(5.0), 12.9)),
        )
    } else {
        trigger(
            "CPU saturated",
            "metric_threshold",
            Severity::Medium,
            "cpu.total.busy_pct stayed above 90 for 2.0 s (peak 98.1, now 97.2)",
            Some(("cpu.total.busy_pct", Comparison::Above(90.0), 97.2)),
        )
    };
    Timeline::new(t)
        .with_series_pair(sampled(
            "process.rosbag_compress.cpu_pct",
            -60.0,
            10.0,
            1.0,
            |t| {
                if t < -8.0 {
                    5.0
                } else {
                    240.0 + 60.0 * ((t + 8.0) / 18.0).min(1.0)
                }
            },
        ))
        .with_series_pair(sampled(
            "process.controller.cpu_pct",
            -60.0,
            10.0,
            1.0,
            |t| 35.0 + wobble(t, 2.0),
        ))
        .with_series_pair(sampled("cpu.total.busy_pct", -60.0, 10.0, 10.0, |t| {
            if t < -8.0 {
                40.0 + wobble(t, 3.0)
            } else {
                97.0 + wobble(t, 1.0)
            }
        }))
        .with_series_pair(sampled(
            "control.loop_latency_ms",
            -60.0,
            10.0,
            10.0,
            move |t| {
                if late && t >= -6.0 {
                    12.0 + wobble(t, 2.0)
                } else {
                    2.0 + wobble(t, 0.2)
                }
            },
        ))
}

/// Near miss: the job takes the CPU, but the control loop keeps its timing.
pub(crate) fn cpu_loop_fine() -> Timeline {
    cpu_with(false)
}

/// No chain fits: the planner runs out of file descriptors.
pub(crate) fn unknown() -> Timeline {
    let t = trigger(
        "Planner out of file descriptors",
        "metric_threshold",
        Severity::High,
        "process.planner.fd_used_pct stayed above 90 for 0.0 s (peak 96.2, now 96.2)",
        Some(("process.planner.fd_used_pct", Comparison::Above(90.0), 96.2)),
    );
    Timeline::new(t)
        .with_series_pair(sampled("process.planner.fds", -60.0, 10.0, 1.0, |t| {
            if t < -3.0 {
                210.0 + wobble(t, 4.0).round()
            } else {
                985.0
            }
        }))
        .with_series_pair(sampled(
            "process.planner.fd_used_pct",
            -60.0,
            10.0,
            1.0,
            |t| {
                if t < -3.0 {
                    20.5 + wobble(t, 0.4)
                } else {
                    96.2
                }
            },
        ))
        .with_series_pair(sampled("cpu.total.busy_pct", -60.0, 10.0, 10.0, |t| {
            38.0 + wobble(t, 3.0)
        }))
        .with_series_pair(sampled("memory.available_bytes", -60.0, 10.0, 10.0, |t| {
            5.2e9 + wobble(t, 2e7)
        }))
        .with_events([file_log(
            -2.5,
            "/var/log/ros/planner.log",
            Level::Error,
            "[ERROR] [planner]: accept failed: Too many open files",
        )])
}

/// The seed's thermal chain and CPU contention at once: a compression job
/// also loads the CPU while the GPU throttles, and the control loop runs late.
pub(crate) fn thermal_and_contention() -> Timeline {
    thermal()
        .with_series_pair(sampled(
            "process.rosbag_compress.cpu_pct",
            -60.0,
            10.0,
            1.0,
            |t| {
                if t < -8.0 { 5.0 } else { 260.0 }
            },
        ))
        .with_series_pair(sampled("control.loop_latency_ms", -60.0, 10.0, 10.0, |t| {
            if t < -3.0 {
                2.0 + wobble(t, 0.2)
            } else {
                11.0 + wobble(t, 1.0)
            }
        }))
}

/// Every scenario that must match, with its chain.
pub(crate) fn matching() -> Vec<(&'static str, &'static str, Timeline)> {
    vec![
        ("thermal", "thermal-throttling", thermal()),
        ("oom", "oom-restart-loop", oom()),
        ("disk_full", "disk-full", disk_full()),
        ("network", "network-starvation", network()),
        ("cpu", "cpu-contention", cpu()),
        ("bad_deploy", "bad-deploy", bad_deploy()),
        ("bad_deploy_bundle", "bad-deploy", bad_deploy_bundle()),
        ("undervoltage", "undervoltage", undervoltage()),
        ("clock_jump", "clock-jump", clock_jump()),
    ]
}

/// Every near miss, with the chain it must not match.
pub(crate) fn near_misses() -> Vec<(&'static str, &'static str, Timeline)> {
    vec![
        (
            "thermal_node_stays_alive",
            "thermal-throttling",
            thermal_node_stays_alive(),
        ),
        (
            "thermal_out_of_order",
            "thermal-throttling",
            thermal_out_of_order(),
        ),
        (
            "thermal_outside_window",
            "thermal-throttling",
            thermal_outside_window(),
        ),
        ("oom_no_restart", "oom-restart-loop", oom_no_restart()),
        ("disk_no_errors", "disk-full", disk_no_errors()),
        (
            "network_topics_fine",
            "network-starvation",
            network_topics_fine(),
        ),
        ("cpu_loop_fine", "cpu-contention", cpu_loop_fine()),
        ("deploy_harmless", "bad-deploy", deploy_harmless()),
        (
            "undervoltage_harmless",
            "undervoltage",
            undervoltage_harmless(),
        ),
        ("clock_out_of_order", "clock-jump", clock_out_of_order()),
    ]
}

/// Adds a `(name, samples)` pair, as [`sampled`] returns it.
pub(super) trait WithPair {
    fn with_series_pair(self, pair: (SeriesName, Vec<rewind_model::Sample>)) -> Self;
}

impl WithPair for Timeline {
    fn with_series_pair(self, (name, samples): (SeriesName, Vec<rewind_model::Sample>)) -> Self {
        self.with_series(name, samples)
    }
}
