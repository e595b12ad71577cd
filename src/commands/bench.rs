//! `rewind bench …`: Rewind's own costs, measured on this machine, each
//! next to a baseline measured in the same run.

mod capture;
mod detect;
mod record;
mod rules;
mod server;

use std::{
    collections::VecDeque,
    io::Write as _,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use rewind_agent::{AgentConfig, AgentStats, Ring, collect::CollectorsConfig};
use rewind_detect::RuleSet;
use rewind_model::{DeviceId, Sample, SeriesName, Timestamp};
use serde::Serialize;

pub(crate) use self::detect::run as detect;
pub(crate) use self::record::run as record;
pub(crate) use self::{capture::run as capture, rules::run as rules, server::run as server};

/// A rule on a series nobody produces: the engine runs, nothing trips.
const QUIET_RULES: &str = "triggers:\n  - name: bench\n    type: metric_threshold\n    metric: bench.never\n    threshold: { above: 0 }\n    severity: info\n";

/// What `rewind bench agent` measured.
#[derive(Debug, Serialize)]
struct AgentFigures {
    seconds: f64,
    cpu_pct_of_one_core: f64,
    peak_rss_mb: f64,
    baseline_rss_mb: f64,
    samples_per_second: f64,
    ring_samples: u64,
    ring_bytes_per_sample: f64,
    plain_bytes_per_sample: f64,
    pass_p50_us: f64,
    pass_p99_us: f64,
    push_p50_ns: f64,
    push_p98_ns: f64,
    push_p99_ns: f64,
    baseline_push_p50_ns: f64,
    baseline_push_p99_ns: f64,
    /// What timing one push costs, subtracted from every `push_*` figure.
    push_timer_ns: f64,
    /// `push_p99_ns` before that subtraction.
    push_p99_raw_ns: f64,
}

/// `rewind bench agent --seconds N [--json]`.
pub(crate) async fn agent(seconds: u64, json: bool) -> anyhow::Result<()> {
    let seconds = seconds.clamp(1, 3600);
    let baseline_rss = self_status_kib("VmRSS:").unwrap_or(0);
    let (run_secs, cpu, stats) = run_agent(Duration::from_secs(seconds)).await?;
    let peak_rss = self_status_kib("VmHWM:").unwrap_or(0);
    let (pass_p50, pass_p99) = collection_pass_us(200);
    let push = push_latency_ns(200_000);
    let samples = stats.ring_samples.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let figures = AgentFigures {
        seconds: run_secs,
        cpu_pct_of_one_core: cpu,
        peak_rss_mb: peak_rss as f64 / 1024.0,
        baseline_rss_mb: baseline_rss as f64 / 1024.0,
        samples_per_second: stats.readings.load(Ordering::Relaxed) as f64 / run_secs,
        ring_samples: samples,
        ring_bytes_per_sample: stats.ring_bytes.load(Ordering::Relaxed) as f64
            / samples.max(1) as f64,
        plain_bytes_per_sample: std::mem::size_of::<Sample>() as f64,
        pass_p50_us: pass_p50,
        pass_p99_us: pass_p99,
        push_p50_ns: push.ring.0,
        push_p98_ns: push.ring.1,
        push_p99_ns: push.ring.2,
        baseline_push_p50_ns: push.plain.0,
        baseline_push_p99_ns: push.plain.1,
        push_timer_ns: push.timer,
        push_p99_raw_ns: push.ring_p99_raw,
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &figures)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &figures)?;
    }
    Ok(())
}

