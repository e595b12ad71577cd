//! The tick: sample, check, and on a breach capture in the same tick.
//!
//! One [`Engine`] lives behind a mutex; the watchdog's thread (or the
//! program, through [`Watchdog::tick_now`](crate::Watchdog::tick_now))
//! calls [`Engine::tick`]. Threads it starts (the end of a CPU profile, a
//! contention diagnostic) are joined at shutdown.

use std::{
    collections::{BTreeSet, VecDeque},
    path::PathBuf,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use rewind_model::Timestamp;

use crate::{
    Clock,
    budget::{Cooldown, Cooldowns, WarningBudget},
    capture::{Captures, Draft, Trigger, complete_pending, cpu, heap, procfs, stacks::Tool},
    clock::{plus, since},
    config::{Action, Config, Metric},
    event::{Event, EventKind, EventRing},
    notify::{Notification, NotifyQueue},
    status::WatchdogStatus,
    stop::Stop,
    thresholds::{Breach, Evaluator, Limits, Sample, Sampler},
};

/// What the tick thread, the handle and the workers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) ring: Arc<Mutex<EventRing>>,
    pub(crate) status: Mutex<WatchdogStatus>,
    pub(crate) stop: Arc<Stop>,
    /// A contention diagnostic asked for through the API (`Some(window)`).
    pub(crate) contention_request: Mutex<Option<Option<Duration>>>,
    pub(crate) contention_running: AtomicBool,
}

impl Shared {
    pub(crate) fn status(&self) -> MutexGuard<'_, WatchdogStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What every capture path needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) cfg: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) captures: Arc<Captures>,
    pub(crate) tool: Option<Tool>,
    pub(crate) yama: Option<u8>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) notify: Option<NotifyQueue>,
    pub(crate) scratch: heap::Scratch,
}

impl Ctx {
    /// Keeps `event` in the ring and, with `notify`, queues it for the notifier.
    pub(crate) fn emit(&self, event: Event, notify: bool) -> Event {
        let now = self.clock.now();
        let stored = self
            .shared
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event, now);
        if notify && let Some(q) = &self.notify {
            q.send(Notification {
                source: "rewind-watchdog".to_owned(),
                pid: self.captures.who.pid,
                host: self.captures.who.host.clone(),
                version: self.captures.who.version.clone(),
                event: stored.clone(),
            });
        }
        stored
    }

    /// All threads' stacks into `rel` through the tool, or a note.
    pub(crate) fn stacks(&self, draft: &mut Draft, rel: &str) {
        match &self.tool {
            Some(tool) => match tool.dump(self.captures.who.pid, self.cfg.stack_timeout, self.yama) {
                Ok(out) => draft.file(rel, &out, "user-space stacks of every thread (eu-stack)"),
                Err(e) => draft.note(format!("{rel}: {e}; proc/threads.txt has the thread table")),
            },
            None => draft.note(format!(
                "{rel}: no stack tool (install elfutils for eu-stack); proc/threads.txt has the thread table"
            )),
        }
    }

    /// Why a CPU profile would endanger the process now, if it would.
    pub(crate) fn low_headroom(&self, rss: Option<u64>, limits: &Limits) -> Option<String> {
        let by_limit = limits
            .memory_bytes
            .zip(rss)
            .map(|(l, r)| l.saturating_sub(r));
        let available = crate::thresholds::read::mem_available(&self.cfg.proc_root);
        let headroom = match (by_limit, available) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        #[allow(clippy::cast_precision_loss)]
        (headroom < self.cfg.profile_headroom).then(|| {
            format!(
                "the memory headroom ({}) is below profile_headroom ({}), and {}",
                Metric::Rss.format(headroom as f64),
                Metric::Rss.format(self.cfg.profile_headroom as f64),
                cpu::MEMORY_COST
            )
        })
    }

    /// A heap profile into `heap.prof`, or a note.
    pub(crate) fn heap_profile(&self, draft: &mut Draft) {
        let dest = draft.tmp.join("heap.prof");
        match heap::dump(self.scratch, &dest) {
            Ok(()) => {
                let bytes = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
                draft.manifest.files.push(crate::capture::FileEntry {
                    path: "heap.prof".to_owned(),
                    bytes,
                    what: "jemalloc heap profile (jeprof format)".to_owned(),
                });
            }
            Err(e) => draft.note(e),
        }
    }
}

