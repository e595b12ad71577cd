//! The one task that owns the regression state: series, log lines, open
//! deploy windows. It reads [`Input`]s, and once a second lets time pass so
//! windows without samples still close.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use rewind_detect::regression::{
    DeployRef, DeployVerdict, MetricKind, RegressionConfig, SeriesKey, Verdict, WatchEvent, Watcher,
};
use rewind_model::{
    CheckState, Deploy, DeployCheck, DeployId, Timestamp,
    metrics::{LogPoint, MetricPoint},
};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{Input, WeakState, evidence, logs::LogBuffer};
use crate::RegressionSettings;

/// How far ahead of the server's clock a point may be (clock skew).
const MAX_AHEAD: Duration = Duration::from_secs(300);
/// How long a reached verdict is answered from memory (it is stored long
/// before that).
const CLOSING_KEPT: Duration = Duration::from_secs(600);
/// How often time passes without samples.
const TICK: Duration = Duration::from_secs(1);

/// One watched series, for `GET /api/v1/regression/series`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub(crate) struct SeriesStatus {
    /// The metric.
    pub name: String,
    /// What it is judged as: `rate`, `latency`, `count`, `throughput`, `other`.
    #[schema(value_type = String)]
    pub kind: MetricKind,
    /// Its service, when labelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Its environment, when labelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Its instance (device, pod), when labelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Points received since the server started.
    pub points: u64,
    /// The newest point's time.
    pub last_at: Timestamp,
    /// Its value.
    pub last_value: f64,
}

/// What the engine knows of one series besides its samples.
#[derive(Debug)]
struct Known {
    key: SeriesKey,
    points: u64,
    /// The newest point given to the watcher.
    kept_at: Option<Timestamp>,
    last_at: Timestamp,
    last_value: f64,
}

/// What becomes of a point.
enum Thinned {
    /// Given to the watcher under this key.
    Keep(SeriesKey),
    /// Too close after the previous point of its series.
    Skip,
    /// A new series beyond the limit.
    Full,
}

type PointKey = (String, Option<String>, Option<String>, Option<String>);

/// An open window.
#[derive(Debug)]
struct Open {
    deploy: Deploy,
    window_end: Timestamp,
    /// The newest early detection, in plain words.
    detected: Option<String>,
}

/// The engine; see the module documentation.
pub(crate) struct Engine {
    settings: RegressionSettings,
    config: RegressionConfig,
    watcher: Watcher,
    series: BTreeMap<PointKey, Known>,
    logs: LogBuffer,
    /// How far back a point can still fall in a window: baseline, guard,
    /// window and lateness, in nanoseconds.
    horizon: i64,
    open: HashMap<DeployId, Open>,
    /// Verdicts reached but perhaps not yet stored, with when, so the API
    /// never reports a deploy as unwatched between the two.
    closing: HashMap<DeployId, (Timestamp, DeployCheck)>,
    state: WeakState,
}

impl Engine {
    pub(crate) fn new(
        settings: &RegressionSettings,
        state: WeakState,
    ) -> Result<Self, rewind_detect::regression::Error> {
        let config = RegressionConfig {
            post_window_nanos: nanos(settings.window),
            baseline_window_nanos: nanos(settings.baseline),
            guard_nanos: nanos(settings.guard),
            min_relative_effect: settings.min_effect,
            ..RegressionConfig::default()
        };
        let watcher = Watcher::new(config.clone())?;
        let horizon =
            nanos(settings.baseline + settings.guard + settings.window + settings.lateness);
        Ok(Self {
            settings: settings.clone(),
            config,
            watcher,
            series: BTreeMap::new(),
            logs: LogBuffer::default(),
            horizon,
            open: HashMap::new(),
            closing: HashMap::new(),
            state,
        })
    }

