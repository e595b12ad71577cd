//! [`Watcher`]: deploys and samples in time order, detections and verdicts
//! out, causally (for `rewind deploy watch`).
//!
//! The watcher keeps each series' recent samples (the baseline window, the
//! guard and the post window; older ones are dropped). When a deploy is
//! announced, every series that belongs to it gets a reference learned from
//! the samples before `at − guard` (the pre-deploy strategy: a watcher keeps
//! no days of history) and a CUSUM that replays the samples already stored
//! from `at − guard` on. Each new sample steps it; the moment an alarm is
//! confirmed, a [`WatchEvent::Detected`] is emitted. When time (any sample,
//! or [`Watcher::advance`]) reaches the end of the window, the deploy's final
//! verdict is computed from the stored samples by the same code as
//! [`analyze_deploy`](super::analyze_deploy) and emitted once
//! ([`WatchEvent::Verdict`]). Samples older than the newest of their series
//! are dropped and counted.

use std::collections::BTreeMap;

use rewind_model::Timestamp;
use serde::Serialize;

use super::judge::{Prepared, Scanner};
use super::verdict::{DeployVerdict, Detection};
use super::{Analysis, BaselineStrategy, DeployRef, MetricKind, RegressionConfig, Result, Series};

/// Most samples kept per series, whatever the window.
const MAX_POINTS: usize = 200_000;

/// Identifies one series in a [`Watcher`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SeriesKey {
    /// The metric's name.
    pub name: String,
    /// What it measures.
    pub kind: MetricKind,
    /// Its service.
    pub service: Option<String>,
    /// Its environment.
    pub environment: Option<String>,
    /// Its instance.
    pub instance: Option<String>,
}

impl SeriesKey {
    /// A key without labels.
    #[must_use]
    pub fn new(name: impl Into<String>, kind: MetricKind) -> Self {
        Self {
            name: name.into(),
            kind,
            service: None,
            environment: None,
            instance: None,
        }
    }

    /// With a service label.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    fn empty_series(&self) -> Series {
        Series {
            name: self.name.clone(),
            kind: self.kind,
            service: self.service.clone(),
            environment: self.environment.clone(),
            instance: self.instance.clone(),
            points: Vec::new(),
        }
    }
}

/// What a [`Watcher`] reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum WatchEvent {
    /// A confirmed CUSUM alarm on one series during a deploy's window: an
    /// early regression, before the final tests.
    Detected {
        /// The deploy's id.
        deploy_id: String,
        /// The series' label.
        series: String,
        /// When it changed and when it was seen.
        detection: Detection,
        /// Baseline median and the median since the change point.
        baseline_median: f64,
    },
    /// The final verdict, once the window has passed.
    Verdict(Box<DeployVerdict>),
}

#[derive(Debug)]
struct Live {
    prepared: Option<Prepared>,
    scanner: Option<Scanner>,
    watched: Vec<(Timestamp, f64)>,
    detected: bool,
}

#[derive(Debug)]
struct Watch {
    deploy: DeployRef,
    live: BTreeMap<SeriesKey, Live>,
}

/// The streaming detector. See the module documentation.
#[derive(Debug)]
pub struct Watcher {
    config: RegressionConfig,
    history: BTreeMap<SeriesKey, Series>,
    open: Vec<Watch>,
    now: Option<Timestamp>,
    dropped: u64,
}

impl Watcher {
    /// A watcher; the strategy is forced to the pre-deploy baseline unless
    /// it is a canary comparison (judged at the window's end only).
    ///
    /// # Errors
    /// [`super::Error::InvalidConfig`].
    pub fn new(mut config: RegressionConfig) -> Result<Self> {
        config.validate()?;
        if !matches!(config.strategy, BaselineStrategy::Canary { .. }) {
            config.strategy = BaselineStrategy::PreDeploy;
        }
        Ok(Self {
            config,
            history: BTreeMap::new(),
            open: Vec::new(),
            now: None,
            dropped: 0,
        })
    }

    /// The series it keeps, with their recent samples (the baseline
    /// window, the guard and the post window).
    pub fn series(&self) -> impl Iterator<Item = &Series> {
        self.history.values()
    }

    /// The newest time it has seen (a sample's, or [`Watcher::advance`]'s).
    #[must_use]
    pub fn now(&self) -> Option<Timestamp> {
        self.now
    }

    /// Samples dropped for arriving out of order.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Announces a deploy; samples already stored after `at − guard` are
    /// replayed, so a deploy may be announced a little late.
    pub fn deploy(&mut self, deploy: DeployRef) -> Vec<WatchEvent> {
        let mut watch = Watch {
            deploy,
            live: BTreeMap::new(),
        };
        let mut events = Vec::new();
        let keys: Vec<SeriesKey> = self.history.keys().cloned().collect();
        for key in keys {
            let points = self
                .history
                .get(&key)
                .map(|s| s.points.clone())
                .unwrap_or_default();
            for (t, x) in points {
                events.extend(self.step(&mut watch, &key, t, x));
            }
        }
        self.open.push(watch);
        events.extend(self.close_due());
        events
    }