/// The tick's state.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) ctx: Arc<Ctx>,
    sampler: Sampler,
    eval: Evaluator,
    limits: Limits,
    limits_at: Option<Timestamp>,
    cooldowns: Cooldowns,
    warnings: WarningBudget,
    unreadable: BTreeSet<Metric>,
    baseline_next: Option<Timestamp>,
    latest_baseline: Option<PathBuf>,
    sched_breaches: VecDeque<Timestamp>,
    workers: Vec<JoinHandle<()>>,
}

impl Engine {
    pub(crate) fn new(ctx: Arc<Ctx>, sampler: Sampler) -> Self {
        let cfg = &ctx.cfg;
        Self {
            eval: Evaluator::new(cfg),
            limits: Limits::default(),
            limits_at: None,
            cooldowns: Cooldowns::new(cfg.cooldown),
            warnings: WarningBudget::new(cfg.warning_budget, cfg.warning_window),
            unreadable: BTreeSet::new(),
            baseline_next: None,
            latest_baseline: None,
            sched_breaches: VecDeque::new(),
            workers: Vec::new(),
            sampler,
            ctx,
        }
    }

    /// One check.
    pub(crate) fn tick(&mut self) {
        let started = Instant::now();
        let now = self.ctx.clock.now();
        if self
            .limits_at
            .is_none_or(|t| since(now, t) >= self.ctx.cfg.limits_every)
        {
            self.limits = Limits::read(&self.ctx.cfg);
            self.limits_at = Some(now);
        }
        let (sample, problems) = self.sampler.sample();
        for (metric, why) in problems {
            if self.unreadable.insert(metric) {
                let mut e = Event::new(
                    EventKind::Error,
                    format!("{} is not checked: {why}", metric.describe()),
                );
                e.metric = Some(metric);
                self.ctx.emit(e, false);
            }
        }
        let breaches = self.eval.evaluate(&self.ctx.cfg, &sample, &self.limits);
        {
            let mut s = self.ctx.shared.status();
            s.ticks += 1;
            s.last_sample = Some(sample);
            s.limits = self.limits;
            s.warnings_dropped = self.warnings.dropped();
            if let Some(q) = &self.ctx.notify {
                s.notifications_dropped = q.stats.dropped.load(Ordering::Relaxed);
                s.notifications_failed = q.stats.failed.load(Ordering::Relaxed);
            }
        }
        self.on_breaches(breaches, &sample, now, started);
        self.baseline_if_due(now);
        self.contention_if_asked(now);
        self.workers.retain(|w| !w.is_finished());
    }

    fn on_breaches(
        &mut self,
        breaches: Vec<Breach>,
        sample: &Sample,
        now: Timestamp,
        started: Instant,
    ) {
        let mut capture = Vec::new();
        for b in breaches {
            if b.metric == Metric::SchedLatency {
                self.sched_breaches.push_back(now);
            }
            let kind = b.metric.as_str();
            match self.ctx.cfg.metric(b.metric).action {
                Action::Warn => self.warn(&b, now, String::new()),
                Action::Capture => {
                    match self.cooldowns.ask(kind, now) {
                        Cooldown::Allowed => capture.push(b),
                        Cooldown::Cooling { until, first } => {
                            self.ctx.shared.status().suppressed += 1;
                            if first {
                                self.warn(&b, now, format!("; no capture: {kind} captures are cooling down until {until}"));
                            }
                        }
                    }
                }
            }
        }
        if capture.is_empty() {
            return;
        }
        let capture_error = self.ctx.shared.status().capture_error.clone();
        match capture_error {
            Some(e) => {
                for b in &capture {
                    self.warn(b, now, format!("; no capture: capturing has stopped ({e})"));
                }
            }
            None => self.capture(&capture, sample, now, started),
        }
    }

