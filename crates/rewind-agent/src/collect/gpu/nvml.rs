//! NVIDIA GPUs through NVML (`libnvidia-ml.so.1`, loaded at run time).
//!
//! Each pass reads every device into a plain [`Raw`] struct; [`record`]
//! turns it into `gpu.N.*` series and throttle events, so the conversion is
//! tested without a GPU. A reading a device does not support is remembered
//! and not asked for again; other failures are one problem per device and pass.

use nvml_wrapper::{
    Device, Nvml,
    bitmasks::device::ThrottleReasons,
    enum_wrappers::device::{Clock, TemperatureSensor},
    error::NvmlError,
};
use rewind_model::{Event, EventKind, Level, SeriesName};

use crate::collect::{Batch, Poll};

/// Most devices read; more than this on one machine is not a real machine.
const MAX_DEVICES: u32 = 64;

/// One device's readings in one pass; `None` where NVML could not say.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Raw {
    pub util_pct: Option<u32>,
    pub memory_util_pct: Option<u32>,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    pub temp_c: Option<u32>,
    pub power_mw: Option<u32>,
    pub sm_clock_mhz: Option<u32>,
    pub mem_clock_mhz: Option<u32>,
    pub throttle: Option<Throttle>,
}

/// Why the clocks are held down, folded into the three kinds reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Throttle {
    /// Software or hardware thermal slowdown.
    pub thermal: bool,
    /// Software power cap or hardware power brake.
    pub power: bool,
    /// Hardware slowdown (clocks cut by half or more: heat, power brake, over-current).
    pub hw_slowdown: bool,
}

impl Throttle {
    pub(super) fn from_reasons(r: ThrottleReasons) -> Self {
        Self {
            thermal: r.intersects(
                ThrottleReasons::SW_THERMAL_SLOWDOWN | ThrottleReasons::HW_THERMAL_SLOWDOWN,
            ),
            power: r.intersects(
                ThrottleReasons::SW_POWER_CAP | ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN,
            ),
            hw_slowdown: r.contains(ThrottleReasons::HW_SLOWDOWN),
        }
    }
}

/// Adds the series of device `index` to `out`, and a `Thermal` event for
/// each of thermal and hardware slowdown that is on now but was not in
/// `before`. Returns the throttle state to compare the next pass with.
pub(super) fn record(
    index: u32,
    name: &str,
    raw: &Raw,
    before: Throttle,
    out: &mut Batch,
) -> Throttle {
    for (what, unit, value) in values(raw) {
        put(out, index, what, unit, value);
    }
    let Some(now) = raw.throttle else {
        return before;
    };
    let flags = [
        ("throttle_thermal", now.thermal),
        ("throttle_power", now.power),
        ("throttle_hw_slowdown", now.hw_slowdown),
    ];
    for (what, on) in flags {
        put(out, index, what, "bool", Some(if on { 1.0 } else { 0.0 }));
    }
    throttle_events(index, name, raw.temp_c, (before, now), out);
    now
}

/// The plain series of `raw` as (name after `gpu.N.`, unit, value).
fn values(raw: &Raw) -> [(&'static str, &'static str, Option<f64>); 8] {
    let hz = |mhz: Option<u32>| mhz.map(|m| f64::from(m) * 1e6);
    [
        ("util_pct", "percent", raw.util_pct.map(f64::from)),
        (
            "memory_util_pct",
            "percent",
            raw.memory_util_pct.map(f64::from),
        ),
        (
            "memory_used_bytes",
            "bytes",
            raw.memory_used_bytes.map(|b| b as f64),
        ),
        (
            "memory_total_bytes",
            "bytes",
            raw.memory_total_bytes.map(|b| b as f64),
        ),
        ("temp_c", "celsius", raw.temp_c.map(f64::from)),
        (
            "power_w",
            "watts",
            raw.power_mw.map(|mw| f64::from(mw) / 1000.0),
        ),
        ("sm_clock_hz", "hertz", hz(raw.sm_clock_mhz)),
        ("mem_clock_hz", "hertz", hz(raw.mem_clock_mhz)),
    ]
}

fn put(out: &mut Batch, index: u32, what: &str, unit: &'static str, value: Option<f64>) {
    if let (Some(v), Ok(series)) = (value, SeriesName::new(format!("gpu.{index}.{what}"))) {
        out.reading(series, unit, v);
    }
}

/// One `Thermal` event per kind of throttling that turned on.
fn throttle_events(
    index: u32,
    name: &str,
    temp_c: Option<u32>,
    (before, now): (Throttle, Throttle),
    out: &mut Batch,
) {
    let turned_on = [
        (
            now.thermal && !before.thermal,
            "thermal",
            "thermal slowdown",
        ),
        (
            now.hw_slowdown && !before.hw_slowdown,
            "hw_slowdown",
            "hardware slowdown",
        ),
    ];
    for (_, reason, what) in turned_on.into_iter().filter(|(on, _, _)| *on) {
        let message = format!("GPU {index} ({name}) is throttling its clocks: {what}");
        let mut event = Event::new(out.ts, "nvml", EventKind::Thermal, Level::Warning, message)
            .with("gpu", index)
            .with("name", name)
            .with("reason", reason);
        if let Some(t) = temp_c {
            event = event.with("temp_c", t);
        }
        out.event(event);
    }
}

