//! The agent's main loop: sample, detect, capture, upload.

use std::{
    collections::HashMap,
    future::Future,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rewind_detect::{Decision, Engine, Signal, SignalKind};
use rewind_model::{IncidentSummary, Sample, SeriesName, Timestamp, Trigger};
use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};

use crate::{
    AgentConfig, Result, Ring, Spool, Uploader,
    capture::{Context, Frozen, PendingCapture, SystemParts},
    collect::{self, Batch, Sink, Stop},
    diagnostics,
    events::EventRing,
    history::{self, History},
    redact::Redactor,
    sysinfo,
    telemetry::{SELF_PREFIX, Telemetry},
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
    run_with(config, None, None, shutdown).await
}

/// Counters the agent keeps current while it runs (updated every 100 ms),
/// for `rewind bench agent` and tests.
#[derive(Debug, Default)]
pub struct AgentStats {
    /// Readings ingested so far.
    pub readings: AtomicU64,
    /// Samples held in the ring now.
    pub ring_samples: AtomicU64,
    /// Heap bytes of sample storage in the ring now.
    pub ring_bytes: AtomicU64,
    /// Events held now.
    pub events: AtomicU64,
    /// Bundles evicted from the spool to keep within its budget.
    pub bundles_evicted: AtomicU64,
    /// Samples bundles lacked because the ring had dropped them before the
    /// capture was taken (`agent.loss.ring_overwritten`).
    pub samples_overwritten: AtomicU64,
    /// Samples of new series refused by the cardinality limit
    /// (`agent.loss.series_refused`).
    pub series_refused: AtomicU64,
    /// Collector batches dropped because the hub's queue was full
    /// (`agent.loss.batches_dropped_queue_full`).
    pub batches_dropped: AtomicU64,
    /// Events dropped by the event ring's byte budget
    /// (`agent.loss.events_dropped_for_space`).
    pub events_dropped: AtomicU64,
}

/// [`run`], also reporting [`AgentEvent`]s on `events` and keeping `stats` current.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    config: AgentConfig,
    events: Option<mpsc::Sender<AgentEvent>>,
    stats: Option<Arc<AgentStats>>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let events = Events(events);
    let spool = Spool::open(config.spool_dir())?.with_budget(config.spool.budget());
    // The budget may have shrunk since the last run.
    let admit = spool.clone();
    tokio::task::spawn_blocking(move || admit.enforce_budget());
    let wake_uploader = Arc::new(Notify::new());
    // Tasks talking to the server (upload, registration, live samples), stopped at the end.
    let mut server_tasks = Vec::new();
    let uploader = match &config.server_url {
        Some(url) => {
            let up = Uploader::new(url)?
                .with_token(config.token.clone())
                .for_device(config.device_id.clone());
            server_tasks.push(tokio::spawn(crate::upload::register_loop(
                up.clone(),
                config.device_id.clone(),
                config.device_identity(),
                Backoff::new(config.spool.retry_initial, config.spool.retry_max),
            )));
            let task = upload_loop(
                up,
                spool.clone(),
                Arc::clone(&wake_uploader),
                events.clone(),
                Backoff::new(config.spool.retry_initial, config.spool.retry_max),
            );
            Some(tokio::spawn(task))
        }
        None => None,
    };
    tracing::info!(
        device = %config.device_id,
        rules = config.rules.rules().len(),
        window_s = config.ring.window.as_secs_f64(),
        "rewind agent started"
    );
    if config.server_url.is_none() {
        tracing::info!(spool = %spool.dir().display(), "no server configured: bundles stay in the spool");
    }
    let mut config = config;
    if config.collectors.logs.offsets_file.is_none() {
        // Log files resume where they stopped across restarts.
        config.collectors.logs.offsets_file = Some(config.state_dir.join("log-offsets.json"));
    }
    let collectors = config.collectors.build()?;
    let (sink, batches) = Sink::channel(BATCH_QUEUE);
    let batches = match (&config.server_url, config.live) {
        (Some(url), true) => {
            let (live, streamer) =
                crate::live::spawn(url, config.token.clone(), config.device_id.clone())?;
            let (batches, feed) = crate::live::tap(batches, live);
            server_tasks.extend([streamer, feed]);
            batches
        }
        _ => batches,
    };
    let history = history::open(&config, &sink).await;
    let (stop_handle, stop) = Stop::new();
    let mut threads = Vec::new();
    for polled in collectors.polled {
        let name = polled.name;
        match collect::spawn_polled(polled, sink.clone(), stop.clone()) {
            Ok(t) => threads.push(t),
            Err(err) => {
                tracing::error!(collector = name, error = %err, "cannot start collector thread")
            }
        }
    }
    let mut streams = JoinSet::new();
    for stream in collectors.streams {
        streams.spawn(stream.run(sink.clone(), stop.clone()));
    }
    let mut hub = Hub::new(&config, spool.clone(), Arc::clone(&wake_uploader), events);
    hub.stats = stats;
    hub.history = history.as_ref().and_then(History::recorder);
    hub.sink = Some(sink.clone());
    hub.run(batches, shutdown).await;
    stop_handle.stop();
    if sink.dropped() > 0 {
        tracing::warn!(
            batches = sink.dropped(),
            "collector batches were dropped because the agent fell behind"
        );
    }
    streams.shutdown().await;
    for t in threads {
        t.join().ok();
    }
    if let Some(task) = uploader {
        task.abort();
    }
    for task in server_tasks {
        task.abort();
    }
    let left = spool.pending().len();
    if left > 0 {
        tracing::info!(
            bundles = left,
            "bundles left in the spool are uploaded by the next run"
        );
    }
    if let Some(history) = history {
        tokio::task::spawn_blocking(move || history.stop("shutdown"))
            .await
            .ok();
    }
    Ok(())
}

