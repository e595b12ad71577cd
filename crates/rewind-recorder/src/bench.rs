//! The recorder's figures, measured on this machine (`rewind bench record`
//! prints them): `record()` latency on the calling thread, a sustained
//! 1 kHz loop with its drops and the writer thread's CPU share, and the
//! zstd chunk compression of the cycle and guard channels.
//!
//! Payloads come from a fixed seed. Their shapes follow the seed's examples
//! (a `/dam/cycle` record of about 500 bytes, guard results of about 220)
//! with values that drift like a running robot's: joint positions move
//! smoothly, latencies jitter, one cycle in 500 has a clamp. Nothing here
//! prints; the caller renders [`BenchReport`].

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::{Builtin, Channel, Recorder, RecorderConfig, Result, SessionInfo, read_summary};

/// What to measure, and how long.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Where the recordings go (a fresh temporary directory is best).
    pub dir: PathBuf,
    /// `record()` calls timed for the latency figures.
    pub latency_samples: usize,
    /// Length of the sustained run.
    pub sustained: Duration,
    /// Cycle rate of the sustained run.
    pub rate_hz: f64,
    /// Guard channels (`/dam/L0`…) written each cycle, 1 to 4.
    pub guard_channels: u8,
    /// Cycles recorded for each compression figure.
    pub compression_cycles: usize,
}

impl BenchOptions {
    /// The full run: 200 000 timed calls, 10 s at 1 kHz with 4 guards,
    /// 20 000 cycles per compression figure.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            latency_samples: 200_000,
            sustained: Duration::from_secs(10),
            rate_hz: 1000.0,
            guard_channels: 4,
            compression_cycles: 20_000,
        }
    }

    /// A run of about two seconds, for tests.
    pub fn quick(dir: impl Into<PathBuf>) -> Self {
        Self {
            latency_samples: 20_000,
            sustained: Duration::from_secs(1),
            compression_cycles: 3_000,
            ..Self::new(dir)
        }
    }
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `record()` on an otherwise idle loop.
    pub record: Latency,
    /// The sustained loop.
    pub sustained: Sustained,
    /// Chunk compression per channel group (`cycle`, `guard`).
    pub compression: Vec<CompressionFigure>,
}

/// Latency of `record()` calls on the calling thread, in nanoseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Calls timed.
    pub samples: u64,
    /// Size of the payloads (mean).
    pub payload_bytes: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Slowest call.
    pub max_ns: u64,
}

/// The sustained loop.
#[derive(Debug, Clone, Serialize)]
pub struct Sustained {
    /// Wall time of the run.
    pub seconds: f64,
    /// Cycle rate asked for.
    pub rate_hz: f64,
    /// Cycles run.
    pub cycles: u64,
    /// Messages per cycle (cycle, obs, action, guards, latency).
    pub messages_per_cycle: u64,
    /// Records queued.
    pub queued: u64,
    /// Records dropped (queue full).
    pub dropped: u64,
    /// Messages written.
    pub written: u64,
    /// Cycles that started more than one period late (the loop's own
    /// scheduling, not the recorder's).
    pub late_cycles: u64,
    /// CPU time of the writer thread during the run.
    pub writer_cpu_seconds: Option<f64>,
    /// That time over the run's wall time (1.0 is one core).
    pub writer_cpu_share: Option<f64>,
    /// Bytes written.
    pub file_bytes: u64,
    /// `record()` latency during the run.
    pub record: Latency,
}

/// zstd chunk compression of one channel group.
#[derive(Debug, Clone, Serialize)]
pub struct CompressionFigure {
    /// `cycle` (`/dam/cycle`) or `guard` (`/dam/L0`…`/dam/L3`).
    pub channels: String,
    /// Messages recorded.
    pub messages: u64,
    /// Chunk bytes before compression.
    pub uncompressed_bytes: u64,
    /// Chunk bytes as stored.
    pub compressed_bytes: u64,
    /// `compressed / uncompressed`.
    pub ratio: f64,
    /// `1 - ratio`: the seed promises about 0.7.
    pub reduction: f64,
}

