//! The agent's main loop: sample, detect, capture, upload.

use std::{future::Future, path::PathBuf, sync::Arc, time::Duration};

use rewind_detect::Engine;
use rewind_model::{IncidentSummary, Sample, Timestamp, Trigger};
use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};

use crate::{
    AgentConfig, Result, Ring, Spool, SystemCollector, Uploader,
    capture::{Frozen, PendingCapture},
    upload::Backoff,
};

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Something the agent did, for callers that want to follow along (the
/// demo, tests). Sent with `try_send`: a slow listener misses events, it
/// never slows the agent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AgentEvent {
    /// A rule tripped; its bundle is written once the post-trigger time has passed.
    Tripped(Trigger),
    /// A bundle was written into the spool.
    BundleWritten(std::path::PathBuf),
    /// The server stored a bundle as this incident.
    Uploaded(Box<IncidentSummary>),
}

/// Where events go, if anyone listens.
#[derive(Debug, Clone, Default)]
pub(crate) struct Events(Option<mpsc::Sender<AgentEvent>>);

impl Events {
    pub(crate) fn send(&self, event: AgentEvent) {
        if let Some(tx) = &self.0 {
            tx.try_send(event).ok();
        }
    }
}

/// Runs the agent until `shutdown` completes. Bundles still spooled then are
/// uploaded by the next run.
///
/// # Errors
/// When the spool cannot be created or the server URL is unusable.
pub async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<()> {
    run_with_events(config, None, shutdown).await
}

/// [`run`], also reporting [`AgentEvent`]s on `events`.
///
/// # Errors
/// As [`run`].
pub async fn run_with_events(
    config: AgentConfig,
    events: Option<mpsc::Sender<AgentEvent>>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let events = Events(events);
    let spool = Spool::open(config.spool_dir())?;
    let wake_uploader = Arc::new(Notify::new());
    let uploader = match &config.server_url {
        Some(url) => {
            let up = Uploader::new(url)?;
            let task = upload_loop(
                up,
                spool.clone(),
                Arc::clone(&wake_uploader),
                events.clone(),
            );
            Some(tokio::spawn(task))
        }
        None => None,
    };
    tracing::info!(
        device = %config.device_id,
        rules = config.rules.rules().len(),
        interval_ms = config.interval.as_millis(),
        window_s = config.window.as_secs_f64(),
        "rewind agent started"
    );
    if config.server_url.is_none() {
        tracing::info!(spool = %spool.dir().display(), "no server configured: bundles stay in the spool");
    }
    sample_loop(&config, &spool, &wake_uploader, &events, shutdown).await;
    if let Some(task) = uploader {
        task.abort();
    }
    let left = spool.pending().len();
    if left > 0 {
        tracing::info!(
            bundles = left,
            "bundles left in the spool are uploaded by the next run"
        );
    }
    Ok(())
}

/// Samples until `shutdown`; then writes the captures still waiting for
/// their post-trigger time with what has been recorded so far, so a trigger
/// is never lost to a restart.
async fn sample_loop(
    config: &AgentConfig,
    spool: &Spool,
    wake_uploader: &Notify,
    events: &Events,
    shutdown: impl Future<Output = ()>,
) {
    let mut collector = SystemCollector::new(config.proc_root.clone());
    let mut ring = Ring::new(nanos(config.window) + nanos(config.post_trigger));
    let mut engine = Engine::new(&config.rules);
    let mut pending: Vec<PendingCapture> = Vec::new();
    let mut writers = JoinSet::new();
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut shutdown => break,
            Some(done) = writers.join_next() => {
                written(done, events, wake_uploader);
                continue;
            }
        }
        let now = Timestamp::now();
        for reading in collector.collect() {
            let sample = Sample::new(now, reading.value);
            ring.push(&reading.series, reading.unit, sample);
            for trigger in engine.observe(&reading.series, sample) {
                tracing::warn!(rule = %trigger.rule, severity = %trigger.severity, summary = %trigger.summary, "rule tripped");
                let capture = PendingCapture::new(
                    trigger.clone(),
                    nanos(config.window),
                    nanos(config.post_trigger),
                );
                pending.push(capture);
                events.send(AgentEvent::Tripped(trigger));
            }
        }
        let (due, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|c| c.is_due(now));
        pending = waiting;
        for capture in due {
            start_write(&mut writers, Frozen::take(&ring, capture), spool, config);
        }
    }
    tracing::info!(captures = pending.len(), "rewind agent stopping");
    let now = Timestamp::now();
    for capture in pending {
        start_write(
            &mut writers,
            Frozen::take(&ring, capture.cut_at(now)),
            spool,
            config,
        );
    }
    while let Some(done) = writers.join_next().await {
        written(done, events, wake_uploader);
    }
}

/// Writes a bundle off the sampling loop (zip and fsync are blocking work).
fn start_write(
    writers: &mut JoinSet<Result<PathBuf>>,
    frozen: Frozen,
    spool: &Spool,
    config: &AgentConfig,
) {
    let (spool, device) = (spool.clone(), config.device_id.clone());
    writers.spawn_blocking(move || frozen.write(&spool, &device));
}

fn written(
    done: std::result::Result<Result<PathBuf>, tokio::task::JoinError>,
    events: &Events,
    wake: &Notify,
) {
    match done {
        Ok(Ok(path)) => {
            tracing::info!(bundle = %path.display(), "bundle written");
            events.send(AgentEvent::BundleWritten(path));
            wake.notify_one();
        }
        Ok(Err(err)) => tracing::error!(error = %err, "incident bundle lost: cannot write it"),
        Err(err) => tracing::error!(error = %err, "incident bundle lost: writer task failed"),
    }
}

async fn upload_loop(uploader: Uploader, spool: Spool, wake: Arc<Notify>, events: Events) {
    let mut backoff = Backoff::default();
    loop {
        let on_stored = |incident: &IncidentSummary| {
            events.send(AgentEvent::Uploaded(Box::new(incident.clone())))
        };
        if uploader.drain(&spool, on_stored).await {
            backoff = Backoff::default();
            // Also look again now and then, for bundles left by an earlier run.
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        } else {
            tokio::time::sleep(backoff.next()).await;
        }
    }
}