/// Pending rules remembered for their capture window; beyond this (a
/// wildcard rule over thousands of series) captures start at the trip.
const MAX_PENDING_RULES: usize = 4096;

/// Batches waiting for the hub; beyond this collectors' batches are dropped.
const BATCH_QUEUE: usize = 1024;

/// How much longer than the longest capture window the rings keep data: a
/// capture is taken at the first tick after its window ends, and the writer
/// may start later still (a busy hub, a slow disk); without this margin
/// the window's first samples had routinely left the ring by then.
const CAPTURE_SLACK: Duration = Duration::from_secs(2);

/// How often the loss counters are recorded as the agent's own series.
const LOSS_SERIES_EVERY: i64 = 1_000_000_000;

/// The single owner of the ring, the engine and the pending captures: one
/// `select!` loop over incoming batches, a timer and bundle writers.
struct Hub<'a> {
    config: &'a AgentConfig,
    spool: Spool,
    wake_uploader: Arc<Notify>,
    events: Events,
    ring: Ring,
    event_ring: EventRing,
    engine: Engine,
    pending: Vec<PendingCapture>,
    /// Rules pending with a capture to come, by (rule, subject): since when.
    pending_since: HashMap<(String, String), Timestamp>,
    /// How far before a trip the ring still holds data when its bundle is written.
    pre_limit: i64,
    writers: JoinSet<Result<(PathBuf, String)>>,
    telemetry: Telemetry,
    stats: Option<Arc<AgentStats>>,
    readings: u64,
    /// Where watched-process events are recorded, if the history is open.
    history: Option<history::Recorder>,
    /// Diagnostics of watched processes, taken at the trip.
    capturer: diagnostics::Capturer,
    /// Diagnostics captures in flight, by capture id.
    diagnosing: HashMap<u64, tokio::task::JoinHandle<diagnostics::Diagnostics>>,
    next_capture: u64,
    /// Routine captures of a healthy moment, to compare an incident with.
    baselines: Arc<std::sync::Mutex<diagnostics::Baselines>>,
    baseline_running: Arc<std::sync::atomic::AtomicBool>,
    redactor: Arc<Redactor>,
    started_at: Timestamp,
    env_version: Option<String>,
    /// The collectors' sink, to report the batches it dropped.
    sink: Option<Sink>,
    /// The agent's own loss series, by counter name, and when they were last recorded.
    loss_series: HashMap<String, SeriesName>,
    loss_recorded_at: Option<Timestamp>,
}

impl<'a> Hub<'a> {
    fn new(
        config: &'a AgentConfig,
        spool: Spool,
        wake_uploader: Arc<Notify>,
        events: Events,
    ) -> Self {
        // The ring keeps the longest pre-window plus the longest post-window
        // any rule asks for, so per-rule windows are honoured.
        let rules = config.rules.rules();
        let pre = rules
            .iter()
            .filter_map(|r| r.capture.pre_nanos)
            .fold(nanos(config.ring.window), i64::max);
        let post = rules
            .iter()
            .filter_map(|r| r.capture.post_nanos)
            .fold(nanos(config.ring.post_trigger), i64::max);
        let keep = pre
            .saturating_add(post)
            .saturating_add(nanos(CAPTURE_SLACK));
        Self {
            config,
            spool,
            wake_uploader,
            events,
            ring: Ring::new(keep),
            event_ring: EventRing::new(keep, config.ring.event_bytes),
            engine: Engine::new(&config.rules),
            pending: Vec::new(),
            pending_since: HashMap::new(),
            pre_limit: pre,
            writers: JoinSet::new(),
            telemetry: Telemetry::default(),
            stats: None,
            readings: 0,
            history: None,
            capturer: diagnostics::Capturer::new(
                &config.diagnostics,
                &config.collectors.processes,
            ),
            diagnosing: HashMap::new(),
            next_capture: 0,
            baselines: Arc::new(std::sync::Mutex::new(diagnostics::Baselines::new(
                &config.diagnostics.baselines,
            ))),
            baseline_running: Arc::default(),
            // `AgentConfig::problems` has refused bad patterns before this point.
            redactor: Arc::new(config.redaction.build().unwrap_or_else(|err| {
                tracing::error!(error = %err, "redaction patterns refused: bundles are NOT redacted");
                Redactor::none()
            })),
            started_at: Timestamp::now(),
            env_version: sysinfo::env_deploy_version(),
            sink: None,
            loss_series: HashMap::new(),
            loss_recorded_at: None,
        }
    }

