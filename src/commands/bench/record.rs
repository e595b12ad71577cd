//! `rewind bench record`: the control-loop recorder's figures
//! (`rewind_recorder::bench::run`) against issue 8's targets, next to a
//! baseline measured in the same run: a bare `std` `sync_channel` `try_send`
//! of payloads of the same size into a thread that polls it as the writer
//! does, timed the same way (bursts of 128, then a wait for the drain). That
//! is the recorder's queue without the recorder, the floor `record()` is
//! built on.

use std::{
    io::Write as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{TryRecvError, sync_channel},
    },
    time::{Duration, Instant},
};

use rewind_recorder::{
    DEFAULT_QUEUE_DEPTH,
    bench::{BenchOptions, BenchReport, Latency},
};
use serde::Serialize;

use crate::cli::BenchRecordArgs;

/// p99 of one `record()` call, in ns (issue 8).
const TARGET_RECORD_P99_NS: u64 = 2_000;
/// What the seed promises for the loop's overhead, in ns.
const SEED_RECORD_NS: u64 = 20_000;
/// The seed's zstd reduction of cycle and guard channels.
const TARGET_REDUCTION: f64 = 0.70;

/// What `rewind bench record --json` prints.
#[derive(Debug, Serialize)]
struct RecordFigures {
    #[serde(flatten)]
    report: BenchReport,
    /// `sync_channel::try_send` of the same payload size, timed the same way.
    baseline: Latency,
    targets: Targets,
    /// Each target, met or not.
    meets: Meets,
}

#[derive(Debug, Serialize)]
struct Targets {
    record_p99_ns: u64,
    seed_record_ns: u64,
    dropped: u64,
    min_reduction: f64,
}

#[derive(Debug, Serialize)]
struct Meets {
    record_p99_idle: bool,
    record_p99_loaded: bool,
    no_drops: bool,
    compression: bool,
}

/// `rewind bench record [--seconds N] [--quick] [--json]`.
pub(crate) fn run(args: &BenchRecordArgs) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("rewind-bench-record-")
        .tempdir()?;
    let mut options = if args.quick {
        BenchOptions::quick(dir.path())
    } else {
        BenchOptions::new(dir.path())
    };
    if let Some(s) = args.seconds {
        options.sustained = Duration::from_secs(s.clamp(1, 3600));
    }
    eprintln!(
        "rewind bench record: measuring for about {} s …",
        options.sustained.as_secs() + if args.quick { 2 } else { 5 }
    );
    // The compression figures fill the queue on purpose (they retry until a
    // record is queued): the recorder's queue-full warnings, logged on this
    // thread, would only be noise. The sustained run's drops are in the table.
    let report =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            rewind_recorder::bench::run(&options)
        })?;
    let payload = usize::try_from(report.record.payload_bytes).unwrap_or(512);
    let baseline = baseline(options.latency_samples, payload);
    let figures = RecordFigures {
        meets: Meets {
            record_p99_idle: report.record.p99_ns < TARGET_RECORD_P99_NS,
            record_p99_loaded: report.sustained.record.p99_ns < TARGET_RECORD_P99_NS,
            no_drops: report.sustained.dropped == 0,
            compression: report
                .compression
                .iter()
                .all(|c| c.reduction >= TARGET_REDUCTION),
        },
        report,
        baseline,
        targets: Targets {
            record_p99_ns: TARGET_RECORD_P99_NS,
            seed_record_ns: SEED_RECORD_NS,
            dropped: 0,
            min_reduction: TARGET_REDUCTION,
        },
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(serde_json::to_string_pretty(&figures)?.as_bytes())?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &figures)?;
    }
    out.flush()?;
    Ok(())
}

