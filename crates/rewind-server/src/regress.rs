//! The regression watch: did this deploy make things worse? (issue 7)
//!
//! Metric points and log lines arrive from every source, checked, as
//! [`MetricPoint`]s and [`LogPoint`]s through a [`Feed`]:
//!
//! - the agent's live samples (`POST /api/v1/samples`, the agent stream),
//!   as series of the device (instance = device id);
//! - JSON Lines in the release-regression seed's format, posted to
//!   `POST /api/v1/metrics` and `POST /api/v1/logs`, or followed in files
//!   ([`tail`]);
//! - OpenTelemetry over OTLP/HTTP (`POST /v1/metrics`, `POST /v1/logs`,
//!   [`otlp`]);
//! - a Prometheus server's `query_range` API, pulled ([`prometheus`]).
//!
//! One task, the [`engine`], owns the detection state: a streaming
//! [`Watcher`](rewind_detect::regression::Watcher) over every series and a
//! bounded buffer of recent log lines. A recorded deploy opens a window;
//! partial verdicts are available while it is open
//! (`GET /api/v1/deploys/{id}/check`); when it has passed (plus a lateness
//! allowance for late samples) the final verdict is stored with its
//! evidence, and a regression becomes an incident whose bundle holds the
//! series before and after, the new log signatures' lines and the full
//! verdict ([`evidence`]).
//!
//! Every queue is bounded. A source that outruns the engine is told to
//! retry (HTTP 503) or waits (pulled sources); series beyond
//! [`RegressionSettings::max_series`](crate::RegressionSettings) and points
//! too far in the future or the past are dropped and counted.

mod engine;
mod evidence;
mod logs;
pub(crate) mod otlp;
pub mod prometheus;
pub(crate) mod tail;

use std::sync::{Arc, Weak};

use rewind_model::{
    Deploy, DeployCheck, DeployId,
    metrics::{LogPoint, MetricPoint},
};
use tokio::sync::{mpsc, oneshot};

pub(crate) use engine::SeriesStatus;
pub(crate) use evidence::decided;

/// Batches the engine may fall behind by before sources are told to retry.
const FEED_DEPTH: usize = 1024;

/// What the engine is told.
#[derive(Debug)]
pub(crate) enum Input {
    /// Checked metric points.
    Metrics(Vec<MetricPoint>),
    /// Checked log lines.
    Logs(Vec<LogPoint>),
    /// A deploy was recorded.
    Deploy(Deploy),
    /// Where a deploy's check is, if the engine is watching it.
    Check {
        deploy: DeployId,
        reply: oneshot::Sender<Option<DeployCheck>>,
    },
    /// The series being watched.
    Series {
        reply: oneshot::Sender<Vec<SeriesStatus>>,
    },
}

/// The engine is too far behind: retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FeedFull;

/// Sends checked points, lines and deploys to the engine.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    tx: mpsc::Sender<Input>,
}

impl Feed {
    /// A feed and the receiving end the engine reads.
    pub(crate) fn channel() -> (Self, mpsc::Receiver<Input>) {
        let (tx, rx) = mpsc::channel(FEED_DEPTH);
        (Self { tx }, rx)
    }

    /// Queues points without waiting (HTTP sources answer 503 on
    /// [`FeedFull`]). Empty batches are not sent.
    pub(crate) fn try_metrics(&self, points: Vec<MetricPoint>) -> Result<(), FeedFull> {
        if points.is_empty() {
            return Ok(());
        }
        self.tx
            .try_send(Input::Metrics(points))
            .map_err(|_| FeedFull)
    }

    /// Queues log lines without waiting.
    pub(crate) fn try_logs(&self, lines: Vec<LogPoint>) -> Result<(), FeedFull> {
        if lines.is_empty() {
            return Ok(());
        }
        self.tx.try_send(Input::Logs(lines)).map_err(|_| FeedFull)
    }

    /// Queues points, waiting for room (pulled sources: back-pressure).
    /// Returns false once the engine has stopped.
    pub(crate) async fn metrics(&self, points: Vec<MetricPoint>) -> bool {
        points.is_empty() || self.tx.send(Input::Metrics(points)).await.is_ok()
    }

    /// Queues log lines, waiting for room.
    pub(crate) async fn logs(&self, lines: Vec<LogPoint>) -> bool {
        lines.is_empty() || self.tx.send(Input::Logs(lines)).await.is_ok()
    }

    /// Tells the engine about a recorded deploy (waits: a deploy is never dropped).
    pub(crate) async fn deploy(&self, deploy: Deploy) {
        if self.tx.send(Input::Deploy(deploy)).await.is_err() {
            tracing::warn!("the regression watch has stopped; the deploy is not watched");
        }
    }

    /// The engine's view of a deploy's check; `None` when it is not
    /// watching it (decided, too old, or the engine has stopped).
    pub(crate) async fn check(&self, deploy: DeployId) -> Option<DeployCheck> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Input::Check { deploy, reply }).await.ok()?;
        rx.await.ok().flatten()
    }

    /// The series being watched.
    pub(crate) async fn series(&self) -> Vec<SeriesStatus> {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Input::Series { reply }).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

/// A handle on the server's state that does not keep it alive: the engine
/// holds one, so that dropping the last [`AppState`](crate::AppState)
/// closes the feed and ends the engine.
#[derive(Debug, Clone)]
pub(crate) struct WeakState(pub(crate) Weak<crate::state::Inner>);

impl WeakState {
    pub(crate) fn upgrade(&self) -> Option<crate::AppState> {
        self.0.upgrade().map(crate::AppState::from_inner)
    }

    pub(crate) fn new(inner: &Arc<crate::state::Inner>) -> Self {
        Self(Arc::downgrade(inner))
    }
}

/// Starts the engine and the configured file and Prometheus sources.
/// Called once per [`AppState`](crate::AppState), inside a Tokio runtime.
pub(crate) fn start(
    settings: &crate::RegressionSettings,
    feed: &Feed,
    rx: mpsc::Receiver<Input>,
    state: WeakState,
) {
    let engine = match engine::Engine::new(settings, state.clone()) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "the regression watch cannot start: deploys are not judged");
            return;
        }
    };
    tokio::spawn(engine.run(rx));
    for path in &settings.metric_files {
        tokio::spawn(tail::follow(
            path.clone(),
            tail::Kind::Metrics,
            feed.clone(),
            state.clone(),
        ));
    }
    for path in &settings.log_files {
        tokio::spawn(tail::follow(
            path.clone(),
            tail::Kind::Logs,
            feed.clone(),
            state.clone(),
        ));
    }
    if let Some(prom) = &settings.prometheus {
        tokio::spawn(prometheus::run(prom.clone(), feed.clone(), state));
    }
}
