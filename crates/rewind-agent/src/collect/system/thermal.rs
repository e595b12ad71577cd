//! Thermal zones from `sys_root/class/thermal/thermal_zone<N>/`: `type`,
//! `temp` (millidegrees) and `trip_point_<n>_{temp,type,hyst}`.
//!
//! Series per zone: `thermal.<zone>.temp_c` and `thermal.<zone>.trip_<n>_c`
//! (celsius). `<zone>` is the zone's `type`, lowercased (`cpu-therm`,
//! `x86_pkg_temp`), or `zone<N>` when several zones share a type or it
//! cannot be read. Trip points at or below 0 °C (unset) are ignored.
//!
//! Event: [`EventKind::Thermal`] when a zone reaches a `passive` or `hot`
//! trip point (level warning) or a `critical` one (level critical), once per
//! crossing: it re-arms when the temperature falls back below the trip by
//! its hysteresis (at least 1 °C). A zone already above a trip when first
//! seen does not count as a crossing.
//!
//! Zones are listed when the collector is built and again every
//! `rediscover_interval` (or as soon as one vanishes); a pass reads one
//! `temp` file per zone. Zones whose `temp` cannot be read at discovery
//! (disabled sensors) are left out.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rewind_model::{Event, EventKind, Level, SeriesName};

use super::{
    Batch, Part,
    common::{Every, is_gone, named, read_i64, read_to, segment},
};

mod discover;

const MAX_ZONES: usize = 64;
const MAX_TRIPS: usize = 16;

/// One trip point.
#[derive(Debug)]
struct Trip {
    n: usize,
    kind: String,
    millis: i64,
    hyst: i64,
    name: SeriesName,
    /// Whether the zone was at or above this trip at the last reading (`None` before the first).
    above: Option<bool>,
}

impl Trip {
    /// Whether this kind of trip raises an event, and at which level.
    fn level(&self) -> Option<Level> {
        match self.kind.as_str() {
            "passive" | "hot" => Some(Level::Warning),
            "critical" => Some(Level::Critical),
            _ => None,
        }
    }

    /// Updates the state with `temp` (millidegrees); true on an upward crossing.
    fn crossed(&mut self, temp: i64) -> bool {
        let rearm = self.millis.saturating_sub(self.hyst.max(1000));
        let (above, crossed) = match self.above {
            None => (temp >= self.millis, false),
            Some(false) => (temp >= self.millis, temp >= self.millis),
            Some(true) => (temp >= rearm, false),
        };
        self.above = Some(above);
        crossed
    }
}

/// One zone.
#[derive(Debug)]
struct Zone {
    dir: PathBuf,
    label: String,
    temp_name: SeriesName,
    trips: Vec<Trip>,
}

/// Follows every thermal zone.
#[derive(Debug)]
pub(super) struct Thermal {
    class: PathBuf,
    zones: Vec<Zone>,
    every: Every,
}

impl Thermal {
    /// `None` (with a notice) when `sys_root/class/thermal` does not exist;
    /// a notice too when it has no readable zone (they are looked for again later).
    pub(super) fn discover(sys_root: &Path, rediscover: Duration) -> Option<Self> {
        let class = sys_root.join("class/thermal");
        if !class.is_dir() {
            tracing::info!(dir = %class.display(), "no thermal class in sysfs: thermal.* series are off");
            return None;
        }
        let mut t = Self {
            class,
            zones: Vec::new(),
            every: Every::new(rediscover),
        };
        t.rescan(&mut String::new());
        t.every.due(Duration::ZERO);
        if t.zones.is_empty() {
            tracing::info!(dir = %t.class.display(), "no readable thermal zone (looked for again every {rediscover:?})");
        }
        Some(t)
    }

    /// Lists the zones again, keeping the crossing state of trips already known.
    fn rescan(&mut self, buf: &mut String) {
        let mut zones = discover::zones(&self.class, buf);
        for z in &mut zones {
            let Some(old) = self.zones.iter().find(|o| o.dir == z.dir) else {
                continue;
            };
            for t in &mut z.trips {
                t.above = old
                    .trips
                    .iter()
                    .find(|o| o.n == t.n && o.millis == t.millis)
                    .and_then(|o| o.above);
            }
        }
        self.zones = zones;
    }
}

impl Part for Thermal {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) {
        if self.every.due(now) {
            self.rescan(buf);
        }
        for z in &mut self.zones {
            let temp = match read_i64(&z.dir.join("temp"), buf) {
                Ok(t) => t,
                Err(e) if is_gone(&e) => {
                    self.every.force();
                    continue;
                }
                Err(e) => {
                    out.problem("system/thermal", e);
                    continue;
                }
            };
            out.reading(z.temp_name.clone(), "celsius", celsius(temp));
            for t in &mut z.trips {
                out.reading(t.name.clone(), "celsius", celsius(t.millis));
                if t.crossed(temp)
                    && let Some(level) = t.level()
                {
                    let message = format!(
                        "{} reached its {} trip point: {:.1} °C ≥ {:.1} °C",
                        z.label,
                        t.kind,
                        celsius(temp),
                        celsius(t.millis)
                    );
                    out.event(
                        Event::new(out.ts, "thermal", EventKind::Thermal, level, message)
                            .with("zone", &z.label)
                            .with("trip", t.n)
                            .with("trip_type", &t.kind)
                            .with("trip_c", celsius(t.millis))
                            .with("temp_c", celsius(temp)),
                    );
                }
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)] // millidegrees are small
fn celsius(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

/// Reads a short sysfs text file (`type`), trimmed; `None` when unreadable.
fn read_word(path: &Path, buf: &mut String) -> Option<String> {
    read_to(path, buf).ok()?;
    let w = buf.trim();
    (!w.is_empty() && w.len() <= 64).then(|| w.to_owned())
}

/// `thermal.<zone>.<metric>`.
fn zone_series(zone: &str, metric: &str) -> Option<SeriesName> {
    named("thermal", zone, metric)
}

/// The segment for a zone type (lowercased).
fn zone_segment(kind: &str) -> Option<String> {
    segment(&kind.to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
