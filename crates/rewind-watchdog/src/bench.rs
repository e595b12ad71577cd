//! The watchdog's own figures, measured on this machine (`rewind bench
//! watchdog` prints them): the CPU time of its tick thread at the default
//! interval inside a busy tokio program, and how long after a breach the
//! thread stacks are written.
//!
//! Only the forced `fds` breach captures: scheduling latency is checked
//! but warn-only, RSS is not checked.
//!
//! The busy program is a multi-thread runtime (`workers` threads) running
//! `busy_tasks` tasks that each compute for about 200 µs and yield, for
//! ever: every worker is always runnable, as in a saturated service, so
//! the watchdog's thread competes for the CPU. The forced breach opens 64
//! descriptors past an `fds` threshold set just above the count at start.
//!
//! The CPU figure is the tick thread's only (`/proc/self/task/<tid>/schedstat`):
//! the probe task's share of the workers (a wake-up every 20 ms) is not in
//! it. Nothing here prints; the caller renders [`BenchReport`].

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

/// What to measure, and how long.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The watchdog's directory (a fresh temporary directory is best).
    pub dir: PathBuf,
    /// How long the tick thread's CPU time is measured.
    pub measure: Duration,
    /// The check interval (default 500 ms, the watchdog's default).
    pub interval: Duration,
    /// Runtime worker threads.
    pub workers: usize,
    /// Busy tasks on the runtime.
    pub busy_tasks: usize,
}

impl BenchOptions {
    /// The full run: 20 s at 500 ms on 2 workers with 8 busy tasks.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            measure: Duration::from_secs(20),
            interval: Duration::from_millis(500),
            workers: 2,
            busy_tasks: 8,
        }
    }

    /// A run of about three seconds, for tests.
    pub fn quick(dir: impl Into<PathBuf>) -> Self {
        Self {
            measure: Duration::from_secs(2),
            ..Self::new(dir)
        }
    }
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The check interval.
    pub interval_ms: f64,
    /// Wall time measured.
    pub measured_s: f64,
    /// Ticks during it.
    pub ticks: u64,
    /// CPU time of the tick thread during it.
    pub watchdog_cpu_ms: f64,
    /// That, as a percentage of one CPU over the wall time (target < 1%).
    pub cpu_percent: f64,
    /// CPU time per tick.
    pub cpu_per_tick_us: f64,
    /// The probe's p99 at the end of the busy period, in ms.
    pub probe_p99_ms: Option<f64>,
    /// `eu-stack`, or `proc` (the /proc thread table only).
    pub stack_source: String,
    /// From the start of the tick that saw the breach to the thread stacks written.
    pub tick_to_stacks_ms: f64,
    /// From the moment the descriptors were opened to the thread stacks
    /// written: up to one interval of waiting for the tick, plus the above.
    pub breach_to_stacks_ms: f64,
    /// Whether the stacks were written within the tick that saw the breach
    /// (`tick_to_stacks_ms` below the interval).
    pub stacks_within_tick: bool,
    /// The capture directory.
    pub capture: Option<PathBuf>,
    /// Resident memory of the process before the breach, in MiB.
    pub rss_before_mib: Option<f64>,
    /// Resident memory after the capture and its CPU profile were written
    /// (the profile is symbolized through the binary's debug info), in MiB.
    pub rss_after_mib: Option<f64>,
}