    /// Reads inputs until every [`super::Feed`] is gone.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => self.handle(input),
                    None => break,
                },
                _ = tick.tick() => self.tick(Timestamp::now()),
            }
        }
        tracing::debug!("regression watch stopped");
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Metrics(points) => self.metrics(points, Timestamp::now()),
            Input::Logs(lines) => self.logs(lines, Timestamp::now()),
            Input::Deploy(deploy) => self.deploy(deploy, Timestamp::now()),
            Input::Check { deploy, reply } => {
                let _ = reply.send(self.check(deploy, Timestamp::now()));
            }
            Input::Series { reply } => {
                let _ = reply.send(self.series_status());
            }
        }
    }

    /// The oldest point still useful: older ones cannot be in any window.
    fn oldest_useful(&self, now: Timestamp) -> Timestamp {
        now.add_nanos(-self.horizon)
    }

    fn metrics(&mut self, points: Vec<MetricPoint>, now: Timestamp) {
        let (oldest, newest) = (self.oldest_useful(now), now.add_nanos(nanos(MAX_AHEAD)));
        let mut dropped = 0u64;
        for p in points {
            if p.at < oldest || p.at > newest {
                dropped += 1;
                continue;
            }
            let key = match self.key_for(&p) {
                Thinned::Keep(key) => key,
                Thinned::Skip => continue,
                Thinned::Full => {
                    dropped += 1;
                    continue;
                }
            };
            let events = self.watcher.push(&key, p.at, p.value);
            self.on_events(events);
        }
        if dropped > 0
            && let Some(state) = self.state.upgrade()
        {
            state.metrics().regression_dropped.inc_by(dropped);
        }
    }

    /// The watcher's key for a point, registering its series on first
    /// sight (its kind is fixed then).
    fn key_for(&mut self, p: &MetricPoint) -> Thinned {
        let pk: PointKey = (
            p.name.clone(),
            p.service.clone(),
            p.environment.clone(),
            p.instance.clone(),
        );
        if !self.series.contains_key(&pk) {
            if self.series.len() >= self.settings.max_series {
                return Thinned::Full;
            }
            let kind = MetricKind::from_name(&p.name, p.value.fract() == 0.0);
            let key = SeriesKey {
                name: p.name.clone(),
                kind,
                service: p.service.clone(),
                environment: p.environment.clone(),
                instance: p.instance.clone(),
            };
            self.series.insert(
                pk.clone(),
                Known {
                    key,
                    points: 0,
                    kept_at: None,
                    last_at: p.at,
                    last_value: p.value,
                },
            );
        }
        let min_gap = nanos(self.settings.min_interval);
        let Some(known) = self.series.get_mut(&pk) else {
            return Thinned::Full;
        };
        known.points += 1;
        if p.at >= known.last_at {
            known.last_at = p.at;
            known.last_value = p.value;
        }
        if known.kept_at.is_some_and(|k| p.at < k.add_nanos(min_gap)) {
            return Thinned::Skip;
        }
        known.kept_at = Some(p.at);
        Thinned::Keep(known.key.clone())
    }

    fn logs(&mut self, lines: Vec<LogPoint>, now: Timestamp) {
        let (oldest, newest) = (self.oldest_useful(now), now.add_nanos(nanos(MAX_AHEAD)));
        for line in lines {
            if line.at >= oldest && line.at <= newest {
                self.logs.push(line);
            }
        }
        self.logs.trim(oldest);
    }

    fn deploy(&mut self, deploy: Deploy, now: Timestamp) {
        let window_end = deploy.at.add_nanos(self.config.post_window_nanos);
        let lateness = nanos(self.settings.lateness);
        if window_end.add_nanos(lateness) < now {
            tracing::info!(deploy = %deploy.id, "deploy window already over: not watched");
            return;
        }
        tracing::info!(deploy = %deploy.id, service = %deploy.service, until = %window_end, "watching deploy");
        self.open.insert(
            deploy.id,
            Open {
                deploy: deploy.clone(),
                window_end,
                detected: None,
            },
        );
        let events = self.watcher.deploy(DeployRef::from(&deploy));
        self.on_events(events);
    }

    fn tick(&mut self, now: Timestamp) {
        let events = self
            .watcher
            .advance(now.add_nanos(-nanos(self.settings.lateness)));
        self.on_events(events);
        self.logs.trim(self.oldest_useful(now));
        let forget = now.add_nanos(-nanos(CLOSING_KEPT));
        self.closing.retain(|_, (at, _)| *at >= forget);
    }

    fn on_events(&mut self, events: Vec<WatchEvent>) {
        for event in events {
            match event {
                WatchEvent::Detected {
                    deploy_id,
                    series,
                    detection,
                    baseline_median,
                } => self.detected(&deploy_id, &series, detection, baseline_median),
                WatchEvent::Verdict(verdict) => self.decide(*verdict),
            }
        }
    }

    /// An early detection: published, and remembered for the partial view.
    fn detected(
        &mut self,
        deploy_id: &str,
        series: &str,
        detection: rewind_detect::regression::Detection,
        baseline_median: f64,
    ) {
        let Some(open) = deploy_id
            .parse::<DeployId>()
            .ok()
            .and_then(|id| self.open.get_mut(&id))
        else {
            return;
        };
        let words = format!(
            "{series} left its baseline (median {}) at {}, confirmed at {}; the window runs until {}",
            rewind_detect::regression::number(baseline_median),
            detection.change_at,
            detection.detected_at,
            open.window_end
        );
        tracing::info!(deploy = %open.deploy.id, "{words}");
        open.detected = Some(words);
        let id = open.deploy.id;
        if let (Some(state), Some(check)) = (self.state.upgrade(), self.check(id, Timestamp::now()))
        {
            state.publish(rewind_model::LiveEvent::Check { check });
        }
    }

    /// A window has passed: the verdict is stored (and a regression becomes
    /// an incident) by a task of its own, so the engine goes on reading.
    fn decide(&mut self, verdict: DeployVerdict) {
        let Some(open) = verdict
            .deploy
            .id
            .parse::<DeployId>()
            .ok()
            .and_then(|id| self.open.remove(&id))
        else {
            return;
        };
        let signatures = if verdict.verdict == Verdict::Regression || self.logs.has_any() {
            self.logs.signatures(&verdict.deploy, &self.config)
        } else {
            None
        };
        let series = self.watcher_series(&verdict);
        let now = Timestamp::now();
        self.closing.insert(
            open.deploy.id,
            (
                now,
                DeployCheck {
                    deploy: open.deploy.clone(),
                    state: CheckState::Decided,
                    verdict: Some(verdict_word(verdict.verdict).to_owned()),
                    summary: Some(verdict.summary().to_owned()),
                    window_end: Some(open.window_end),
                    incident_id: None,
                    decided_at: Some(now),
                    evidence: None,
                },
            ),
        );
        let Some(state) = self.state.upgrade() else {
            return;
        };
        tokio::spawn(evidence::store(
            state,
            open.deploy,
            open.window_end,
            verdict,
            signatures,
            series,
            self.config.baseline_window_nanos,
        ));
    }

    /// The samples of the regressed series of a verdict, for its bundle.
    fn watcher_series(&self, verdict: &DeployVerdict) -> Vec<rewind_detect::regression::Series> {
        let regressed: Vec<&str> = verdict
            .metrics
            .iter()
            .filter(|m| m.verdict == Verdict::Regression)
            .map(|m| m.series.as_str())
            .collect();
        self.watcher
            .series()
            .filter(|s| regressed.contains(&s.label().as_str()))
            .cloned()
            .collect()
    }

    /// A deploy's check while its window is open.
    fn check(&self, id: DeployId, now: Timestamp) -> Option<DeployCheck> {
        let Some(open) = self.open.get(&id) else {
            return self.closing.get(&id).map(|(_, c)| c.clone());
        };
        // As far as the data go: samples may run ahead of the server's clock.
        let until = self.watcher.now().map_or(now, |t| t.max(now));
        let partial = self.watcher.partial(&id.to_string(), until);
        let (verdict, mut summary) = match &partial {
            Some(v) => (
                Some(verdict_word(v.verdict).to_owned()),
                Some(v.summary().to_owned()),
            ),
            None => (None, None),
        };
        if let Some(d) = &open.detected {
            summary = Some(match summary {
                Some(s) => format!("{s} Detected early: {d}."),
                None => format!("Detected early: {d}."),
            });
        }
        Some(DeployCheck {
            deploy: open.deploy.clone(),
            state: CheckState::Watching,
            verdict,
            summary,
            window_end: Some(open.window_end),
            incident_id: None,
            decided_at: None,
            evidence: partial.and_then(|v| serde_json::to_value(&v).ok()),
        })
    }

    fn series_status(&self) -> Vec<SeriesStatus> {
        self.series
            .values()
            .map(|k| SeriesStatus {
                name: k.key.name.clone(),
                kind: k.key.kind,
                service: k.key.service.clone(),
                environment: k.key.environment.clone(),
                instance: k.key.instance.clone(),
                points: k.points,
                last_at: k.last_at,
                last_value: k.last_value,
            })
            .collect()
    }
}

/// The verdict as the API spells it.
pub(crate) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression => "regression",
        Verdict::NoRegression => "no_regression",
        Verdict::Inconclusive => "inconclusive",
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