    fn warn(&mut self, b: &Breach, now: Timestamp, why: String) {
        if !self.warnings.take(now) {
            self.ctx.shared.status().warnings_dropped = self.warnings.dropped();
            return;
        }
        self.ctx.shared.status().warnings += 1;
        self.ctx.emit(
            breach_event(
                EventKind::Warning,
                b,
                format!("{}{why}", b.sentence()),
                None,
            ),
            true,
        );
    }

    /// Stops capturing and says why.
    pub(crate) fn fail(&self, why: String) {
        crate::contention::fail(&self.ctx, why);
    }

    fn capture(&mut self, breaches: &[Breach], sample: &Sample, now: Timestamp, started: Instant) {
        let ctx = Arc::clone(&self.ctx);
        let kind = breaches[0].metric.as_str();
        let mut draft = match ctx.captures.begin(kind, now) {
            Ok(d) => d,
            Err(e) => {
                return self.fail(format!(
                    "cannot create a capture in {}: {e}",
                    ctx.captures.root.display()
                ));
            }
        };
        draft.manifest.triggers = breaches
            .iter()
            .map(|b| Trigger {
                breach: *b,
                message: b.sentence(),
            })
            .collect();
        draft.manifest.sample = Some(*sample);
        draft.manifest.limits = Some(self.limits);
        ctx.stacks(&mut draft, "stacks.txt");
        procfs::snapshot(&ctx.cfg.proc_root, &mut draft);
        let stacks_at = Instant::now();
        let stacks_ms = stacks_at.saturating_duration_since(started).as_secs_f64() * 1000.0;
        draft.manifest.stacks_ms = Some(stacks_ms);
        ctx.heap_profile(&mut draft);
        if ctx.cfg.delta {
            match &self.latest_baseline {
                Some(b) if b.exists() => ctx.captures.copy_baseline(b, &mut draft),
                _ => draft.note("baseline/: no baseline taken yet"),
            }
        }
        let profile = self.start_profile(&mut draft, now, breaches, sample);
        match ctx.captures.commit(draft, ctx.cfg.keep) {
            Ok(path) => {
                if let Some(running) = profile {
                    self.finish_profile_later(path.clone(), running);
                }
                {
                    let mut s = ctx.shared.status();
                    s.captures += 1;
                    s.last_capture = Some(path.clone());
                    s.last_stacks_ms = Some(stacks_ms);
                    s.stacks_written_at = Some(stacks_at);
                }
                let mut sentence = breaches
                    .iter()
                    .map(Breach::sentence)
                    .collect::<Vec<_>>()
                    .join("; ");
                sentence.push_str(&format!("; captured to {}", path.display()));
                ctx.emit(
                    breach_event(EventKind::Capture, &breaches[0], sentence, Some(path)),
                    true,
                );
            }
            Err(e) => self.fail(e),
        }
    }

    fn start_profile(
        &self,
        draft: &mut Draft,
        now: Timestamp,
        breaches: &[Breach],
        sample: &Sample,
    ) -> Option<cpu::Running> {
        let Some(p) = self.ctx.cfg.cpu_profile else {
            draft.note("cpu.pprof: CPU profiles are off");
            return None;
        };
        if breaches
            .iter()
            .any(|b| matches!(b.metric, Metric::Rss | Metric::Heap))
        {
            draft.note(format!(
                "cpu.pprof: skipped: the breach is about memory, and {}",
                cpu::MEMORY_COST
            ));
            return None;
        }
        if let Some(why) = self.ctx.low_headroom(sample.rss_bytes, &self.limits) {
            draft.note(format!("cpu.pprof: skipped: {why}"));
            return None;
        }
        match cpu::start(p.frequency, p.window) {
            Ok(running) => {
                draft.pending(
                    "cpu.pprof",
                    format!(
                        "CPU profile, {} Hz, from this tick until {}",
                        p.frequency,
                        plus(now, p.window)
                    ),
                );
                Some(running)
            }
            Err(e) => {
                draft.note(format!("cpu.pprof: {e}"));
                None
            }
        }
    }