/// Runs the bench.
///
/// # Errors
/// The watchdog's [`Error`](crate::Error) when it cannot be installed, or
/// [`Error::Spawn`](crate::Error::Spawn) when the runtime cannot start.
#[cfg(feature = "tokio")]
pub fn run(opts: &BenchOptions) -> crate::Result<BenchReport> {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::Instant,
    };

    use crate::{Metric, MetricConfig, Rule, Watchdog};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.workers.max(1))
        .enable_all()
        .build()
        .map_err(crate::Error::Spawn)?;
    let busy = Arc::new(AtomicBool::new(true));
    for _ in 0..opts.busy_tasks {
        let busy = Arc::clone(&busy);
        rt.spawn(async move {
            let mut x = 0_u64;
            while busy.load(Ordering::Relaxed) {
                let spin = Instant::now();
                while spin.elapsed() < Duration::from_micros(200) {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                }
                std::hint::black_box(x);
                tokio::task::yield_now().await;
            }
        });
    }
    let fds_now = crate::thresholds::read::fd_count(std::path::Path::new("/proc")).unwrap_or(64);
    #[allow(clippy::cast_precision_loss)]
    let threshold = (fds_now + 32) as f64;
    let dog = Watchdog::builder(&opts.dir)
        .interval(opts.interval)
        .tokio(rt.handle().clone())
        .metric(Metric::Fds, MetricConfig::capture([Rule::above(threshold)]))
        // Checked (its cost is measured) but never capturing: a saturated
        // runtime on a loaded machine can pass 10 ms, and a capture inside
        // the measured window would be measured with it.
        .warn_only(Metric::SchedLatency)
        .disable(Metric::Rss)
        .baseline(None)
        .panic_hook(false)
        .history(false)
        .version(env!("CARGO_PKG_VERSION"))
        .install()?;
    // Let the thread start and the probe fill its window.
    std::thread::sleep(opts.interval * 2);
    let status = dog.status();
    let tid = status.tick_thread;
    let cpu0 = tid.and_then(thread_cpu_time);
    let (ticks0, t0) = (status.ticks, Instant::now());
    std::thread::sleep(opts.measure);
    let cpu1 = tid.and_then(thread_cpu_time);
    let measured = t0.elapsed();
    let status = dog.status();
    let ticks = status.ticks - ticks0;
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => Duration::ZERO,
    };
    let probe_p99_ms = status.last_sample.and_then(|s| s.sched_latency_ms);

    let rss_before_mib = rss_mib();
    let opened_at = Instant::now();
    let leak: Vec<std::fs::File> = (0..64)
        .filter_map(|_| std::fs::File::open("/dev/null").ok())
        .collect();
    let deadline = opened_at + opts.interval * 10;
    let mut after = dog.status();
    while after.stacks_written_at.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        after = dog.status();
    }
    drop(leak);
    busy.store(false, Ordering::Relaxed);
    dog.shutdown();
    let rss_after_mib = rss_mib();
    rt.shutdown_timeout(Duration::from_secs(2));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let tick_to_stacks_ms = after.last_stacks_ms.unwrap_or(f64::NAN);
    #[allow(clippy::cast_precision_loss)]
    let per_tick = if ticks == 0 {
        0.0
    } else {
        cpu.as_secs_f64() * 1e6 / ticks as f64
    };
    Ok(BenchReport {
        interval_ms: ms(opts.interval),
        measured_s: measured.as_secs_f64(),
        ticks,
        watchdog_cpu_ms: ms(cpu),
        cpu_percent: cpu.as_secs_f64() / measured.as_secs_f64().max(1e-9) * 100.0,
        cpu_per_tick_us: per_tick,
        probe_p99_ms,
        stack_source: after.stack_source.clone(),
        tick_to_stacks_ms,
        breach_to_stacks_ms: after
            .stacks_written_at
            .map_or(f64::NAN, |at| ms(at.saturating_duration_since(opened_at))),
        stacks_within_tick: tick_to_stacks_ms < ms(opts.interval),
        capture: after.last_capture,
        rss_before_mib,
        rss_after_mib,
    })
}

#[cfg(feature = "tokio")]
#[allow(clippy::cast_precision_loss)]
fn rss_mib() -> Option<f64> {
    let s = crate::thresholds::read::status(std::path::Path::new("/proc")).ok()?;
    s.rss_bytes.map(|b| b as f64 / (1024.0 * 1024.0))
}

/// The calling thread's Linux thread id (`/proc/thread-self`).
#[must_use]
pub fn current_thread_id() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// CPU time thread `tid` of this process has used (`schedstat`, in nanoseconds).
#[must_use]
pub fn thread_cpu_time(tid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}