    /// Runs until `shutdown`; then writes the captures still waiting for
    /// their post-trigger time with what has been recorded so far, so a
    /// trigger is never lost to a restart.
    async fn run(mut self, mut batches: mpsc::Receiver<Batch>, shutdown: impl Future<Output = ()>) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                Some(batch) = batches.recv() => self.ingest(batch),
                _ = tick.tick() => {
                    self.ring.maintain();
                    self.tick(Timestamp::now());
                    self.publish_stats();
                }
                Some(done) = self.writers.join_next() => self.written(done),
                () = &mut shutdown => break,
            }
        }
        tracing::info!(captures = self.pending.len(), "rewind agent stopping");
        let now = Timestamp::now();
        for capture in std::mem::take(&mut self.pending) {
            self.start_write(capture.cut_at(now));
        }
        while let Some(done) = self.writers.join_next().await {
            self.written(done);
        }
    }

    /// Time passes: rules that hold on silence are evaluated, and captures
    /// whose post-window has passed are written.
    fn tick(&mut self, now: Timestamp) {
        let signals = self.engine.advance(now);
        self.signals(signals);
        self.write_due(now);
        self.maybe_baseline(now);
        self.record_losses(now);
    }

    /// Every loss counter, cumulative since the agent started, by name:
    /// `ring_overwritten` (samples bundles lacked because the ring had
    /// dropped them) and `ring_overwritten.<stream>` per stream,
    /// `series_refused` (samples of new series beyond `ring.max_series`),
    /// `batches_dropped_queue_full` (collector batches dropped because the
    /// hub fell behind) with `samples_dropped_queue_full` and
    /// `samples_dropped_queue_full.<stream>` (the samples in them), `events_dropped_for_space` (the event ring's byte
    /// budget) and `bundles_evicted` (the spool's budget). Each bundle's
    /// manifest carries them, and the agent records them as its own series,
    /// `agent.loss.<name>`.
    fn loss_counters(&self) -> std::collections::BTreeMap<String, u64> {
        let mut losses = std::collections::BTreeMap::new();
        losses.insert(
            "ring_overwritten".to_owned(),
            self.telemetry.ring_overwritten_total(),
        );
        for (stream, n) in self.telemetry.ring_overwritten_by_stream() {
            losses.insert(format!("ring_overwritten.{stream}"), *n);
        }
        losses.insert(
            "series_refused".to_owned(),
            self.telemetry.series_refused_total(),
        );
        losses.insert(
            "events_dropped_for_space".to_owned(),
            self.event_ring.dropped_for_space(),
        );
        losses.insert("bundles_evicted".to_owned(), self.spool.evicted());
        losses.insert(
            "batches_dropped_queue_full".to_owned(),
            self.sink.as_ref().map_or(0, Sink::dropped),
        );
        let by_stream = self
            .sink
            .as_ref()
            .map(Sink::samples_dropped_by_stream)
            .unwrap_or_default();
        losses.insert(
            "samples_dropped_queue_full".to_owned(),
            by_stream.values().sum(),
        );
        for (stream, n) in by_stream {
            losses.insert(format!("samples_dropped_queue_full.{stream}"), n);
        }
        losses
    }

    /// Records the loss counters as the agent's own series
    /// (`agent.loss.<counter>`, unit `count`), once a second: into the ring,
    /// so every bundle holds their history, and through the engine, so a
    /// rule can trip on them. They are not subject to `ring.max_series`:
    /// when a stream floods the ring with names, they matter most.
    fn record_losses(&mut self, now: Timestamp) {
        if self.loss_recorded_at.is_some_and(|at| {
            now.as_unix_nanos().saturating_sub(at.as_unix_nanos()) < LOSS_SERIES_EVERY
        }) {
            return;
        }
        self.loss_recorded_at = Some(now);
        let unit = collect::Unit::Borrowed("count");
        for (counter, value) in self.loss_counters() {
            let name = match self.loss_series.get(&counter) {
                Some(name) => name.clone(),
                None => match SeriesName::new(format!("{SELF_PREFIX}loss.{counter}")) {
                    Ok(name) => {
                        self.loss_series.insert(counter, name.clone());
                        name
                    }
                    Err(_) => continue, // a stream name no series name can hold
                },
            };
            #[allow(clippy::cast_precision_loss)]
            let sample = Sample::new(now, value as f64);
            self.ring.push(&name, &unit, sample);
            self.count_pushed(&name, now);
            let signals = self.engine.observe(&name, sample);
            self.signals(signals);
        }
    }

    /// Counts a sample just pushed into the ring for the captures waiting.
    #[inline]
    fn count_pushed(&mut self, name: &SeriesName, ts: Timestamp) {
        for capture in &mut self.pending {
            capture.pushed(name, ts);
        }
    }

    /// Takes a routine baseline when one is due and no incident is being
    /// captured (a baseline is a healthy moment), one at a time.
    fn maybe_baseline(&mut self, now: Timestamp) {
        if !self.config.diagnostics.enabled || !self.pending.is_empty() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let due = self
            .baselines
            .lock()
            .map(|mut b| b.tick(now))
            .unwrap_or(false);
        if !due || self.baseline_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (capturer, baselines, running) = (
            self.capturer.clone(),
            Arc::clone(&self.baselines),
            Arc::clone(&self.baseline_running),
        );
        handle.spawn(async move {
            let taken = capturer.capture(now, diagnostics::Purpose::Baseline).await;
            tracing::debug!(summary = %taken.summary(), "baseline captured");
            if let Ok(mut b) = baselines.lock() {
                b.record(taken);
            }
            running.store(false, Ordering::Release);
        });
    }

    fn publish_stats(&self) {
        if let Some(stats) = &self.stats {
            stats.readings.store(self.readings, Ordering::Relaxed);
            stats
                .ring_samples
                .store(self.ring.len() as u64, Ordering::Relaxed);
            stats
                .ring_bytes
                .store(self.ring.memory_bytes() as u64, Ordering::Relaxed);
            stats
                .events
                .store(self.event_ring.len() as u64, Ordering::Relaxed);
            stats
                .bundles_evicted
                .store(self.spool.evicted(), Ordering::Relaxed);
            stats
                .samples_overwritten
                .store(self.telemetry.ring_overwritten_total(), Ordering::Relaxed);
            stats
                .series_refused
                .store(self.telemetry.series_refused_total(), Ordering::Relaxed);
            stats.batches_dropped.store(
                self.sink.as_ref().map_or(0, Sink::dropped),
                Ordering::Relaxed,
            );
            stats
                .events_dropped
                .store(self.event_ring.dropped_for_space(), Ordering::Relaxed);
        }
    }

    fn ingest(&mut self, batch: Batch) {
        self.readings += batch.readings.len() as u64;
        for p in &batch.problems {
            self.telemetry.problem(&p.source, &p.error);
        }
        for reading in &batch.readings {
            let max = self.config.ring.max_series;
            if !self.ring.contains(&reading.series) && self.ring.series_count() >= max {
                self.telemetry.series_refused(reading.series.as_str(), max);
                continue;
            }
            let sample = Sample::new(batch.ts, reading.value);
            self.ring.push(&reading.series, &reading.unit, sample);
            // Before the engine sees it: a capture it trips counts it in
            // what the ring holds at the trip.
            self.count_pushed(&reading.series, batch.ts);
            let signals = self.engine.observe(&reading.series, sample);
            self.signals(signals);
        }
        for event in batch.events {
            if let Some(history) = &self.history {
                history.event(&event);
            }
            let signals = self.engine.observe_event(&event);
            self.signals(signals);
            self.event_ring.push(event);
        }
    }

    /// Acts on what the engine reports: captures, dry runs, suppressed
    /// trips, and the lifecycle in the log.
    fn signals(&mut self, signals: Vec<Signal>) {
        for signal in signals {
            let key = (signal.rule.clone(), signal.subject.clone());
            match (signal.kind, signal.decision) {
                (SignalKind::Pending, Decision::Capture) => {
                    tracing::info!(rule = %signal.rule, subject = %signal.subject, "rule pending");
                    if self.pending_since.len() < MAX_PENDING_RULES {
                        self.pending_since.insert(key, signal.since);
                    }
                }
                (SignalKind::Pending, _) => {
                    tracing::info!(rule = %signal.rule, subject = %signal.subject, "rule pending");
                }
                (SignalKind::Cancelled, _) => {
                    self.pending_since.remove(&key);
                    tracing::info!(rule = %signal.rule, subject = %signal.subject, "pending rule cleared before its duration");
                }
                (SignalKind::Resolved, _) => {
                    tracing::info!(rule = %signal.rule, subject = %signal.subject, "rule resolved");
                }
                (SignalKind::Firing, decision) => {
                    let since = self.pending_since.remove(&key);
                    let Some(trigger) = signal.trigger else {
                        continue;
                    };
                    match decision {
                        Decision::Capture => self.tripped(trigger, since),
                        Decision::Nothing => {}
                        Decision::DryRun => {
                            tracing::warn!(rule = %trigger.rule, severity = %trigger.severity, summary = %trigger.summary, "dry run: the rule tripped; nothing captured or sent");
                        }
                        Decision::Suppressed(why) => {
                            let suppressed = self
                                .engine
                                .stats()
                                .suppressed
                                .get(&trigger.rule)
                                .copied()
                                .unwrap_or(0);
                            tracing::warn!(rule = %trigger.rule, summary = %trigger.summary, reason = ?why, suppressed, "rule tripped; capture suppressed by its budget");
                        }
                    }
                }
            }
        }
    }

    /// Schedules the bundle of a trip: the rule's own pre/post windows
    /// (defaults from the agent's ring), reaching back to when the rule went
    /// pending, within what the ring holds.
    fn tripped(&mut self, trigger: Trigger, pending_since: Option<Timestamp>) {
        tracing::warn!(rule = %trigger.rule, severity = %trigger.severity, summary = %trigger.summary, "rule tripped");
        let ring = &self.config.ring;
        let rule = self.config.rules.rule(&trigger.rule);
        let capture = rule.map(|r| &r.capture);
        let pre = capture
            .and_then(|c| c.pre_nanos)
            .unwrap_or(nanos(ring.window));
        let post = capture
            .and_then(|c| c.post_nanos)
            .unwrap_or(nanos(ring.post_trigger));
        let fired = trigger.fired_at;
        let start = pending_since.unwrap_or(fired).min(fired).add_nanos(-pre);
        let mut pending = PendingCapture::new(trigger.clone(), pre, post);
        pending.window.start = start.max(fired.add_nanos(-self.pre_limit));
        pending.series = capture.map(|c| c.series.clone()).unwrap_or_default();
        pending.logs = capture.map(|c| c.logs.clone()).unwrap_or_default();
        self.next_capture += 1;
        pending.id = self.next_capture;
        pending.count_held(&self.ring);
        // Diagnostics are taken now, in the tick of the trip, not when the
        // post-window has passed: the state at the breach is the point.
        if self.config.diagnostics.enabled
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let capturer = self.capturer.clone();
            let now = Timestamp::now();
            let task = handle
                .spawn(async move { capturer.capture(now, diagnostics::Purpose::Trigger).await });
            self.diagnosing.insert(pending.id, task);
        }
        self.pending.push(pending);
        self.events.send(AgentEvent::Tripped(trigger));
    }

    fn write_due(&mut self, now: Timestamp) {
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|c| c.is_due(now));
        self.pending = waiting;
        for capture in due {
            self.start_write(capture);
        }
    }

    /// Writes a bundle off the loop (zip and fsync are blocking work).
    fn start_write(&mut self, capture: PendingCapture) {
        let rule = capture.trigger.rule.clone();
        let diagnosing = self.diagnosing.remove(&capture.id);
        let fired_at = capture.trigger.fired_at;
        let (frozen, losses) = self.freeze(capture);
        let (spool, device) = (self.spool.clone(), self.config.device_id.clone());
        let baseline = self.baselines.lock().ok().and_then(|b| {
            b.newest_before(fired_at)
                .map(|newest| (newest.files(), newest.notes()))
        });
        let mut context = Context {
            diagnostics: None,
            baseline,
            redactor: Some(Arc::clone(&self.redactor)),
            system: Some(SystemParts {
                roots: sysinfo::Roots {
                    proc_root: self.config.collectors.system.proc_root.clone(),
                    ..sysinfo::Roots::default()
                },
                agent: sysinfo::AgentInfo::current(self.config.device_id.as_str(), self.started_at),
                deployment: self.config.deployment.clone(),
                env_version: self.env_version.clone(),
                config_text: self.config.config_text.as_ref().map(|t| t.0.clone()),
            }),
            losses,
        };
        self.writers.spawn(async move {
            if let Some(task) = diagnosing {
                context.diagnostics = task.await.ok();
            }
            tokio::task::spawn_blocking(move || {
                frozen
                    .write(&spool, &device, context)
                    .map(|path| (path, rule))
            })
            .await
            .map_err(|e| crate::Error::Task(format!("the bundle writer failed: {e}")))?
        });
    }

    /// Takes a due capture out of the rings; counts what its window lost to
    /// the ring; returns it with the manifest's loss counters (the agent's,
    /// and the window's own, see [`Frozen::window_losses`]).
    fn freeze(
        &mut self,
        capture: PendingCapture,
    ) -> (Frozen, std::collections::BTreeMap<String, u64>) {
        let frozen = Frozen::take(&self.ring, &self.event_ring, capture);
        for (series, n) in frozen.overwritten() {
            self.telemetry.ring_overwritten(series.as_str(), *n);
        }
        let mut losses = self.loss_counters();
        losses.extend(frozen.window_losses());
        (frozen, losses)
    }

    fn written(
        &self,
        done: std::result::Result<Result<(PathBuf, String)>, tokio::task::JoinError>,
    ) {
        match done {
            Ok(Ok((path, rule))) => {
                tracing::info!(bundle = %path.display(), "bundle written");
                let keep = self
                    .config
                    .rules
                    .rule(&rule)
                    .map_or(5, |r| r.max_bundles as usize);
                for old in self.spool.rotate(&rewind_bundle::rule_slug(&rule), keep) {
                    tracing::info!(bundle = %old.display(), rule = %rule, keep, "rotated an old bundle of this rule out of the spool");
                }
                // The spool's budget over all rules: blocking (it may open zips).
                let spool = self.spool.clone();
                tokio::task::spawn_blocking(move || spool.enforce_budget());
                self.events.send(AgentEvent::BundleWritten(path));
                self.wake_uploader.notify_one();
            }
            Ok(Err(err)) => tracing::error!(error = %err, "incident bundle lost: cannot write it"),
            Err(err) => tracing::error!(error = %err, "incident bundle lost: writer task failed"),
        }
    }
}

