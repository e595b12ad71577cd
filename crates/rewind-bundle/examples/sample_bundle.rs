//! Writes a realistic bundle and reports its size and write time.
//!
//! ```text
//! cargo run -p rewind-bundle --example sample_bundle -- OUT_DIR [SERIES SECONDS HZ EVENTS]
//! ```
//!
//! Defaults: 100 series (80 metrics, 10 `topic.*`, 10 `node.*`) sampled at
//! 10 Hz for 60 s, and 500 events (400 log lines from `journal`, `kmsg` and a
//! tailed file, 100 typed events), plus a few attachments. Prints the bundle's
//! path on stdout (for `REWIND_BUNDLE=$(…)`), and size, write time and member
//! sizes on stderr. Values come from a fixed-seed generator, so the same
//! arguments give the same bundle.

use std::{
    error::Error,
    path::PathBuf,
    time::{Duration, Instant},
};

use rewind_bundle::{
    Attachment, BundleExtras, BundleInput, Limits, Redaction, SeriesInput, read_bundle,
    write_bundle,
};
use rewind_model::{
    BundleId, Comparison, DeviceId, Event, EventKind, Evidence, Level, Sample, SeriesName,
    Severity, TimeRange, Timestamp, Trigger,
};

/// A small deterministic generator (SplitMix64), so the example needs no
/// random-number crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)] // 53 bits are exact
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

struct Shape {
    series: usize,
    seconds: i64,
    hz: i64,
    events: usize,
}

fn shape(args: &[String]) -> Result<Shape, Box<dyn Error>> {
    let arg = |i: usize, default: i64| -> Result<i64, Box<dyn Error>> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    Ok(Shape {
        series: usize::try_from(arg(1, 100)?)?,
        seconds: arg(2, 60)?,
        hz: arg(3, 10)?.max(1),
        events: usize::try_from(arg(4, 500)?)?,
    })
}

fn series(shape: &Shape, t0: Timestamp, rng: &mut Rng) -> Result<Vec<SeriesInput>, Box<dyn Error>> {
    let step = 1_000_000_000 / shape.hz;
    let count = shape.seconds * shape.hz;
    let mut out = Vec::with_capacity(shape.series);
    for i in 0..shape.series {
        let (name, unit) = match i % 10 {
            0 => (format!("topic./camera_{i}/image_raw.rate_hz"), "hz"),
            1 => (format!("node.driver_{i}.alive"), "bool"),
            _ => (format!("proc.worker_{i}.cpu_pct"), "percent"),
        };
        let mut value = 50.0;
        let samples = (0..count)
            .map(|k| {
                value = (value + (rng.unit() - 0.5) * 4.0).clamp(0.0, 100.0);
                let rounded = (value * 100.0).round() / 100.0;
                Sample::new(t0.add_nanos(k * step), rounded)
            })
            .collect();
        out.push(SeriesInput {
            name: SeriesName::new(name)?,
            unit: unit.into(),
            samples,
        });
    }
    Ok(out)
}