fn print_table(out: &mut impl std::io::Write, f: &AgentFigures) -> std::io::Result<()> {
    writeln!(
        out,
        "rewind bench agent: default collectors at 10 Hz for {:.1} s",
        f.seconds
    )?;
    writeln!(out, "{:<34} {:>12}  baseline / target", "figure", "value")?;
    let rows = [
        (
            "agent CPU, % of one core",
            format!("{:.2}", f.cpu_pct_of_one_core),
            "target < 1".to_owned(),
        ),
        (
            "peak RSS, MB",
            format!("{:.1}", f.peak_rss_mb),
            format!("{:.1} before start; target < 25", f.baseline_rss_mb),
        ),
        (
            "samples per second",
            format!("{:.0}", f.samples_per_second),
            String::new(),
        ),
        (
            "samples in the ring",
            f.ring_samples.to_string(),
            String::new(),
        ),
        (
            "ring bytes per sample",
            format!("{:.2}", f.ring_bytes_per_sample),
            format!(
                "plain (ts, value) {:.0}: {:.1}x smaller; target <= 4",
                f.plain_bytes_per_sample,
                f.plain_bytes_per_sample / f.ring_bytes_per_sample.max(f64::MIN_POSITIVE)
            ),
        ),
        (
            "collection pass p50 / p99, µs",
            format!("{:.0} / {:.0}", f.pass_p50_us, f.pass_p99_us),
            String::new(),
        ),
        (
            "ring push p50 / p98 / p99, ns",
            format!(
                "{:.0} / {:.0} / {:.0}",
                f.push_p50_ns, f.push_p98_ns, f.push_p99_ns
            ),
            format!(
                "VecDeque push {:.0} / {:.0}; timer's {:.0} subtracted (p99 {:.0} with it); \
                 target p99 < 100",
                f.baseline_push_p50_ns, f.baseline_push_p99_ns, f.push_timer_ns, f.push_p99_raw_ns
            ),
        ),
    ];
    for (name, value, note) in rows {
        writeln!(out, "{name:<34} {value:>12}  {note}")?;
    }
    Ok(())
}

