//! Bytes per sample on data shaped like the agent's real series.

use rewind_model::{Sample, SeriesName, Timestamp};

use crate::Ring;

/// The agent's ring window: 60 s before a trigger plus 3 s after.
const WINDOW: i64 = 63_000_000_000;
/// 600 s at 10 Hz.
const TICKS: i64 = 6_000;
const PERIOD: i64 = 100_000_000;
const JITTER: i64 = 300_000;

/// splitmix64: a fixed-seed generator, so the figures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A simulated machine read at one tick: `(series, unit, value)` for each
/// series of one shape.
type Shape = fn(&mut Machine, i64) -> Vec<(&'static str, &'static str, f64)>;

/// The state behind the series: a wandering CPU load, memory in pages, and
/// the kernel's load averages (recomputed every 5 s).
struct Machine {
    rng: Rng,
    busy_level: f64,
    avail_pages: i64,
    load: [f64; 3],
}

const TOTAL_BYTES: i64 = 16 << 30;

impl Machine {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed),
            busy_level: 0.3,
            avail_pages: (9 << 30) / 4096,
            load: [1.0, 0.8, 0.6],
        }
    }
}

/// `/proc/stat` ratios as the collector computes them: busy ticks over
/// total ticks (here 200 a reading, so multiples of 0.5 %), times 100.
fn cpu(m: &mut Machine, _tick: i64) -> Vec<(&'static str, &'static str, f64)> {
    m.busy_level = (m.busy_level + (m.rng.unit() - 0.5) * 0.02).clamp(0.05, 0.95);
    let total = 200;
    let noise = m.rng.range(-8, 8);
    let busy = ((m.busy_level * total as f64) as i64 + noise).clamp(0, total);
    vec![(
        "cpu.total.busy_pct",
        "percent",
        busy as f64 / total as f64 * 100.0,
    )]
}

/// `/proc/meminfo`: available memory moves by whole pages now and then.
fn memory(m: &mut Machine, _tick: i64) -> Vec<(&'static str, &'static str, f64)> {
    if m.rng.unit() < 0.2 {
        m.avail_pages += m.rng.range(-64, 64);
    }
    let avail = m.avail_pages * 4096;
    let used = TOTAL_BYTES - avail;
    vec![
        ("memory.available_bytes", "bytes", avail as f64),
        ("memory.used_bytes", "bytes", used as f64),
    ]
}

/// `/proc/loadavg`: two decimals, updated by the kernel every 5 s.
fn load(m: &mut Machine, tick: i64) -> Vec<(&'static str, &'static str, f64)> {
    if tick % 50 == 0 {
        for (i, avg) in m.load.iter_mut().enumerate() {
            let pull = [0.08, 0.016, 0.0055][i];
            *avg = (*avg + (m.rng.unit() * 3.0 - *avg) * pull).max(0.0);
        }
    }
    let text: Vec<String> = m.load.iter().map(|l| format!("{l:.2}")).collect();
    let parsed: Vec<f64> = text.iter().map(|t| t.parse().unwrap()).collect();
    vec![
        ("load.avg1", "count", parsed[0]),
        ("load.avg5", "count", parsed[1]),
        ("load.avg15", "count", parsed[2]),
    ]
}

/// Bytes per sample (`memory_bytes / len`) while 600 s of `shapes` are
/// pushed at 10 Hz with ±300 µs of jitter, all series of a tick with the
/// same timestamp and the ring maintained after each tick, as in the agent: `(mean, worst)` over checkpoints every
/// 10 s once the window is full, as the figure depends on where in a time
/// slot the clock is.
fn record(ring: &mut Ring, shapes: &[Shape]) -> (f64, f64) {
    let mut machine = Machine::new(7);
    let mut clock = Rng(0xC10C);
    let start = 1_790_000_000 * 1_000_000_000;
    let mut figures = Vec::new();
    for tick in 0..TICKS {
        let ts = start + tick * PERIOD + clock.range(-JITTER, JITTER);
        for shape in shapes {
            for (name, unit, value) in shape(&mut machine, tick) {
                let sample = Sample::new(Timestamp::from_unix_nanos(ts), value);
                ring.push(&SeriesName::new(name).unwrap(), &unit.into(), sample);
            }
        }
        ring.maintain();
        if tick * PERIOD > WINDOW && tick % 100 == 37 {
            figures.push(ring.memory_bytes() as f64 / ring.len() as f64);
        }
    }
    let mean = figures.iter().sum::<f64>() / figures.len() as f64;
    (mean, figures.iter().copied().fold(0.0, f64::max))
}

#[test]
fn typical_machine_metrics_take_at_most_4_bytes_a_sample() {
    let shapes: [(&str, Shape); 3] = [("cpu", cpu), ("memory", memory), ("load", load)];
    for (label, shape) in shapes {
        let (mean, worst) = record(&mut Ring::new(WINDOW), &[shape]);
        eprintln!("{label} alone: {mean:.2} bytes/sample on average, {worst:.2} at worst");
    }
    let mut ring = Ring::new(WINDOW);
    let (mean, worst) = record(&mut ring, &shapes.map(|(_, shape)| shape));
    eprintln!("together: {mean:.2} bytes/sample on average, {worst:.2} at worst");
    assert!(worst <= 4.0, "{worst:.2} bytes/sample");
}