fn events(shape: &Shape, t0: Timestamp, rng: &mut Rng) -> Vec<Event> {
    let span = shape.seconds.max(1) * 1_000_000_000;
    let count = i64::try_from(shape.events).unwrap_or(i64::MAX).max(1);
    (0..shape.events)
        .map(|i| {
            let at = t0.add_nanos(span / count * i64::try_from(i).unwrap_or(0));
            let pid = rng.next() % 30_000;
            match i % 5 {
                0 => Event::new(
                    at,
                    "journal",
                    EventKind::Log,
                    Level::Info,
                    format!("camera.service: frame {i} late by 12 ms"),
                ),
                1 => Event::new(
                    at,
                    "kmsg",
                    EventKind::Log,
                    Level::Warning,
                    format!("usb 1-2: reset high-speed USB device number {}", i % 7),
                ),
                2 => Event::new(
                    at,
                    "file:/var/log/planner.log",
                    EventKind::Log,
                    Level::Debug,
                    format!("planner tick {i}: 42 candidates"),
                ),
                3 => Event::new(
                    at,
                    "journal",
                    EventKind::Log,
                    Level::Error,
                    format!("perception[{pid}]: queue full, dropping frame"),
                ),
                _ => Event::new(
                    at,
                    "process",
                    EventKind::ProcessRestarted,
                    Level::Warning,
                    "camera_driver restarted",
                )
                .with("pid", pid)
                .with("process", "camera_driver"),
            }
        })
        .collect()
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: sample_bundle OUT_DIR [SERIES SECONDS HZ EVENTS]")?,
    );
    let shape = shape(&args)?;
    fs_create_dir(&dir)?;
    let t0 = Timestamp::from_unix_millis(1_795_428_000_000);
    let fired_at = t0.add_nanos(shape.seconds * 1_000_000_000 * 5 / 6);
    let mut rng = Rng(5);
    let series = series(&shape, t0, &mut rng)?;
    let events = events(&shape, t0, &mut rng);
    let watched = SeriesName::new("proc.worker_2.cpu_pct")?;
    let trigger = Trigger {
        rule: "camera-starvation".into(),
        rule_type: "metric_threshold".into(),
        severity: Severity::High,
        fired_at,
        summary: "topic./camera/image_raw.rate_hz stayed below 20 for 2.0 s".into(),
        evidence: vec![Evidence::new(
            watched,
            Comparison::Below(20.0),
            12.0,
            3.0,
            t0,
            20,
        )],
        labels: [("team".to_owned(), "perception".to_owned())].into(),
    };
    let attachments = [
        Attachment::new("system/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12\"\n"),
        Attachment::new(
            "system/agent.yaml",
            "version: 1\nserver:\n  token: [redacted]\n",
        ),
        Attachment::new(
            "processes/camera_driver/status",
            "Name:\tcamera_driver\nState:\tS (sleeping)\nThreads:\t12\n",
        ),
        Attachment::new(
            "processes/camera_driver/limits",
            "Max open files 1024 4096 files\n",
        ),
    ];
    let extras = BundleExtras {
        fleet: Some("warehouse-east".into()),
        redactions: vec![Redaction {
            name: "bearer_token".into(),
            count: 1,
        }],
        losses: [
            ("samples_dropped_queue_full".to_owned(), 0),
            ("events_dropped".to_owned(), 0),
        ]
        .into(),
        notes: vec!["eu-stack not installed: no user-space stacks".into()],
    };
    let device = DeviceId::new("robot-7")?;
    let input = BundleInput {
        bundle_id: BundleId::new_v7(),
        device_id: &device,
        agent_version: env!("CARGO_PKG_VERSION"),
        created_at: fired_at.add_nanos(10_000_000_000),
        trigger: &trigger,
        window: TimeRange {
            start: t0,
            end: t0.add_nanos(shape.seconds * 1_000_000_000),
        },
        series: &series,
        events: &events,
        attachments: &attachments,
        extras: &extras,
    };
    let started = Instant::now();
    let written = write_bundle(&dir, &input)?;
    let write_time = started.elapsed();
    let bytes = std::fs::read(&written.path)?;
    let started = Instant::now();
    read_bundle(&bytes, &Limits::default())?;
    report(&written, write_time, started.elapsed());
    println!("{}", written.path.display());
    Ok(())
}

fn report(written: &rewind_bundle::WrittenBundle, write: Duration, read: Duration) {
    let m = &written.manifest;
    let samples: u64 = m.series.iter().map(|s| s.samples).sum();
    eprintln!(
        "{} series, {samples} samples, {} events: bundle {} bytes, written in {:.0} ms, read back in {:.0} ms",
        m.series.len(),
        m.events,
        written.size,
        write.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e3,
    );
    let group = |prefix: &str| -> u64 {
        m.files
            .iter()
            .filter(|f| f.path.starts_with(prefix))
            .map(|f| f.size)
            .sum()
    };
    for prefix in [
        "metrics/",
        "topics/",
        "nodes/",
        "events.jsonl",
        "logs/",
        "recording.mcap",
    ] {
        eprintln!("  {prefix:<15} {:>10} bytes uncompressed", group(prefix));
    }
}

fn fs_create_dir(dir: &std::path::Path) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()).into())
}
