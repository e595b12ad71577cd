//! Freezing the ring into a bundle when a trigger's post-window has passed.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::Arc,
};

use rewind_bundle::{Attachment, BundleExtras, BundleInput, SeriesInput};
use rewind_detect::Pattern;
use rewind_model::{BundleId, DeviceId, Event, SeriesName, TimeRange, Timestamp, Trigger};

use crate::{
    EventRing, Ring, Spool,
    diagnostics::Diagnostics,
    redact::{Counts, Redactor},
    sysinfo::{self, SystemInput},
};

/// A trigger waiting for its post-trigger seconds to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct PendingCapture {
    pub trigger: Trigger,
    pub window: TimeRange,
    /// The series to keep (the rule's `capture.series`); empty keeps all.
    /// The series the trigger's evidence names are always kept.
    pub series: Vec<Pattern>,
    /// The event and log sources to keep (the rule's `capture.logs`); empty keeps all.
    pub logs: Vec<Pattern>,
    /// Which diagnostics capture (started at the trip) belongs to this bundle.
    pub id: u64,
    /// Samples of the window the ring was given, per series: what it held
    /// of the window at the trip ([`Self::count_held`]) plus what was
    /// pushed since ([`Self::pushed`]). What the bundle lacks of these, the
    /// ring dropped before the capture was taken.
    pub received: HashMap<SeriesName, u64>,
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
            logs: Vec::new(),
            id: 0,
            received: HashMap::new(),
        }
    }

    /// Starts [`Self::received`] from what `ring` holds of the window now
    /// (everything pushed so far; the window's start is in the ring).
    pub(crate) fn count_held(&mut self, ring: &Ring) {
        self.received = ring
            .snapshot(self.window)
            .into_iter()
            .map(|(name, _, samples)| (name, samples.len() as u64))
            .collect();
    }

    /// Counts a sample pushed into the ring after [`Self::count_held`].
    #[inline]
    pub(crate) fn pushed(&mut self, name: &SeriesName, ts: Timestamp) {
        if ts < self.window.start || ts > self.window.end {
            return;
        }
        match self.received.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                self.received.insert(name.clone(), 1);
            }
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
    events: Vec<Event>,
    /// Per kept series, samples of the window the ring was given but no
    /// longer held when the capture was taken (only series that lost some).
    overwritten: BTreeMap<SeriesName, u64>,
}

/// Manifest `losses` key of the samples a bundle's window lacks.
pub(crate) const WINDOW_OVERWRITTEN: &str = "window.ring_overwritten";

/// Files for a bundle: `(path inside the bundle, bytes)`.
pub(crate) type Files = Vec<(String, Vec<u8>)>;

/// What a bundle holds besides the ring's data: the diagnostics taken at the
/// trip, the newest baseline, the `system/` files' inputs, redaction and the
/// agent's loss counters.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Diagnostics taken in the tick the rule tripped.
    pub diagnostics: Option<Diagnostics>,
    /// The newest healthy baseline: files (under `baseline/<time>/`) and notes.
    pub baseline: Option<(Files, Vec<String>)>,
    /// What is scrubbed from logs, events, diagnostics and the config.
    pub redactor: Option<Arc<Redactor>>,
    /// For `system/`: the agent, deployment and config text.
    pub system: Option<SystemParts>,
    /// Counters of what the agent dropped, by name.
    pub losses: BTreeMap<String, u64>,
}

/// The inputs of [`sysinfo::capture`] that the hub owns.
#[derive(Debug)]
pub(crate) struct SystemParts {
    pub roots: sysinfo::Roots,
    pub agent: sysinfo::AgentInfo,
    pub deployment: sysinfo::DeploymentConfig,
    pub env_version: Option<String>,
    pub config_text: Option<String>,
}