    /// Waits out the profile's window on a thread, then writes it into `capture`.
    fn finish_profile_later(&mut self, capture: PathBuf, running: cpu::Running) {
        let ctx = Arc::clone(&self.ctx);
        let spawned = std::thread::Builder::new()
            .name("rewind-watchdog-profile".into())
            .spawn(move || {
                ctx.shared.stop.wait(running.window);
                let result = cpu::finish(running);
                let message =
                    match complete_pending(&capture, "cpu.pprof", result, "CPU profile (pprof)") {
                        Ok(()) => format!("the CPU profile of {} is written", capture.display()),
                        Err(e) => format!("the CPU profile of {} was lost: {e}", capture.display()),
                    };
                let mut e = Event::new(EventKind::CaptureUpdated, message);
                e.capture = Some(capture);
                ctx.emit(e, false);
            });
        match spawned {
            Ok(h) => self.workers.push(h),
            Err(e) => {
                self.ctx.emit(
                    Event::new(
                        EventKind::Error,
                        format!("the CPU profile thread did not start: {e}"),
                    ),
                    false,
                );
            }
        }
    }

    fn baseline_if_due(&mut self, now: Timestamp) {
        let Some(b) = self.ctx.cfg.baseline else {
            return;
        };
        if self.baseline_next.is_some_and(|next| now < next)
            || self.ctx.shared.status().capture_error.is_some()
        {
            return;
        }
        self.baseline_next = Some(plus(now, b.every));
        match crate::baseline::take(&self.ctx, now, b.keep) {
            Ok(path) => {
                self.ctx.shared.status().baselines += 1;
                let mut e = Event::new(
                    EventKind::Baseline,
                    format!("baseline captured to {}", path.display()),
                );
                e.capture = Some(path.clone());
                self.ctx.emit(e, false);
                self.latest_baseline = Some(path);
            }
            Err(e) => self.fail(e),
        }
    }

    fn contention_if_asked(&mut self, now: Timestamp) {
        let cfg = &self.ctx.cfg.contention;
        let mut request = crate::contention::take_trigger_file(&self.ctx.cfg.dir)
            .map(|window| (window, "the control file".to_owned()));
        if let Some(window) = self
            .ctx
            .shared
            .contention_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            request = Some((window, "a call to Watchdog::start_contention".to_owned()));
        }
        while self
            .sched_breaches
            .front()
            .is_some_and(|t| since(now, *t) > cfg.auto_within)
        {
            self.sched_breaches.pop_front();
        }
        if request.is_none()
            && let Some(n) = cfg.auto_after
            && self.sched_breaches.len() >= n as usize
            && !self.cooldowns.is_cooling("contention", now)
        {
            self.cooldowns.ask("contention", now);
            request = Some((
                None,
                format!(
                    "{} scheduling-latency breaches within {:?}",
                    self.sched_breaches.len(),
                    cfg.auto_within
                ),
            ));
            self.sched_breaches.clear();
        }
        let Some((window, why)) = request else { return };
        if self.ctx.shared.status().capture_error.is_some() {
            return;
        }
        match crate::contention::start(Arc::clone(&self.ctx), window.unwrap_or(cfg.window), why) {
            Ok(Some(h)) => self.workers.push(h),
            Ok(None) => {}
            Err(e) => self.fail(e),
        }
    }

    /// Waits for the threads this engine started (they see the stop).
    pub(crate) fn join_workers(&mut self) {
        for w in self.workers.drain(..) {
            w.join().ok();
        }
    }
}

fn breach_event(kind: EventKind, b: &Breach, message: String, capture: Option<PathBuf>) -> Event {
    let mut e = Event::new(kind, message);
    e.metric = Some(b.metric);
    e.value = Some(b.value);
    e.threshold = Some(b.threshold);
    e.capture = capture;
    e
}

#[cfg(test)]
mod tests;