    /// One sample of `key`; events it causes (detections, and the verdicts
    /// of windows that time has now passed).
    pub fn push(&mut self, key: &SeriesKey, t: Timestamp, x: f64) -> Vec<WatchEvent> {
        let series = self
            .history
            .entry(key.clone())
            .or_insert_with(|| key.empty_series());
        if series.points.last().is_some_and(|p| p.0 > t) {
            self.dropped += 1;
            return Vec::new();
        }
        series.points.push((t, x));
        self.now = self.now.max(Some(t));
        self.trim(key);
        let mut open = std::mem::take(&mut self.open);
        let mut events: Vec<WatchEvent> = open
            .iter_mut()
            .flat_map(|w| self.step(w, key, t, x))
            .collect();
        self.open = open;
        events.extend(self.close_due());
        events
    }

    /// Time passes without samples: closes the windows that ended by `now`.
    pub fn advance(&mut self, now: Timestamp) -> Vec<WatchEvent> {
        self.now = self.now.max(Some(now));
        self.close_due()
    }

    /// An early verdict for an open deploy from the samples so far.
    #[must_use]
    pub fn partial(&self, deploy_id: &str, at: Timestamp) -> Option<DeployVerdict> {
        let w = self.open.iter().find(|w| w.deploy.id == deploy_id)?;
        let series: Vec<Series> = self.history.values().cloned().collect();
        Analysis::new(&w.deploy, &series, &self.config)
            .ok()
            .map(|a| a.partial(at))
    }

    fn trim(&mut self, key: &SeriesKey) {
        let cfg = &self.config;
        let keep = cfg
            .baseline_window_nanos
            .saturating_add(cfg.guard_nanos)
            .saturating_add(cfg.post_window_nanos);
        let Some(now) = self.now else { return };
        // Keep what open windows still need.
        let oldest_open = self
            .open
            .iter()
            .map(|w| {
                w.deploy
                    .at
                    .add_nanos(-cfg.guard_nanos - cfg.baseline_window_nanos)
            })
            .min();
        let cut = oldest_open.map_or(now.add_nanos(-keep), |o| o.min(now.add_nanos(-keep)));
        if let Some(s) = self.history.get_mut(key) {
            let drop = s
                .points
                .partition_point(|p| p.0 < cut)
                .max(s.points.len().saturating_sub(MAX_POINTS));
            s.points.drain(..drop);
        }
    }

    /// Steps one deploy's detector for `key` with a sample.
    fn step(&self, w: &mut Watch, key: &SeriesKey, t: Timestamp, x: f64) -> Option<WatchEvent> {
        let cfg = &self.config;
        let watch_from = w.deploy.at.add_nanos(-cfg.guard_nanos);
        let end = w.deploy.at.add_nanos(cfg.post_window_nanos);
        let series = self.history.get(key)?;
        if t < watch_from || t >= end || !x.is_finite() || !series.belongs_to(&w.deploy) {
            return None;
        }
        let live = w.live.entry(key.clone()).or_insert_with(|| {
            let from = watch_from.add_nanos(-cfg.baseline_window_nanos);
            let reference = series.values_in(from, watch_from).map(|p| p.1).collect();
            let prepared = Prepared::new(series, reference, cfg);
            let scanner = prepared.as_ref().map(|p| Scanner::new(cfg, p.direction()));
            Live {
                prepared,
                scanner,
                watched: Vec::new(),
                detected: false,
            }
        });
        live.watched.push((t, x));
        let (Some(prepared), Some(scanner)) = (&live.prepared, &mut live.scanner) else {
            return None;
        };
        if live.detected {
            return None;
        }
        let ctx = prepared.ctx(cfg);
        let detection = scanner.step(&ctx, &live.watched)?;
        live.detected = true;
        Some(WatchEvent::Detected {
            deploy_id: w.deploy.id.clone(),
            series: series.label(),
            detection,
            baseline_median: ctx.base.median,
        })
    }

    fn close_due(&mut self) -> Vec<WatchEvent> {
        let Some(now) = self.now else {
            return Vec::new();
        };
        let post = self.config.post_window_nanos;
        let (due, open): (Vec<Watch>, Vec<Watch>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|w| now >= w.deploy.at.add_nanos(post));
        self.open = open;
        let series: Vec<Series> = self.history.values().cloned().collect();
        due.iter()
            .filter_map(|w| Analysis::new(&w.deploy, &series, &self.config).ok())
            .map(|a| WatchEvent::Verdict(Box::new(a.complete())))
            .collect()
    }
}