async fn upload_loop(
    uploader: Uploader,
    spool: Spool,
    wake: Arc<Notify>,
    events: Events,
    mut backoff: Backoff,
) {
    loop {
        let on_stored = |incident: &IncidentSummary| {
            events.send(AgentEvent::Uploaded(Box::new(incident.clone())))
        };
        if uploader.drain(&spool, on_stored).await {
            backoff.reset();
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

#[cfg(test)]
mod tests {
    use rewind_model::{Event, EventKind, Level, SeriesName};

    use super::*;

    fn config(max_series: usize) -> AgentConfig {
        with_rules(
            max_series,
            "triggers:\n  - name: hot\n    type: metric_threshold\n    metric: s.0\n    threshold: { above: 5 }\n    severity: high\n",
        )
    }

    fn with_rules(max_series: usize, yaml: &str) -> AgentConfig {
        let rules = rewind_detect::RuleSet::parse(yaml, "t.yaml").unwrap();
        let mut c = AgentConfig::new(
            rewind_model::DeviceId::new("t").unwrap(),
            "unused".into(),
            rules,
        );
        c.ring.max_series = max_series;
        c
    }

    fn batch(ms: i64, series: &[(&str, f64)]) -> Batch {
        let mut b = Batch::new(Timestamp::from_unix_millis(ms));
        for (name, v) in series {
            b.reading(SeriesName::new(*name).unwrap(), "count", *v);
        }
        b
    }

    fn hub(config: &AgentConfig) -> Hub<'_> {
        let dir = std::env::temp_dir();
        Hub::new(
            config,
            Spool::open(dir.join(format!("hub-test-{}", std::process::id()))).unwrap(),
            Arc::default(),
            Events::default(),
        )
    }

    #[test]
    fn new_series_beyond_the_limit_are_refused_and_counted() {
        let config = config(3);
        let mut hub = hub(&config);
        hub.ingest(batch(
            0,
            &[
                ("s.0", 1.0),
                ("s.1", 1.0),
                ("s.2", 1.0),
                ("s.3", 1.0),
                ("s.4", 1.0),
            ],
        ));
        hub.ingest(batch(100, &[("s.0", 2.0), ("s.4", 2.0)]));
        assert_eq!(hub.ring.series_count(), 3);
        assert_eq!(
            hub.telemetry.series_refused_total(),
            3,
            "s.3 once, s.4 twice"
        );
        assert_eq!(hub.ring.len(), 4, "known series keep being recorded");
    }

    #[test]
    fn readings_trip_rules_and_events_and_problems_are_kept() {
        let config = config(10);
        let mut hub = hub(&config);
        let mut b = batch(0, &[("s.0", 9.0)]);
        b.event(Event::new(
            Timestamp::from_unix_millis(0),
            "kmsg",
            EventKind::OomKill,
            Level::Error,
            "killed",
        ));
        b.problem("system/meminfo", "gone");
        hub.ingest(b);
        assert_eq!(hub.pending.len(), 1, "the rule tripped and a capture waits");
        assert_eq!(hub.event_ring.len(), 1);
        assert_eq!(
            hub.telemetry.problem_counts().get("system/meminfo"),
            Some(&1)
        );
    }

    fn ms(t: i64) -> Timestamp {
        Timestamp::from_unix_millis(t)
    }

    #[test]
    fn a_rules_capture_settings_shape_its_bundle_and_reach_back_to_pending() {
        let config = with_rules(
            10,
            "triggers:\n  - name: hot\n    type: metric_threshold\n    metric: s.0\n    threshold: { above: 5 }\n    duration: 3\n    severity: high\n    capture: { pre: 2, post: 1, series: [\"s.1\"] }\n",
        );
        let mut hub = hub(&config);
        for t in 0..=3 {
            hub.ingest(batch(
                10_000 + t * 1000,
                &[("s.0", 9.0), ("s.1", 1.0), ("s.2", 1.0)],
            ));
        }
        let [capture] = hub.pending.as_slice() else {
            panic!("one capture expected: {:?}", hub.pending)
        };
        assert_eq!(capture.trigger.fired_at, ms(13_000));
        assert_eq!(
            (capture.window.start, capture.window.end),
            (ms(8_000), ms(14_000)),
            "2 s before the rule went pending at 10 s, to 1 s after it fired"
        );
        let frozen = Frozen::take(&hub.ring, &hub.event_ring, capture.clone());
        let names = frozen.series_names();
        assert_eq!(
            names,
            ["s.0", "s.1"],
            "the evidence series and the chosen ones"
        );
    }

    /// Feeds `s.0` (tripping above 5) and `s.1` at 10 Hz from `from` to
    /// `to` ms, `s.0` hot from `hot` ms on.
    fn feed(hub: &mut Hub<'_>, from: i64, to: i64, hot: i64) {
        for t in (from..=to).step_by(100) {
            let v = if t >= hot { 9.0 } else { 1.0 };
            hub.ingest(batch(t, &[("s.0", v), ("s.1", 1.0)]));
        }
    }

    fn default_windows() -> AgentConfig {
        let mut c = config(10);
        c.ring.window = Duration::from_secs(60);
        c.ring.post_trigger = Duration::from_secs(10);
        c
    }

    #[test]
    fn a_capture_taken_a_tick_late_lacks_nothing() {
        let config = default_windows();
        let mut hub = hub(&config);
        // Trips at 100 s; the window is 40..110 s; taken at the tick after.
        feed(&mut hub, 0, 110_100, 100_000);
        let capture = hub.pending.pop().unwrap();
        assert_eq!(capture.window.start, ms(40_000));
        let (frozen, losses) = hub.freeze(capture);
        assert!(
            frozen.overwritten().is_empty(),
            "the ring keeps a margin: {:?}",
            frozen.overwritten()
        );
        assert_eq!(losses.get("window.ring_overwritten"), Some(&0));
        assert_eq!(losses.get("ring_overwritten"), Some(&0));
        let first = frozen.first_sample_times();
        assert_eq!(first, [ms(40_000), ms(40_000)]);
    }

    #[test]
    fn samples_the_ring_dropped_before_the_capture_are_counted_per_series_and_stream() {
        let config = default_windows();
        let mut hub = hub(&config);
        feed(&mut hub, 0, 100_000, 100_000);
        // The hub is stalled past the window's end and the ring's margin:
        // 5 s more of samples arrive before the capture is taken.
        feed(&mut hub, 100_100, 115_000, 0);
        let capture = hub.pending.pop().unwrap();
        let (frozen, losses) = hub.freeze(capture);
        // The ring keeps 72 s back from 115 s: 43..115 s; the window starts at 40 s.
        let lost: Vec<_> = frozen
            .overwritten()
            .iter()
            .map(|(name, n)| (name.as_str(), *n))
            .collect();
        assert_eq!(lost, [("s.0", 30), ("s.1", 30)]);
        assert_eq!(losses.get("window.ring_overwritten"), Some(&60));
        assert_eq!(losses.get("window.ring_overwritten.s.0"), Some(&30));
        assert_eq!(losses.get("ring_overwritten"), Some(&60));
        assert_eq!(
            losses.get("ring_overwritten.custom"),
            Some(&60),
            "`s.*` is no collector's series"
        );
        assert_eq!(hub.telemetry.ring_overwritten_total(), 60);
    }

    #[test]
    fn losses_are_the_agents_own_series_and_stats() {
        let config = config(2);
        let mut hub = hub(&config);
        let stats = Arc::new(AgentStats::default());
        hub.stats = Some(Arc::clone(&stats));
        hub.ingest(batch(0, &[("s.0", 1.0), ("s.1", 1.0), ("s.2", 1.0)]));
        hub.ingest(batch(100, &[("s.2", 1.0), ("s.3", 1.0)]));
        hub.tick(ms(200));
        hub.tick(ms(700)); // within the second: not recorded again
        hub.ingest(batch(800, &[("s.4", 1.0)]));
        hub.tick(ms(1_200));
        hub.publish_stats();
        let window = rewind_model::TimeRange {
            start: ms(0),
            end: ms(2_000),
        };
        let snapshot = hub.ring.snapshot(window);
        let refused = snapshot
            .iter()
            .find(|(name, _, _)| name.as_str() == "agent.loss.series_refused")
            .map(|(_, unit, samples)| {
                let values: Vec<_> = samples.iter().map(|s| (s.ts, s.value)).collect();
                (unit.to_string(), values)
            });
        assert_eq!(
            refused,
            Some(("count".to_owned(), vec![(ms(200), 3.0), (ms(1_200), 4.0)])),
            "recorded once a second, past ring.max_series"
        );
        let names: Vec<_> = snapshot
            .iter()
            .map(|(name, _, _)| name.as_str())
            .filter(|n| n.starts_with("agent.loss."))
            .collect();
        assert_eq!(
            names,
            [
                "agent.loss.batches_dropped_queue_full",
                "agent.loss.bundles_evicted",
                "agent.loss.events_dropped_for_space",
                "agent.loss.ring_overwritten",
                "agent.loss.samples_dropped_queue_full",
                "agent.loss.series_refused",
            ]
        );
        assert_eq!(stats.series_refused.load(Ordering::Relaxed), 4);
        assert_eq!(stats.samples_overwritten.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn dry_run_rules_and_cooldowns_capture_nothing() {
        let config = with_rules(
            10,
            "triggers:\n  - name: quiet\n    type: metric_threshold\n    metric: s.0\n    threshold: { above: 5 }\n    severity: high\n    dry_run: true\n  - name: flappy\n    type: metric_threshold\n    metric: s.1\n    threshold: { above: 5 }\n    severity: high\n    cooldown: 60\n",
        );
        let mut hub = hub(&config);
        for (t, v) in [
            (0, 9.0),
            (1000, 1.0),
            (2000, 9.0),
            (3000, 1.0),
            (70_000, 9.0),
        ] {
            hub.ingest(batch(t, &[("s.0", v), ("s.1", v)]));
        }
        let fired: Vec<_> = hub
            .pending
            .iter()
            .map(|c| (c.trigger.rule.as_str(), c.trigger.fired_at))
            .collect();
        assert_eq!(
            fired,
            [("flappy", ms(0)), ("flappy", ms(70_000))],
            "the dry-run rule never captures; the trip at 2 s is inside the cooldown"
        );
        assert_eq!(hub.engine.stats().suppressed.get("flappy"), Some(&1));
        assert_eq!(hub.engine.stats().fired.get("quiet"), Some(&3));
    }

    #[test]
    fn silence_trips_absent_rules_on_the_tick() {
        let config = with_rules(
            10,
            "triggers:\n  - name: silent\n    type: absent\n    metric: s.1\n    after: 2\n    severity: high\n",
        );
        let mut hub = hub(&config);
        hub.ingest(batch(0, &[("s.1", 1.0)]));
        hub.tick(ms(1_500));
        assert!(hub.pending.is_empty());
        hub.tick(ms(2_100));
        assert_eq!(hub.pending.len(), 1);
        assert_eq!(hub.pending[0].trigger.rule, "silent");
    }

    #[test]
    fn a_bundle_holds_the_rules_logs_redacted_and_the_system_files() {
        let config = with_rules(
            10,
            "triggers:\n  - name: hot\n    type: metric_threshold\n    metric: s.0\n    threshold: { above: 5 }\n    severity: high\n    capture: { logs: [kmsg] }\n",
        );
        let mut hub = hub(&config);
        let mut b = batch(1_000, &[("s.0", 1.0)]);
        b.event(Event::new(
            ms(1_000),
            "kmsg",
            EventKind::Log,
            Level::Error,
            "mail ops@example.com now",
        ));
        b.event(Event::new(
            ms(1_000),
            "journal",
            EventKind::Log,
            Level::Info,
            "not kept",
        ));
        hub.ingest(b);
        hub.ingest(batch(2_000, &[("s.0", 9.0)]));
        let capture = hub.pending.pop().unwrap();
        let frozen = Frozen::take(&hub.ring, &hub.event_ring, capture);
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().to_path_buf()).unwrap();
        let context = Context {
            redactor: Some(Arc::clone(&hub.redactor)),
            system: Some(SystemParts {
                roots: sysinfo::Roots::default(),
                agent: sysinfo::AgentInfo::current("t", ms(0)),
                deployment: sysinfo::DeploymentConfig::default(),
                env_version: None,
                config_text: Some("token: hunter2secret\n".to_owned()),
            }),
            ..Context::default()
        };
        let path = frozen.write(&spool, &config.device_id, context).unwrap();
        let bytes = std::fs::read(path).unwrap();
        let bundle = rewind_bundle::read_bundle(&bytes, &rewind_bundle::Limits::default()).unwrap();
        let messages: Vec<_> = bundle.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages.len(),
            1,
            "only the rule's log source: {messages:?}"
        );
        assert!(!messages[0].contains("ops@example.com"), "{messages:?}");
        let redacted: u64 = bundle.manifest.redactions.iter().map(|r| r.count).sum();
        assert!(
            redacted >= 2,
            "the e-mail and the token: {:?}",
            bundle.manifest.redactions
        );
        let paths: Vec<_> = bundle.attachments.iter().map(|a| a.path.as_str()).collect();
        assert!(paths.contains(&"system/host.json"), "{paths:?}");
        let config_file = bundle
            .attachments
            .iter()
            .find(|a| a.path == "system/agent-config.yaml")
            .unwrap();
        assert!(!String::from_utf8_lossy(&config_file.bytes).contains("hunter2secret"));
    }
}