/// Runs every measurement; takes about `sustained` plus a few seconds.
///
/// # Errors
/// Any [`Error`](crate::Error) of the recorder or the summary reader.
pub fn run(options: &BenchOptions) -> Result<BenchReport> {
    Ok(BenchReport {
        record: record_latency(options)?,
        sustained: sustained(options)?,
        compression: vec![
            compression(options, Group::Cycle)?,
            compression(options, Group::Guard)?,
        ],
    })
}

fn start(options: &BenchOptions, name: &str) -> Result<Recorder> {
    let config = RecorderConfig::new(options.dir.join(name));
    Recorder::start(
        config,
        SessionInfo {
            app_version: Some("bench".to_owned()),
            control_frequency_hz: Some(options.rate_hz),
            ..SessionInfo::default()
        },
    )
}

/// `record()` of cycle payloads, 128 at a time, waiting between bursts for
/// the writer to drain so the queue never fills: the uncontended path.
fn record_latency(options: &BenchOptions) -> Result<Latency> {
    let rec = start(options, "latency")?;
    let cycle = rec.builtin(Builtin::Cycle)?;
    let mut synth = Synth::new(0x5eed);
    let pool: Vec<Vec<u8>> = (0..1024).map(|i| synth.cycle(i)).collect();
    let mut samples = Vec::with_capacity(options.latency_samples);
    let mut bytes = 0_u64;
    let base = rec.received();
    let t0 = Timestamp::now();
    for i in 0..options.latency_samples {
        let payload = pool[i % pool.len()].clone();
        bytes += payload.len() as u64;
        let at = t0.add_nanos(i64::try_from(i).unwrap_or(0) * 1_000_000);
        let began = Instant::now();
        rec.record(&cycle, at, payload);
        samples.push(began.elapsed());
        if i % 128 == 127 {
            let want = base + i as u64 + 1;
            while rec.received() < want {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
    rec.close()?;
    Ok(latency(&mut samples, bytes))
}

fn sustained(options: &BenchOptions) -> Result<Sustained> {
    let rec = start(options, "sustained")?;
    let channels = LoopChannels::register(&rec, options.guard_channels)?;
    let period = Duration::from_secs_f64(1.0 / options.rate_hz.max(1.0));
    let mut synth = Synth::new(0x1234);
    let mut samples = Vec::new();
    let mut late = 0_u64;
    let mut bytes = 0_u64;
    // The round trip makes sure the writer thread has started (and told
    // its thread id).
    rec.flush()?;
    let cpu_before = rec.writer_cpu_time();
    let began = Instant::now();
    let mut cycle = 0_u64;
    while began.elapsed() < options.sustained {
        let due = began + period.mul_f64(cycle as f64);
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else if now - due > period {
            late += 1;
        }
        let at = Timestamp::now();
        for (channel, payload) in channels.payloads(&mut synth, cycle) {
            bytes += payload.len() as u64;
            let t = Instant::now();
            rec.record(channel, at, payload);
            samples.push(t.elapsed());
        }
        cycle += 1;
    }
    rec.flush()?;
    let wall = began.elapsed().as_secs_f64();
    let cpu = match (cpu_before, rec.writer_cpu_time()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a).as_secs_f64()),
        _ => None,
    };
    let stats = rec.close()?;
    let file_bytes = stats
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    Ok(Sustained {
        seconds: wall,
        rate_hz: options.rate_hz,
        cycles: cycle,
        messages_per_cycle: (4 + channels.guards.len()) as u64,
        queued: stats.channels.iter().map(|c| c.queued).sum(),
        dropped: stats.dropped(),
        written: stats.written(),
        late_cycles: late,
        writer_cpu_seconds: cpu,
        writer_cpu_share: cpu.map(|c| c / wall),
        file_bytes,
        record: latency(&mut samples, bytes),
    })
}

#[derive(Debug, Clone, Copy)]
enum Group {
    Cycle,
    Guard,
}

/// Records one channel group alone, flushing once per simulated second at
/// 1 kHz (as `flush_sec: 1` does in a live loop), and reads the chunk sizes
/// back from the summary.
fn compression(options: &BenchOptions, group: Group) -> Result<CompressionFigure> {
    let name = match group {
        Group::Cycle => "cycle",
        Group::Guard => "guard",
    };
    let rec = start(options, &format!("compression-{name}"))?;
    let channels: Vec<Channel> = match group {
        Group::Cycle => vec![rec.builtin(Builtin::Cycle)?],
        Group::Guard => (0..4)
            .map(|l| rec.builtin(Builtin::Guard(l)))
            .collect::<Result<_>>()?,
    };
    let mut synth = Synth::new(0xc0ffee);
    let t0 = Timestamp::now();
    let mut messages = 0_u64;
    for cycle in 0..options.compression_cycles as u64 {
        let at = t0.add_nanos(i64::try_from(cycle).unwrap_or(0) * 1_000_000);
        for (layer, channel) in channels.iter().enumerate() {
            let payload = match group {
                Group::Cycle => synth.cycle(cycle),
                Group::Guard => synth.guard(cycle, layer as u8),
            };
            while !rec.record(channel, at, payload.clone()).is_queued() {
                std::thread::sleep(Duration::from_micros(100));
            }
            messages += 1;
        }
        if cycle % 1000 == 999 {
            rec.flush()?;
        }
    }
    let stats = rec.close()?;
    let (mut raw, mut packed) = (0, 0);
    for file in &stats.files {
        let s = read_summary(file)?;
        raw += s.uncompressed_bytes;
        packed += s.compressed_bytes;
    }
    let ratio = if raw == 0 {
        1.0
    } else {
        packed as f64 / raw as f64
    };
    Ok(CompressionFigure {
        channels: name.to_owned(),
        messages,
        uncompressed_bytes: raw,
        compressed_bytes: packed,
        ratio,
        reduction: 1.0 - ratio,
    })
}

fn latency(samples: &mut [Duration], bytes: u64) -> Latency {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| {
        let i = ((n as f64 * q).ceil() as usize).clamp(1, n.max(1)) - 1;
        samples.get(i).map_or(0, |d| nanos(*d))
    };
    Latency {
        samples: n as u64,
        payload_bytes: if n == 0 { 0 } else { bytes / n as u64 },
        p50_ns: at(0.50),
        p99_ns: at(0.99),
        p999_ns: at(0.999),
        max_ns: samples.last().map_or(0, |d| nanos(*d)),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

struct LoopChannels {
    cycle: Channel,
    obs: Channel,
    action: Channel,
    guards: Vec<Channel>,
    latency: Channel,
}

impl LoopChannels {
    fn register(rec: &Recorder, guards: u8) -> Result<Self> {
        Ok(Self {
            cycle: rec.builtin(Builtin::Cycle)?,
            obs: rec.builtin(Builtin::Obs)?,
            action: rec.builtin(Builtin::Action)?,
            guards: (0..guards.clamp(1, 4))
                .map(|l| rec.builtin(Builtin::Guard(l)))
                .collect::<Result<_>>()?,
            latency: rec.builtin(Builtin::Latency)?,
        })
    }

    /// One cycle's messages, built before any is recorded.
    fn payloads(&self, synth: &mut Synth, cycle: u64) -> Vec<(&Channel, Vec<u8>)> {
        let mut out = Vec::with_capacity(4 + self.guards.len());
        out.push((&self.cycle, synth.cycle(cycle)));
        out.push((&self.obs, synth.obs(cycle)));
        out.push((&self.action, synth.action(cycle)));
        for (layer, g) in self.guards.iter().enumerate() {
            out.push((g, synth.guard(cycle, layer as u8)));
        }
        out.push((&self.latency, synth.latency(cycle)));
        out
    }
}

/// Seeded payloads shaped like the seed's examples.
struct Synth {
    state: u64,
}

impl Synth {
    fn new(seed: u64) -> Self {
        Self { state: seed | 1 }
    }

    /// Uniform in [0, 1) (xorshift64*).
    fn next(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn ms(&mut self, base: f64) -> f64 {
        (base * (0.8 + 0.4 * self.next()) * 1000.0).round() / 1000.0
    }

    fn joints(&self, cycle: u64, phase: f64) -> Vec<f64> {
        let t = cycle as f64 / 1000.0;
        (0..6)
            .map(|j| ((t * 0.5 + f64::from(j) + phase).sin() * 1.57 * 10_000.0).round() / 10_000.0)
            .collect()
    }

    fn cycle(&mut self, cycle: u64) -> Vec<u8> {
        let clamp = cycle % 500 == 250;
        let v = json!({
            "cycle_id": cycle,
            "trace_id": format!("{:016x}", self.state),
            "timestamp": 1_700_000_000.0 + cycle as f64 / 1000.0,
            "active_task": "move_tcp",
            "active_boundaries": ["workspace_check", "speed_limit"],
            "active_cameras": ["top", "wrist"],
            "active_context": "normal",
            "context_severity": 0,
            "context_event": null,
            "has_violation": false,
            "has_clamp": clamp,
            "violated_layer_mask": 0,
            "clamped_layer_mask": if clamp { 2 } else { 0 },
            "failure_type": null,
            "failure_guard_names": [],
            "failure_tuple": null,
            "source_ms": self.ms(0.8),
            "policy_ms": self.ms(2.1),
            "guards_ms": self.ms(5.4),
            "sink_ms": self.ms(0.4),
            "total_ms": self.ms(8.7),
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn guard(&mut self, cycle: u64, layer: u8) -> Vec<u8> {
        let (name, class) = match layer {
            0 => ("OODGuard", "perception"),
            1 => ("PreflightGuard", "motion"),
            2 => ("MotionGuard", "task"),
            _ => ("HardwareGuard", "hardware"),
        };
        let clamp = layer == 1 && cycle % 500 == 250;
        let v = json!({
            "cycle_id": cycle,
            "timestamp": 1_700_000_000.0 + cycle as f64 / 1000.0,
            "guard_name": name,
            "event_class": class,
            "layer": layer,
            "decision": if clamp { "CLAMP" } else { "PASS" },
            "is_violation": false,
            "is_clamp": clamp,
            "reason": if clamp { "joint 2 speed 1.31 rad/s > 1.2 rad/s" } else { "" },
            "latency_ms": self.ms(1.2),
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn obs(&mut self, cycle: u64) -> Vec<u8> {
        let v = json!({
            "cycle_id": cycle,
            "timestamp": 1_700_000_000.0 + cycle as f64 / 1000.0,
            "joint_positions": self.joints(cycle, 0.0),
            "joint_velocities": self.joints(cycle, 1.0),
            "end_effector_pose": [0.5, 0.3, 0.2, 1.0, 0.0, 0.0, 0.0],
            "force_torque": [self.ms(5.0), self.ms(-2.0), self.ms(20.0), 0.1, 0.05, 0.02],
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn action(&mut self, cycle: u64) -> Vec<u8> {
        let v = json!({
            "cycle_id": cycle,
            "timestamp": 1_700_000_000.0 + cycle as f64 / 1000.0,
            "proposal_positions": self.joints(cycle + 1, 0.0),
            "proposal_velocities": self.joints(cycle + 1, 1.0),
            "validated_positions": self.joints(cycle + 1, 0.0),
            "validated_velocities": self.joints(cycle + 1, 1.0),
            "was_clamped": false,
            "was_rejected": false,
            "fallback_triggered": null,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn latency(&mut self, cycle: u64) -> Vec<u8> {
        let v = json!({
            "cycle_id": cycle,
            "timestamp": 1_700_000_000.0 + cycle as f64 / 1000.0,
            "L0_ms": self.ms(2.1),
            "L1_ms": self.ms(0.5),
            "L2_ms": self.ms(1.9),
            "L3_ms": self.ms(0.3),
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_from_the_sorted_samples() {
        let mut s: Vec<Duration> = (1..=1000).rev().map(Duration::from_nanos).collect();
        let l = latency(&mut s, 1000 * 10);
        assert_eq!(
            (l.p50_ns, l.p99_ns, l.p999_ns, l.max_ns),
            (500, 990, 999, 1000)
        );
        assert_eq!(l.payload_bytes, 10);
        let empty = latency(&mut [], 0);
        assert_eq!(empty.samples, 0);
    }

    #[test]
    fn payloads_are_shaped_like_the_seed() {
        let mut s = Synth::new(1);
        let c = s.cycle(7);
        assert!((400..900).contains(&c.len()), "{}", c.len());
        let v: serde_json::Value = serde_json::from_slice(&s.guard(7, 2)).unwrap();
        assert_eq!(v["layer"], 2);
        assert_eq!(v["cycle_id"], 7);
    }
}
