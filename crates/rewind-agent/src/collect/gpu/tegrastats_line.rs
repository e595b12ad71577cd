//! Parses one line of `tegrastats` output into readings.
//!
//! The format changed over JetPack releases (`cpu [..]@f` / `CPU [u%@f,..]`,
//! `GR3D 0%@76` / `GR3D_FREQ 0%@921` / `GR3D_FREQ 0%@[305,0]` / `GR3D_FREQ 0%`,
//! rails as `POM_5V_IN 2559/2559` or `VDD_IN 4794mW/4794mW`, sensors as
//! `CPU@26.5C` or `cpu@47.343C`), so the parser walks the tokens and
//! recognises what it knows; anything else is skipped. It never panics and
//! its output is bounded by the length of the line.

use rewind_model::SeriesName;

/// Readings as (series, unit, value).
pub(super) type Readings = Vec<(SeriesName, &'static str, f64)>;

/// Sensors report this when they are powered off.
const SENSOR_OFF_C: f64 = -256.0;
/// Longest sensor or rail name kept (longer ones are not tegrastats').
const MAX_NAME: usize = 48;
/// Most readings taken from one line (a real one has well under 100).
const MAX_READINGS: usize = 256;

/// Every reading recognised in `line` (empty for a line with nothing known).
pub(super) fn parse(line: &str) -> Readings {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut out = Out(Vec::new());
    let mut i = 0;
    while i < tokens.len() {
        let next = tokens.get(i + 1).copied().unwrap_or("");
        let took_next = out.pair(tokens[i], next);
        i += if took_next { 2 } else { 1 };
    }
    out.0
}

struct Out(Readings);

impl Out {
    /// Reads `key` (and `value` after it); says whether `value` was used.
    fn pair(&mut self, key: &str, value: &str) -> bool {
        match key {
            "RAM" if value.contains('/') => {
                self.memory(value, "jetson.ram_used_bytes", "jetson.ram_total_bytes")
            }
            "SWAP" if value.contains('/') => {
                self.memory(value, "jetson.swap_used_bytes", "jetson.swap_total_bytes")
            }
            "CPU" | "cpu" if value.starts_with('[') => self.cpus(value),
            "GR3D_FREQ" | "GR3D" if value.contains('%') => self.engine(value, "jetson.gpu"),
            "EMC_FREQ" | "EMC" if value.contains('%') => self.engine(value, "jetson.emc"),
            _ if self.temperature(key) => return false,
            _ => return self.rail(key, value),
        }
        true
    }

    fn push(&mut self, name: String, unit: &'static str, value: f64) {
        if !value.is_finite()
            || self.0.len() >= MAX_READINGS
            || self.0.iter().any(|(s, _, _)| s.as_str() == name)
        {
            return;
        }
        if let Ok(series) = SeriesName::new(name) {
            self.0.push((series, unit, value));
        }
    }

    /// `2448/3956MB` (also `kB`, `GB`).
    fn memory(&mut self, value: &str, used_name: &str, total_name: &str) {
        let Some((used, total)) = value.split_once('/') else {
            return;
        };
        let digits = total
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(total.len());
        let (total, unit) = total.split_at(digits);
        let scale = match unit {
            "kB" | "KB" => 1024.0,
            "MB" => 1024.0 * 1024.0,
            "GB" => 1024.0 * 1024.0 * 1024.0,
            _ => return,
        };
        if let Some(used) = number(used) {
            self.push(used_name.to_owned(), "bytes", used * scale);
        }
        if let Some(total) = number(total) {
            self.push(total_name.to_owned(), "bytes", total * scale);
        }
    }

    /// `[9%@1479,off,6%@1479]` or the old `[0%,0%,0%,0%]@102` (MHz).
    fn cpus(&mut self, value: &str) {
        let inner = value.trim_start_matches('[');
        let (list, rest) = inner.split_once(']').unwrap_or((inner, ""));
        let shared_mhz = rest.strip_prefix('@').and_then(number);
        for (i, core) in list.split(',').enumerate() {
            let (util, mhz) = match core.split_once('@') {
                Some((util, mhz)) => (util, number(mhz)),
                None => (core, shared_mhz),
            };
            let Some(util) = util.strip_suffix('%').and_then(number) else {
                continue;
            };
            self.push(format!("jetson.cpu{i}.util_pct"), "percent", util);
            if let Some(mhz) = mhz {
                self.push(format!("jetson.cpu{i}.freq_hz"), "hertz", mhz * 1e6);
            }
        }
    }

    /// `0%`, `0%@921`, `0%@[305,0]` (MHz; the highest clock of a list).
    fn engine(&mut self, value: &str, prefix: &str) {
        let (util, freq) = value.split_once('@').unwrap_or((value, ""));
        if let Some(util) = util.strip_suffix('%').and_then(number) {
            self.push(format!("{prefix}.util_pct"), "percent", util);
        }
        let freqs = freq.trim_start_matches('[').trim_end_matches(']');
        let mhz = freqs.split(',').filter_map(number).reduce(f64::max);
        if let Some(mhz) = mhz {
            self.push(format!("{prefix}.freq_hz"), "hertz", mhz * 1e6);
        }
    }

    /// `CPU@26.5C`, `tj@47.75C`; `-256` means the sensor is off.
    fn temperature(&mut self, token: &str) -> bool {
        let Some((sensor, value)) = token.split_once('@') else {
            return false;
        };
        let Some(celsius) = value.strip_suffix('C').and_then(number) else {
            return false;
        };
        let Some(sensor) = identifier(sensor) else {
            return false;
        };
        if celsius > SENSOR_OFF_C {
            self.push(format!("jetson.temp.{sensor}_c"), "celsius", celsius);
        }
        true
    }

    /// `VDD_IN 4794mW/4794mW` or `POM_5V_IN 2559/2559` (instant/average, mW).
    fn rail(&mut self, name: &str, value: &str) -> bool {
        let milliwatts = |s: &str| number(s.strip_suffix("mW").unwrap_or(s));
        let Some((now, average)) = value.split_once('/') else {
            return false;
        };
        let (Some(now), Some(_)) = (milliwatts(now), milliwatts(average)) else {
            return false;
        };
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return false;
        }
        let Some(rail) = identifier(name) else {
            return false;
        };
        if rail != "nc" {
            self.push(format!("jetson.power.{rail}_w"), "watts", now / 1000.0);
        }
        true
    }
}

/// A sensor or rail name as a series segment: `[A-Za-z0-9_-]` lowercased, `-` as `_`.
fn identifier(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| name.to_ascii_lowercase().replace('-', "_"))
}

/// A plain decimal number (`12`, `-256`, `47.75`): no signs elsewhere, no `inf`.
fn number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let plain = !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
    plain
        .then(|| s.parse().ok())
        .flatten()
        .filter(|v: &f64| v.is_finite())
}

#[cfg(test)]
pub(super) mod tests;