/// `try_send` into a `sync_channel` of the recorder's default depth, drained
/// by a thread that polls it every 500 µs as the recorder's writer does (a
/// blocking `recv` would make senders pay for waking it), in bursts of 128
/// with a wait for the drain between them.
fn baseline(samples: usize, payload_bytes: usize) -> Latency {
    let (tx, rx) = sync_channel::<Vec<u8>>(DEFAULT_QUEUE_DEPTH);
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let drain = std::thread::spawn(move || {
        loop {
            match rx.try_recv() {
                Ok(message) => {
                    drop(message);
                    counter.fetch_add(1, Ordering::Release);
                }
                Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_micros(500)),
                Err(TryRecvError::Disconnected) => break,
            }
        }
    });
    let payload = vec![b'x'; payload_bytes];
    let mut times = Vec::with_capacity(samples);
    let mut sent = 0_u64;
    for i in 0..samples {
        let p = payload.clone();
        let began = Instant::now();
        let queued = tx.try_send(p).is_ok();
        times.push(began.elapsed());
        sent += u64::from(queued);
        if i % 128 == 127 {
            while received.load(Ordering::Acquire) < sent {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
    drop(tx);
    drain.join().ok();
    times.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len().max(1)) - 1;
        times.get(i).map_or(0, |d| nanos(*d))
    };
    Latency {
        samples: times.len() as u64,
        payload_bytes: payload_bytes as u64,
        p50_ns: at(0.50),
        p99_ns: at(0.99),
        p999_ns: at(0.999),
        max_ns: times.last().map_or(0, |d| nanos(*d)),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn ok(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

fn mb(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let x = bytes as f64 / 1e6;
    format!("{x:.2} MB")
}

/// One table row: figure, value, baseline or target.
type Row = (String, String, String);

fn print_table(out: &mut impl std::io::Write, f: &RecordFigures) -> std::io::Result<()> {
    let r = &f.report;
    let s = &r.sustained;
    writeln!(
        out,
        "rewind bench record: rewind-recorder, {} timed calls, {:.1} s at {:.0} Hz x {} channels",
        r.record.samples, s.seconds, s.rate_hz, s.messages_per_cycle
    )?;
    writeln!(out, "{:<40} {:>22}  baseline / target", "figure", "value")?;
    let rows = latency_rows(f)
        .into_iter()
        .chain(sustained_rows(f))
        .chain(compression_rows(f));
    for (name, value, note) in rows {
        writeln!(out, "{name:<40} {value:>22}  {note}")?;
    }
    Ok(())
}

fn lat(l: &Latency) -> String {
    format!("{} / {} / {}", l.p50_ns, l.p99_ns, l.p999_ns)
}

/// `record()` idle (against the baseline) and during the 1 kHz run.
fn latency_rows(f: &RecordFigures) -> [Row; 2] {
    let (r, b) = (&f.report, &f.baseline);
    [
        (
            format!(
                "record() idle p50/p99/p99.9, ns ({} B)",
                r.record.payload_bytes
            ),
            lat(&r.record),
            format!(
                "try_send {} (record() p99 {:.2}x); target p99 < {}: {} (seed < {} us)",
                lat(b),
                ratio(r.record.p99_ns, b.p99_ns),
                TARGET_RECORD_P99_NS,
                ok(f.meets.record_p99_idle),
                SEED_RECORD_NS / 1000
            ),
        ),
        (
            "record() at 1 kHz p50/p99/p99.9, ns".to_owned(),
            lat(&r.sustained.record),
            format!(
                "target p99 < {}: {}; slowest {} ns",
                TARGET_RECORD_P99_NS,
                ok(f.meets.record_p99_loaded),
                r.sustained.record.max_ns
            ),
        ),
    ]
}

/// The sustained run: messages, drops, writer CPU, bytes.
fn sustained_rows(f: &RecordFigures) -> [Row; 4] {
    let s = &f.report.sustained;
    [
        (
            "1 kHz run: cycles / messages written".to_owned(),
            format!("{} / {}", s.cycles, s.written),
            format!(
                "{} queued; {} late cycles (the loop's own)",
                s.queued, s.late_cycles
            ),
        ),
        (
            "1 kHz run: dropped".to_owned(),
            s.dropped.to_string(),
            format!("target 0: {}", ok(f.meets.no_drops)),
        ),
        (
            "writer thread CPU, % of one core".to_owned(),
            s.writer_cpu_share
                .map_or_else(|| "n/a".to_owned(), |x| format!("{:.2}", x * 100.0)),
            s.writer_cpu_seconds.map_or_else(String::new, |c| {
                format!("{c:.2} s of CPU in {:.1} s", s.seconds)
            }),
        ),
        (
            "bytes on disk, 1 kHz run".to_owned(),
            mb(s.file_bytes),
            format!("{:.2} GB an hour", per_hour(s.file_bytes, s.seconds)),
        ),
    ]
}

/// zstd reduction per channel group, against the seed's 70 %.
fn compression_rows(f: &RecordFigures) -> Vec<Row> {
    f.report
        .compression
        .iter()
        .map(|c| {
            let name = match c.channels.as_str() {
                "cycle" => "/dam/cycle",
                "guard" => "/dam/L0..L3",
                other => other,
            };
            (
                format!("zstd chunks {name}, reduction"),
                format!("{:.1} %", c.reduction * 100.0),
                format!(
                    "{} -> {} (ratio {:.3}); target >= {:.0} %: {}",
                    mb(c.uncompressed_bytes),
                    mb(c.compressed_bytes),
                    c.ratio,
                    TARGET_REDUCTION * 100.0,
                    ok(c.reduction >= TARGET_REDUCTION)
                ),
            )
        })
        .collect()
}

#[allow(clippy::cast_precision_loss)]
fn per_hour(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds.max(1e-9) * 3600.0 / 1e9
}
