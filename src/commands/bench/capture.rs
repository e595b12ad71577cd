//! `rewind bench capture`: trigger to sealed bundle on disk (ring snapshot,
//! bundle write with fsync and rename), excluding the post-trigger wait.

use std::{io::Write as _, time::Instant};

use rewind_agent::{Ring, collect::Unit};
use rewind_bundle::{
    BundleExtras, BundleInput, RECORDING_PATH, SeriesInput, WriteStages, write_bundle,
};
use rewind_model::{
    BundleId, DeviceId, Event, EventKind, Level, Sample, SeriesName, Severity, TimeRange,
    Timestamp, Trigger,
};
use serde::Serialize;

use super::percentiles;
use crate::cli::BenchCaptureArgs;

/// The target for trigger to sealed bundle.
const TARGET_MS: f64 = 100.0;
/// Sampling period of the default collectors.
const TICK_NS: i64 = 100_000_000;

/// What `rewind bench capture` measured.
#[derive(Debug, Serialize)]
struct CaptureFigures {
    seconds: u64,
    series: usize,
    iterations: usize,
    samples: usize,
    events: usize,
    snapshot_p50_ms: f64,
    snapshot_p99_ms: f64,
    write_p50_ms: f64,
    write_p99_ms: f64,
    total_p50_ms: f64,
    total_p99_ms: f64,
    target_ms: f64,
    bundle_bytes: u64,
    recording_bytes: u64,
    recording_compression: String,
    bytes_per_sample: f64,
    baseline_bytes: u64,
    baseline_write_p50_ms: f64,
    baseline_write_p99_ms: f64,
    /// Where the write time goes: p50 and p99 of each stage, in write order.
    stages: Vec<StageFigures>,
}

/// One stage of the bundle write.
#[derive(Debug, Serialize)]
struct StageFigures {
    stage: &'static str,
    p50_ms: f64,
    p99_ms: f64,
    /// Whether it runs on the recording thread, alongside the stages before it.
    concurrent: bool,
}