/// Runs the real agent (no server) and returns wall seconds, its CPU share and its stats.
async fn run_agent(duration: Duration) -> anyhow::Result<(f64, f64, Arc<AgentStats>)> {
    let rules = RuleSet::parse(QUIET_RULES, "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = tempfile_dir()?;
    let mut config = AgentConfig::new(DeviceId::new("bench")?, state.clone(), rules);
    config.collectors = CollectorsConfig::default();
    config.collectors.socket.path = Some(state.join("agent.sock"));
    let stats = Arc::new(AgentStats::default());
    let cpu_before = self_cpu_ticks();
    let started = Instant::now();
    let bar = progress(duration);
    let ticker = async {
        while started.elapsed() < duration {
            tokio::time::sleep(Duration::from_millis(200)).await;
            bar.set_position(started.elapsed().as_millis().try_into().unwrap_or(u64::MAX));
        }
    };
    rewind_agent::run_with(config, None, Some(Arc::clone(&stats)), ticker).await?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let ticks = self_cpu_ticks().saturating_sub(cpu_before);
    fs_err::remove_dir_all(&state).ok();
    #[allow(clippy::cast_precision_loss)]
    let cpu_pct = ticks as f64 / CLK_TCK / wall * 100.0;
    Ok((wall, cpu_pct, stats))
}

fn progress(d: Duration) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(d.as_millis().try_into().unwrap_or(u64::MAX));
    bar.set_style(
        indicatif::ProgressStyle::with_template("running the agent {bar:30} {elapsed}/{duration}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rewind-bench-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    Ok(dir)
}

/// Linux's USER_HZ, fixed at 100 on every architecture Rewind runs on.
const CLK_TCK: f64 = 100.0;

/// utime + stime of this process, in clock ticks.
fn self_cpu_ticks() -> u64 {
    let Ok(stat) = fs_err::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the `(comm)`: state is field 3; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// A `kB` line of /proc/self/status.
fn self_status_kib(key: &str) -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// p50/p99 of one pass over every default polled collector, in µs.
fn collection_pass_us(passes: usize) -> (f64, f64) {
    let Ok(mut built) = CollectorsConfig::default().build() else {
        return (0.0, 0.0);
    };
    let mut times = Vec::with_capacity(passes);
    for _ in 0..passes {
        let started = Instant::now();
        let mut batch = rewind_agent::collect::Batch::new(Timestamp::now());
        for s in &mut built.polled {
            s.poll.poll(&mut batch);
        }
        times.push(started.elapsed().as_secs_f64() * 1e6);
        std::thread::sleep(Duration::from_millis(2));
    }
    percentiles(&mut times)
}

/// Ring push latency next to a `VecDeque`'s, in ns.
struct PushLatency {
    /// p50, p98 and p99 of one ring push, the timer's cost subtracted.
    ring: (f64, f64, f64),
    /// p99 of one ring push as timed, the timer's cost included.
    ring_p99_raw: f64,
    /// p50 and p99 of one `VecDeque` push, the timer's cost subtracted.
    plain: (f64, f64),
    /// The timer's cost: the median time of an empty region, timed the same
    /// way between the pushes.
    timer: f64,
}

/// One ring push vs one `VecDeque` push on a realistic series. Each push is
/// a 100 ms hub tick's, so the ring is maintained after each, untimed, as the
/// hub does at its tick.
///
/// Each push is timed on its own (a percentile of pushes timed in batches
/// would hide the slow ones), between two `Instant` readings that cost about
/// as much as a push (25 to 30 ns on the 2-core CI machine, whose clock
/// moves in steps of about 10 ns). That cost, the median time of an empty
/// region timed the same way before each push, is subtracted from the ring's
/// and the `VecDeque`'s figures alike.
fn push_latency_ns(n: usize) -> PushLatency {
    let name = SeriesName::new("cpu.total.busy_pct").unwrap_or_else(|_| unreachable!("valid name"));
    let unit = "percent".into();
    let samples: Vec<Sample> = (0..n)
        .map(|i| {
            #[allow(clippy::cast_possible_wrap, clippy::cast_precision_loss)]
            let ts = Timestamp::from_unix_nanos(
                1_795_428_000_000_000_000 + i as i64 * 100_000_000 + (i as i64 * 7919 % 300_000),
            );
            #[allow(clippy::cast_precision_loss)]
            let v = ((i * 37) % 200) as f64 * 0.5;
            Sample::new(ts, v)
        })
        .collect();
    let mut empty = Vec::with_capacity(2 * n);
    let mut time_nothing = |s: &Sample| {
        let t = Instant::now();
        std::hint::black_box(s);
        empty.push(t.elapsed().as_secs_f64() * 1e9);
    };
    let mut ring = Ring::new(60_000_000_000);
    let mut ring_times = Vec::with_capacity(n);
    for s in &samples {
        time_nothing(s);
        let t = Instant::now();
        ring.push(&name, &unit, *s);
        ring_times.push(t.elapsed().as_secs_f64() * 1e9);
        ring.maintain();
    }
    let mut plain: VecDeque<Sample> = VecDeque::with_capacity(601);
    let mut plain_times = Vec::with_capacity(n);
    for s in &samples {
        time_nothing(s);
        let t = Instant::now();
        plain.push_back(*s);
        // The same retention rule as the ring: drop what fell out of the window.
        while plain
            .front()
            .is_some_and(|f| s.ts.nanos_since(f.ts) > 60_000_000_000)
        {
            plain.pop_front();
        }
        plain_times.push(t.elapsed().as_secs_f64() * 1e9);
    }
    let timer = percentiles(&mut empty).0;
    let net = |ns: f64| (ns - timer).max(0.0);
    let (p50, p99) = percentiles(&mut ring_times);
    let p98 = percentile(&ring_times, 0.98);
    let (plain_p50, plain_p99) = percentiles(&mut plain_times);
    PushLatency {
        ring: (net(p50), net(p98), net(p99)),
        ring_p99_raw: p99,
        plain: (net(plain_p50), net(plain_p99)),
        timer,
    }
}

fn percentiles(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (percentile(v, 0.5), percentile(v, 0.99))
}

/// The `q` quantile of `sorted` (0 when empty).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let at = (sorted.len().saturating_sub(1) as f64 * q).round() as usize;
    sorted.get(at).copied().unwrap_or(0.0)
}
