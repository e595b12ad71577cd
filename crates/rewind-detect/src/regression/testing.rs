//! Test helpers: a seeded generator and series builders.

use rewind_model::Timestamp;

/// splitmix64 with Box–Muller normals: fixed seeds, reproducible figures.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal.
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Poisson (Knuth's product method; fine for small means).
    pub(crate) fn poisson(&mut self, mean: f64) -> f64 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0.0, 1.0);
        loop {
            p *= self.uniform();
            if p <= limit {
                return k;
            }
            k += 1.0;
        }
    }
}

/// A fixed epoch for tests.
pub(crate) const T0: i64 = 1_790_000_000;

/// `secs` seconds after the test epoch.
pub(crate) fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_nanos((T0 + secs) * 1_000_000_000)
}

/// Samples every `step` seconds over `[from, to)` with values from `f(secs)`.
pub(crate) fn sampled(
    from: i64,
    to: i64,
    step: i64,
    mut f: impl FnMut(i64) -> f64,
) -> Vec<(Timestamp, f64)> {
    (from..to)
        .step_by(usize::try_from(step).unwrap_or(1))
        .map(|s| (at(s), f(s)))
        .collect()
}