impl Frozen {
    pub(crate) fn take(ring: &Ring, event_ring: &EventRing, capture: PendingCapture) -> Self {
        let events = event_ring
            .snapshot(capture.window)
            .into_iter()
            .filter(|e| {
                capture.logs.is_empty() || capture.logs.iter().any(|p| p.matches(&e.source))
            })
            .collect();
        let series: Vec<SeriesInput> = ring
            .snapshot(capture.window)
            .into_iter()
            .filter(|(name, _, _)| capture.keeps(name.as_str()))
            .map(|(name, unit, samples)| SeriesInput {
                name,
                unit: unit.into_owned(),
                samples,
            })
            .collect();
        let held: HashMap<&SeriesName, u64> = series
            .iter()
            .map(|s| (&s.name, s.samples.len() as u64))
            .collect();
        let overwritten = capture
            .received
            .iter()
            .filter(|(name, _)| capture.keeps(name.as_str()))
            .filter_map(|(name, &received)| {
                let lost = received.saturating_sub(held.get(name).copied().unwrap_or(0));
                (lost > 0).then(|| (name.clone(), lost))
            })
            .collect();
        Self {
            capture,
            series,
            events,
            overwritten,
        }
    }

    /// Per kept series, samples of the window that the ring had dropped
    /// before this capture was taken (series that lost none are left out).
    pub(crate) fn overwritten(&self) -> &BTreeMap<SeriesName, u64> {
        &self.overwritten
    }

    /// This bundle's own losses for its manifest: `window.ring_overwritten`,
    /// the samples of its window that it lacks because the ring had dropped
    /// them, and `window.ring_overwritten.<series>` for each series that
    /// lost some.
    pub(crate) fn window_losses(&self) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = self
            .overwritten
            .iter()
            .map(|(name, n)| (format!("{WINDOW_OVERWRITTEN}.{name}"), *n))
            .collect();
        out.insert(
            WINDOW_OVERWRITTEN.to_owned(),
            self.overwritten.values().sum(),
        );
        out
    }

    /// The names of the series the bundle will hold.
    #[cfg(test)]
    pub(crate) fn series_names(&self) -> Vec<&str> {
        self.series.iter().map(|s| s.name.as_str()).collect()
    }

    /// The time of each series' first sample.
    #[cfg(test)]
    pub(crate) fn first_sample_times(&self) -> Vec<Timestamp> {
        self.series
            .iter()
            .filter_map(|s| s.samples.first().map(|x| x.ts))
            .collect()
    }

    /// Writes the bundle into the spool; returns its path. Event messages,
    /// diagnostics and the config are redacted first; the manifest says what
    /// was replaced.
    pub(crate) fn write(
        mut self,
        spool: &Spool,
        device_id: &DeviceId,
        context: Context,
    ) -> crate::Result<PathBuf> {
        let now = Timestamp::now();
        let mut counts = Counts::default();
        let mut attachments = Vec::new();
        let mut notes = Vec::new();
        let redactor = context
            .redactor
            .unwrap_or_else(|| Arc::new(Redactor::none()));
        for event in &mut self.events {
            let scrubbed = redactor.redact(&event.message, &mut counts);
            if let std::borrow::Cow::Owned(text) = scrubbed {
                event.message = text;
            }
        }
        if let Some(mut diagnostics) = context.diagnostics {
            diagnostics.redact(&redactor, &mut counts);
            notes.append(&mut diagnostics.notes);
            attachments.extend(
                diagnostics
                    .files
                    .into_iter()
                    .map(|(path, bytes)| Attachment::new(path, bytes)),
            );
        }
        if let Some((files, mut baseline_notes)) = context.baseline {
            notes.append(&mut baseline_notes);
            attachments.extend(files.into_iter().map(|(p, b)| Attachment::new(p, b)));
        }
        if let Some(parts) = &context.system {
            let info = sysinfo::capture(&SystemInput {
                roots: &parts.roots,
                agent: &parts.agent,
                deployment: &parts.deployment,
                env_version: parts.env_version.clone(),
                config_text: parts.config_text.as_deref(),
                redactor: &redactor,
                now,
            });
            counts.merge(&info.redactions);
            notes.extend(info.notes);
            attachments.extend(info.files.into_iter().map(|(p, b)| Attachment::new(p, b)));
        }
        let extras = BundleExtras {
            redactions: counts.to_vec(),
            losses: context.losses,
            notes,
            ..BundleExtras::default()
        };
        let input = BundleInput {
            bundle_id: BundleId::new_v7(),
            device_id,
            agent_version: env!("CARGO_PKG_VERSION"),
            created_at: now,
            trigger: &self.capture.trigger,
            window: self.capture.window,
            series: &self.series,
            events: &self.events,
            attachments: &attachments,
            extras: &extras,
        };
        Ok(rewind_bundle::write_bundle(spool.dir(), &input)?.path)
    }
}