/// The NVML readings, one slot each in [`DeviceState::unsupported`].
#[derive(Debug, Clone, Copy)]
enum Getter {
    Utilization,
    Memory,
    Temperature,
    Power,
    SmClock,
    MemClock,
    Throttle,
}

impl Getter {
    const COUNT: usize = 7;

    const fn label(self) -> &'static str {
        match self {
            Self::Utilization => "utilization",
            Self::Memory => "memory",
            Self::Temperature => "temperature",
            Self::Power => "power",
            Self::SmClock => "SM clock",
            Self::MemClock => "memory clock",
            Self::Throttle => "throttle reasons",
        }
    }
}

/// What is remembered about one device between passes.
#[derive(Debug)]
struct DeviceState {
    index: u32,
    name: String,
    source: String,
    unsupported: [bool; Getter::COUNT],
    throttle: Throttle,
}

impl DeviceState {
    fn new(index: u32, name: String) -> Self {
        let source = format!("gpu/nvml:{index}");
        Self {
            index,
            name,
            source,
            unsupported: [false; Getter::COUNT],
            throttle: Throttle::default(),
        }
    }

    /// Calls `read` unless it is known unsupported. "Not supported" (or no
    /// permission, or a driver without the function) is remembered quietly;
    /// other errors are added to `failed`.
    fn get<T>(
        &mut self,
        which: Getter,
        failed: &mut Vec<String>,
        read: impl FnOnce() -> Result<T, NvmlError>,
    ) -> Option<T> {
        if self.unsupported[which as usize] {
            return None;
        }
        match read() {
            Ok(v) => Some(v),
            Err(
                NvmlError::NotSupported | NvmlError::NoPermission | NvmlError::FunctionNotFound,
            ) => {
                tracing::debug!(
                    gpu = self.index,
                    "NVML: {} not supported on {}; not read again",
                    which.label(),
                    self.name
                );
                self.unsupported[which as usize] = true;
                None
            }
            Err(e) => {
                failed.push(format!("{}: {e}", which.label()));
                None
            }
        }
    }

    /// One pass over `dev`; failures become one problem.
    fn read(&mut self, dev: &Device<'_>, out: &mut Batch) -> Raw {
        let mut failed = Vec::new();
        let util = self.get(Getter::Utilization, &mut failed, || dev.utilization_rates());
        let memory = self.get(Getter::Memory, &mut failed, || dev.memory_info());
        let raw = Raw {
            util_pct: util.as_ref().map(|u| u.gpu),
            memory_util_pct: util.map(|u| u.memory),
            memory_used_bytes: memory.as_ref().map(|m| m.used),
            memory_total_bytes: memory.map(|m| m.total),
            temp_c: self.get(Getter::Temperature, &mut failed, || {
                dev.temperature(TemperatureSensor::Gpu)
            }),
            power_mw: self.get(Getter::Power, &mut failed, || dev.power_usage()),
            sm_clock_mhz: self.get(Getter::SmClock, &mut failed, || dev.clock_info(Clock::SM)),
            mem_clock_mhz: self.get(Getter::MemClock, &mut failed, || {
                dev.clock_info(Clock::Memory)
            }),
            throttle: self
                .get(Getter::Throttle, &mut failed, || {
                    dev.current_throttle_reasons()
                })
                .map(Throttle::from_reasons),
        };
        if !failed.is_empty() {
            out.problem(self.source.clone(), failed.join("; "));
        }
        raw
    }
}

/// Polls every GPU NVML saw when the collectors were built.
#[derive(Debug)]
pub(super) struct Poller {
    nvml: Nvml,
    devices: Vec<DeviceState>,
}

impl Poller {
    /// Loads NVML and lists its GPUs.
    ///
    /// # Errors
    /// Why there is nothing to poll, as a phrase for the "no GPU found" notice.
    pub(super) fn open() -> Result<Self, String> {
        let nvml = Nvml::init().map_err(|e| format!("NVML not loadable: {e}"))?;
        let count = nvml
            .device_count()
            .map_err(|e| format!("NVML cannot count GPUs: {e}"))?;
        if count == 0 {
            return Err("NVML loaded but sees no GPU".to_owned());
        }
        let devices = (0..count.min(MAX_DEVICES))
            .map(|i| {
                let name = nvml
                    .device_by_index(i)
                    .and_then(|d| d.name())
                    .unwrap_or_else(|_| "unknown GPU".to_owned());
                DeviceState::new(i, name)
            })
            .collect();
        Ok(Self { nvml, devices })
    }
}

impl Poll for Poller {
    fn poll(&mut self, out: &mut Batch) {
        for dev in &mut self.devices {
            match self.nvml.device_by_index(dev.index) {
                Ok(handle) => {
                    let raw = dev.read(&handle, out);
                    dev.throttle = record(dev.index, &dev.name, &raw, dev.throttle, out);
                }
                Err(e) => out.problem(dev.source.clone(), format!("cannot open the device: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests;