/// The stages of [`WriteStages`], named as in the output.
fn stage_values(s: &WriteStages) -> [(&'static str, std::time::Duration, bool); 11] {
    [
        ("csv render", s.csv_render, false),
        ("csv sha256", s.csv_hash, false),
        ("csv deflate", s.csv_deflate, false),
        ("events + logs", s.events_logs, false),
        ("attachments", s.attachments, false),
        ("recording (mcap, zstd, sha256)", s.recording, true),
        ("wait for the recording", s.recording_wait, false),
        ("recording into the zip", s.recording_store, false),
        ("trigger, manifest, zip end", s.finish, false),
        ("fsync", s.fsync, false),
        ("rename + directory fsync", s.rename, false),
    ]
}

/// `rewind bench capture [--seconds N] [--series N] [--iterations N] [--json]`.
pub(crate) fn run(args: &BenchCaptureArgs) -> anyhow::Result<()> {
    let seconds = args.seconds.clamp(1, 300);
    let series_count = args.series.clamp(1, 10_000);
    let iterations = args.iterations.clamp(1, 1000);
    let start = Timestamp::from_unix_millis(1_795_428_000_000);
    #[allow(clippy::cast_possible_wrap)]
    let ticks = (seconds * 10) as i64;
    let window = TimeRange {
        start,
        // The last tick's collection jitter (< 3 ms) stays inside.
        end: start.add_nanos(ticks * TICK_NS + 3_000_000),
    };
    let ring = fill_ring(series_count, ticks, start, seconds);
    let events = events(ticks, start);
    let trigger = Trigger {
        rule: "bench-capture".into(),
        rule_type: "metric_threshold".into(),
        severity: Severity::High,
        fired_at: window.end,
        summary: "bench: cpu.total.busy_pct above 90 for 5 s".into(),
        evidence: vec![],
        labels: Default::default(),
    };
    let device = DeviceId::new("bench")?;
    let dir = std::env::temp_dir().join(format!("rewind-bench-capture-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    let result = measure(&ring, &events, &trigger, &device, window, &dir, iterations);
    fs_err::remove_dir_all(&dir).ok();
    let mut m = result?;
    let (snapshot_p50, snapshot_p99) = percentiles(&mut m.snapshot_ms);
    let (write_p50, write_p99) = percentiles(&mut m.write_ms);
    let (total_p50, total_p99) = percentiles(&mut m.total_ms);
    let (base_p50, base_p99) = percentiles(&mut m.baseline_ms);
    let stages = (0..stage_values(&WriteStages::default()).len())
        .map(|i| {
            let mut ms: Vec<f64> = m
                .stages
                .iter()
                .filter_map(|s| stage_values(s).get(i).map(|v| v.1.as_secs_f64() * 1e3))
                .collect();
            let (p50_ms, p99_ms) = percentiles(&mut ms);
            let (stage, _, concurrent) = stage_values(&WriteStages::default())
                .get(i)
                .copied()
                .unwrap_or(("", std::time::Duration::ZERO, false));
            StageFigures {
                stage,
                p50_ms,
                p99_ms,
                concurrent,
            }
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let figures = CaptureFigures {
        seconds,
        series: series_count,
        iterations,
        samples: m.samples,
        events: events.len(),
        snapshot_p50_ms: snapshot_p50,
        snapshot_p99_ms: snapshot_p99,
        write_p50_ms: write_p50,
        write_p99_ms: write_p99,
        total_p50_ms: total_p50,
        total_p99_ms: total_p99,
        target_ms: TARGET_MS,
        bundle_bytes: m.bundle_bytes,
        recording_bytes: m.recording_bytes,
        recording_compression: m.compression,
        bytes_per_sample: m.bundle_bytes as f64 / m.samples.max(1) as f64,
        baseline_bytes: m.baseline_bytes,
        baseline_write_p50_ms: base_p50,
        baseline_write_p99_ms: base_p99,
        stages,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &figures)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &figures)?;
    }
    Ok(())
}

struct Measured {
    samples: usize,
    snapshot_ms: Vec<f64>,
    write_ms: Vec<f64>,
    total_ms: Vec<f64>,
    baseline_ms: Vec<f64>,
    bundle_bytes: u64,
    recording_bytes: u64,
    compression: String,
    baseline_bytes: u64,
    stages: Vec<WriteStages>,
}

fn measure(
    ring: &Ring,
    events: &[Event],
    trigger: &Trigger,
    device: &DeviceId,
    window: TimeRange,
    dir: &std::path::Path,
    iterations: usize,
) -> anyhow::Result<Measured> {
    let mut m = Measured {
        samples: 0,
        snapshot_ms: Vec::new(),
        write_ms: Vec::new(),
        total_ms: Vec::new(),
        baseline_ms: Vec::new(),
        bundle_bytes: 0,
        recording_bytes: 0,
        compression: String::new(),
        baseline_bytes: 0,
        stages: Vec::new(),
    };
    let extras = BundleExtras::default();
    for _ in 0..iterations {
        let started = Instant::now();
        let snapshot = ring.snapshot(window);
        let series: Vec<SeriesInput> = snapshot
            .into_iter()
            .map(|(name, unit, samples)| SeriesInput {
                name,
                unit: unit.into_owned(),
                samples,
            })
            .collect();
        let snapped = started.elapsed();
        let input = BundleInput {
            bundle_id: BundleId::new_v7(),
            device_id: device,
            agent_version: env!("CARGO_PKG_VERSION"),
            created_at: window.end,
            trigger,
            window,
            series: &series,
            events,
            attachments: &[],
            extras: &extras,
        };
        let written = write_bundle(dir, &input)?;
        let total = started.elapsed();
        m.snapshot_ms.push(snapped.as_secs_f64() * 1e3);
        m.write_ms.push((total - snapped).as_secs_f64() * 1e3);
        m.total_ms.push(total.as_secs_f64() * 1e3);
        m.stages.push(written.stages);
        m.samples = series.iter().map(|s| s.samples.len()).sum();
        m.bundle_bytes = written.size;
        m.recording_bytes = written.manifest.file(RECORDING_PATH).map_or(0, |f| f.size);
        m.compression = written
            .manifest
            .recording
            .as_ref()
            .map(|r| r.compression.clone())
            .unwrap_or_default();
        fs_err::remove_file(&written.path)?;
        // Baseline: the same samples as raw (unix nanos, value) pairs, one file, fsync.
        let started = Instant::now();
        let mut raw = Vec::with_capacity(m.samples * 16);
        for s in &series {
            for x in &s.samples {
                raw.extend_from_slice(&x.ts.as_unix_nanos().to_le_bytes());
                raw.extend_from_slice(&x.value.to_le_bytes());
            }
        }
        let path = dir.join("baseline.bin");
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&raw)?;
        f.sync_all()?;
        m.baseline_ms.push(started.elapsed().as_secs_f64() * 1e3);
        m.baseline_bytes = u64::try_from(raw.len()).unwrap_or(u64::MAX);
        drop(f);
        fs_err::remove_file(&path)?;
    }
    Ok(m)
}

/// Series names and units like the default collectors': CPU per core,
/// memory, disks, network, pressure, temperatures, processes.
fn name_and_unit(i: usize) -> (String, &'static str) {
    const FIXED: [(&str, &str); 8] = [
        ("cpu.total.busy_pct", "percent"),
        ("memory.available_bytes", "bytes"),
        ("memory.used_pct", "percent"),
        ("load.1m", "count"),
        ("pressure.cpu.some_pct", "percent"),
        ("pressure.memory.some_pct", "percent"),
        ("pressure.io.some_pct", "percent"),
        ("system.procs_running", "count"),
    ];
    if let Some((n, u)) = FIXED.get(i) {
        return ((*n).to_owned(), u);
    }
    let j = i - FIXED.len();
    match j % 6 {
        0 => (format!("cpu.core{}.busy_pct", j / 6), "percent"),
        1 => (
            format!("disk.d{}.read_bytes_per_s", j / 6),
            "bytes_per_second",
        ),
        2 => (
            format!("net.if{}.rx_bytes_per_s", j / 6),
            "bytes_per_second",
        ),
        3 => (format!("thermal.zone{}.celsius", j / 6), "celsius"),
        4 => (format!("process.p{}.rss_bytes", j / 6), "bytes"),
        _ => (format!("process.p{}.cpu_pct", j / 6), "percent"),
    }
}

/// A ring holding `ticks` ticks of every series, as the hub fills it.
fn fill_ring(series: usize, ticks: i64, start: Timestamp, seconds: u64) -> Ring {
    let keep = i64::try_from(seconds).unwrap_or(300) * 1_000_000_000 + 5_000_000_000;
    let mut ring = Ring::new(keep);
    let named: Vec<(SeriesName, Unit)> = (0..series)
        .map(|i| {
            let (n, u) = name_and_unit(i);
            let name = SeriesName::new(&n).unwrap_or_else(|_| unreachable!("valid name {n}"));
            (name, Unit::Borrowed(u))
        })
        .collect();
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut level: Vec<f64> = vec![50.0; series];
    for tick in 0..=ticks {
        // Collection jitter of a few ms, the same for every series of a tick.
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let jitter = i64::try_from((rng >> 33) % 3_000_000).unwrap_or(0);
        let ts = start.add_nanos(tick * TICK_NS + jitter);
        for (i, (name, unit)) in named.iter().enumerate() {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            #[allow(clippy::cast_precision_loss)]
            let step = ((rng >> 40) % 1000) as f64 / 100.0 - 5.0;
            level[i] = (level[i] + step).clamp(0.0, 100.0);
            let v = match unit.as_ref() {
                "bytes" => (level[i] * 40_000_000.0).round(),
                "bytes_per_second" => (level[i] * 100_000.0).round(),
                "count" => level[i].round(),
                _ => (level[i] * 10.0).round() / 10.0,
            };
            ring.push(name, unit, Sample::new(ts, v));
        }
        ring.maintain();
    }
    ring
}

/// A few hundred events over the window: logs, and some typed ones.
fn events(ticks: i64, start: Timestamp) -> Vec<Event> {
    let n = 300_i64;
    (0..n)
        .map(|i| {
            let ts = start.add_nanos(i * ticks * TICK_NS / n);
            let (source, kind, level, msg) = match i % 10 {
                0 => (
                    "kmsg",
                    EventKind::Log,
                    Level::Warning,
                    format!("usb 1-1: reset high-speed USB device number {i}"),
                ),
                1 => (
                    "process",
                    EventKind::ProcessRestarted,
                    Level::Warning,
                    format!("camera_driver restarted (pid {})", 4000 + i),
                ),
                _ => (
                    "journal",
                    EventKind::Log,
                    Level::Info,
                    format!("navigation[812]: planner cycle {i} took {} ms", 20 + i % 7),
                ),
            };
            Event::new(ts, source, kind, level, msg)
        })
        .collect()
}

fn print_table(out: &mut impl std::io::Write, f: &CaptureFigures) -> std::io::Result<()> {
    writeln!(
        out,
        "rewind bench capture: {} series at 10 Hz for {} s, {} events, {} runs",
        f.series, f.seconds, f.events, f.iterations
    )?;
    writeln!(out, "{:<34} {:>14}  baseline / target", "figure", "value")?;
    let rows = [
        (
            "samples in the bundle",
            f.samples.to_string(),
            String::new(),
        ),
        (
            "ring snapshot p50 / p99, ms",
            format!("{:.1} / {:.1}", f.snapshot_p50_ms, f.snapshot_p99_ms),
            String::new(),
        ),
        (
            "write + fsync p50 / p99, ms",
            format!("{:.1} / {:.1}", f.write_p50_ms, f.write_p99_ms),
            format!(
                "raw pairs + fsync {:.1} / {:.1}",
                f.baseline_write_p50_ms, f.baseline_write_p99_ms
            ),
        ),
        (
            "trigger to sealed p50 / p99, ms",
            format!("{:.1} / {:.1}", f.total_p50_ms, f.total_p99_ms),
            format!("target < {:.0}", f.target_ms),
        ),
        (
            "bundle bytes",
            f.bundle_bytes.to_string(),
            format!("raw pairs {}", f.baseline_bytes),
        ),
        (
            "recording.mcap bytes",
            f.recording_bytes.to_string(),
            format!("chunks {}", f.recording_compression),
        ),
        (
            "bundle bytes per sample",
            format!("{:.2}", f.bytes_per_sample),
            "raw pairs 16".to_owned(),
        ),
    ];
    for (name, value, note) in rows {
        writeln!(out, "{name:<34} {value:>14}  {note}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<34} {:>14}  (the recording runs on its own thread while the",
        "write stage", "p50 / p99, ms"
    )?;
    writeln!(
        out,
        "{:<34} {:>14}   stages above it run; \"wait\" is what is left of it)",
        "", ""
    )?;
    for s in &f.stages {
        let name = if s.concurrent {
            format!("  ∥ {}", s.stage)
        } else {
            format!("  {}", s.stage)
        };
        let value = format!("{:.1} / {:.1}", s.p50_ms, s.p99_ms);
        writeln!(out, "{name:<34} {value:>14}")?;
    }
    Ok(())
}
