//! Freezing the ring into a bundle when a trigger's post-window has passed.

use std::path::PathBuf;

use rewind_bundle::{BundleExtras, BundleInput, SeriesInput};
use rewind_detect::Pattern;
use rewind_model::{BundleId, DeviceId, TimeRange, Timestamp, Trigger};

use crate::{Ring, Spool};

/// A trigger waiting for its post-trigger seconds to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct PendingCapture {
    pub trigger: Trigger,
    pub window: TimeRange,
    /// The series to keep (the rule's `capture.series`); empty keeps all.
    /// The series the trigger's evidence names are always kept.
    pub series: Vec<Pattern>,
}

impl PendingCapture {
    /// The capture for `trigger`: `pre` before it to `post` after it.
    pub(crate) fn new(trigger: Trigger, pre_nanos: i64, post_nanos: i64) -> Self {
        let window = TimeRange {
            start: trigger.fired_at.add_nanos(-pre_nanos),
            end: trigger.fired_at.add_nanos(post_nanos),
        };
        Self {
            trigger,
            window,
            series: Vec::new(),
        }
    }

    /// Whether the bundle keeps series `name`.
    fn keeps(&self, name: &str) -> bool {
        self.series.is_empty()
            || self.series.iter().any(|p| p.matches(name))
            || self
                .trigger
                .evidence
                .iter()
                .any(|e| e.series.as_str() == name)
    }

    /// The same capture ending at `now` at the latest (used at shutdown).
    pub(crate) fn cut_at(mut self, now: Timestamp) -> Self {
        self.window.end = self.window.end.min(now).max(self.trigger.fired_at);
        self
    }

    /// Whether the window has been fully recorded at `now`.
    pub(crate) fn is_due(&self, now: Timestamp) -> bool {
        now >= self.window.end
    }
}

/// Everything needed to write one bundle, detached from the ring so the
/// (blocking) zip work can run off the sampling loop.
#[derive(Debug)]
pub(crate) struct Frozen {
    capture: PendingCapture,
    series: Vec<SeriesInput>,
}

impl Frozen {
    pub(crate) fn take(ring: &Ring, capture: PendingCapture) -> Self {
        let series = ring
            .snapshot(capture.window)
            .into_iter()
            .filter(|(name, _, _)| capture.keeps(name.as_str()))
            .map(|(name, unit, samples)| SeriesInput {
                name,
                unit: unit.into_owned(),
                samples,
            })
            .collect();
        Self { capture, series }
    }

    /// The names of the series the bundle will hold.
    #[cfg(test)]
    pub(crate) fn series_names(&self) -> Vec<&str> {
        self.series.iter().map(|s| s.name.as_str()).collect()
    }

    /// Writes the bundle into the spool; returns its path.
    pub(crate) fn write(self, spool: &Spool, device_id: &DeviceId) -> crate::Result<PathBuf> {
        let input = BundleInput {
            bundle_id: BundleId::new_v7(),
            device_id,
            agent_version: env!("CARGO_PKG_VERSION"),
            created_at: Timestamp::now(),
            trigger: &self.capture.trigger,
            window: self.capture.window,
            series: &self.series,
            events: &[],
            attachments: &[],
            extras: &BundleExtras::default(),
        };
        Ok(rewind_bundle::write_bundle(spool.dir(), &input)?.path)
    }
}
