//! [`Watchdog`], its [`WatchdogBuilder`], and the tick thread.

use std::{
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, atomic::AtomicBool},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::{
    Clock, Error, Result, SystemClock,
    capture::{Captures, Identity, heap, stacks},
    config::{
        BaselineConfig, Config, ContentionConfig, CpuProfileConfig, Metric, MetricConfig, Rule,
    },
    engine::{Ctx, Engine, Shared},
    event::{Event, EventKind, EventRing},
    history::{HistoryWriter, Row},
    notify::{Notifier, NotifyQueue},
    panic::{self as hook, CrashSink, TICK_THREAD},
    probe::LatencyWindow,
    rotate,
    status::WatchdogStatus,
    stop::Stop,
    thresholds::{Sampler, read},
};

/// Builds a [`Watchdog`]; every method sets one thing, [`install`](Self::install) starts it.
#[derive(Debug)]
#[must_use]
pub struct WatchdogBuilder {
    cfg: Config,
    clock: Option<Arc<dyn Clock>>,
    notifier: Option<Box<dyn Notifier>>,
    latency: Option<Arc<LatencyWindow>>,
    #[cfg(feature = "tokio")]
    runtime: Option<tokio::runtime::Handle>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.cfg.$name = value;
            self
        }
    };
}

impl WatchdogBuilder {
    fn new(dir: PathBuf) -> Self {
        Self {
            cfg: Config::new(dir),
            clock: None,
            notifier: None,
            latency: None,
            #[cfg(feature = "tokio")]
            runtime: None,
        }
    }

    setter!(/// Time between two checks (default 500 ms).
        interval: Duration);
    setter!(/// Time after a capture during which its kind does not capture again (default 2 min).
        cooldown: Duration);
    setter!(/// Captures kept per kind (default 5).
        keep: usize);
    setter!(/// The CPU profile at a breach (`None`: none; default 5 s at 99 Hz).
        cpu_profile: Option<CpuProfileConfig>);
    setter!(/// The stack tool by name or path (`None`: /proc thread tables only; default `eu-stack`).
        stack_tool: Option<PathBuf>);
    setter!(/// Longest run of the stack tool (default 1 s).
        stack_timeout: Duration);
    setter!(/// Scheduled baselines (`None`: none; default heap every 10 min, 6 kept).
        baseline: Option<BaselineConfig>);
    setter!(/// Copy the latest baseline into each breach capture (default off).
        delta: bool);
    setter!(/// The contention diagnostic's settings.
        contention: ContentionConfig);
    setter!(/// Events kept in memory (default 256).
        ring_capacity: usize);
    setter!(/// Crash artefacts kept (default 5).
        keep_crashes: usize);
    setter!(/// Runs kept in `history.jsonl` (default 100).
        keep_runs: usize);
    setter!(/// Register the panic hook (default on).
        panic_hook: bool);
    setter!(/// Write `history.jsonl` (default on).
        history: bool);
    setter!(/// Run the tick on the watchdog's own thread (default on). When off, call
        /// [`Watchdog::tick_now`] yourself.
        own_thread: bool);
    setter!(/// Where `/proc` is (default `/proc`; tests use fixture trees).
        proc_root: PathBuf);
    setter!(/// Where the cgroup file systems are (default `/sys/fs/cgroup`).
        cgroup_root: PathBuf);

    /// The program's version, in history rows and manifests (default `unknown`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.cfg.version = version.into();
        self
    }

    /// Replaces the rules and action of `metric`.
    pub fn metric(mut self, metric: Metric, config: MetricConfig) -> Self {
        *self.cfg.metric_mut(metric) = config;
        self
    }

    /// Adds a rule to `metric` (and enables it).
    pub fn rule(mut self, metric: Metric, rule: Rule) -> Self {
        let m = self.cfg.metric_mut(metric);
        m.enabled = true;
        m.rules.push(rule);
        self
    }

    /// Stops checking `metric`.
    pub fn disable(self, metric: Metric) -> Self {
        self.metric(metric, MetricConfig::disabled())
    }

    /// Makes `metric` warn instead of capture.
    pub fn warn_only(mut self, metric: Metric) -> Self {
        self.cfg.metric_mut(metric).action = crate::Action::Warn;
        self
    }

    /// At most `max` warning events per `window` (default 10 per 10 min).
    pub fn warning_budget(mut self, max: u32, window: Duration) -> Self {
        self.cfg.warning_budget = max;
        self.cfg.warning_window = window;
        self
    }

    /// The probe's sleep period and p99 window (default 20 ms and 5 s).
    pub fn probe(mut self, period: Duration, window: Duration) -> Self {
        self.cfg.probe_period = period;
        self.cfg.probe_window = window;
        self
    }

    /// Where time comes from (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Where notifications go (default: nowhere; events stay in the ring).
    pub fn notifier(mut self, notifier: impl Notifier) -> Self {
        self.notifier = Some(Box::new(notifier));
        self
    }

    /// Reads scheduling latency from `window` (a probe of the program's own).
    pub fn latency_window(mut self, window: Arc<LatencyWindow>) -> Self {
        self.latency = Some(window);
        self
    }

    /// Runs the scheduling-latency probe on this tokio runtime.
    #[cfg(feature = "tokio")]
    pub fn tokio(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Validates the settings, writes the history's `start` row, registers
    /// the panic hook and starts the tick.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad setting, [`Error::Io`] when the directory
    /// cannot be created, [`Error::Spawn`] when a thread cannot start.
    pub fn install(self) -> Result<Watchdog> {
        let cfg = self.cfg;
        cfg.validate()?;
        let captures_dir = cfg.dir.join("captures");
        std::fs::create_dir_all(&captures_dir)
            .map_err(|e| Error::io("create", &captures_dir, e))?;
        if let Ok(kinds) = std::fs::read_dir(&captures_dir) {
            for kind in kinds.flatten() {
                rotate::remove_dead_temps(&kind.path(), &cfg.proc_root);
            }
        }
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        let who = Identity {
            pid: std::process::id(),
            host: read::hostname(&cfg.proc_root),
            version: cfg.version.clone(),
        };
        let now = clock.now();
        let history = if cfg.history {
            let run = format!("{}-{}", who.pid, now.as_unix_millis());
            let w = HistoryWriter::open(&cfg.dir, run.clone(), cfg.keep_runs)
                .map_err(|e| Error::io("open", cfg.dir.join(crate::HISTORY_FILE), e))?;
            w.append(&Row::Start {
                run,
                at: now,
                pid: who.pid,
                host: who.host.clone(),
                version: who.version.clone(),
                start_ticks: read::start_ticks(&cfg.proc_root, "self"),
            })
            .map_err(|e| Error::io("append to", cfg.dir.join(crate::HISTORY_FILE), e))?;
            Some(w)
        } else {
            None
        };
        #[cfg(feature = "tokio")]
        let probe = self
            .runtime
            .as_ref()
            .map(|h| crate::LatencyProbe::spawn(h, cfg.probe_period, cfg.probe_window));
        #[cfg(feature = "tokio")]
        let latency = self
            .latency
            .or_else(|| probe.as_ref().map(crate::LatencyProbe::window));
        #[cfg(not(feature = "tokio"))]
        let latency = self.latency;

        let ring = Arc::new(Mutex::new(EventRing::new(cfg.ring_capacity)));
        let notify = match self.notifier {
            Some(n) => Some(NotifyQueue::start(
                n,
                Arc::clone(&ring),
                Arc::clone(&clock),
            )?),
            None => None,
        };
        let tool = cfg.stack_tool.as_deref().and_then(stacks::Tool::find);
        let status = WatchdogStatus {
            running: true,
            stack_source: tool
                .as_ref()
                .map_or_else(|| "proc".to_owned(), stacks::Tool::name),
            notes: notes(&cfg, latency.is_some(), tool.is_some()),
            ..WatchdogStatus::default()
        };
        let shared = Arc::new(Shared {
            ring: Arc::clone(&ring),
            status: Mutex::new(status),
            stop: Arc::new(Stop::default()),
            contention_request: Mutex::new(None),
            contention_running: AtomicBool::new(false),
        });
        let captures = Arc::new(Captures::new(&cfg.dir, who));
        let sampler = Sampler::new(&cfg, latency);
        let ctx = Arc::new(Ctx {
            yama: stacks::yama_scope(&cfg.proc_root),
            scratch: heap::Scratch::new(&cfg.dir.join(".heap-dump.tmp")),
            captures: Arc::clone(&captures),
            clock: Arc::clone(&clock),
            shared: Arc::clone(&shared),
            notify,
            tool,
            cfg,
        });
        let crash = ctx.cfg.panic_hook.then(|| {
            let sink = Arc::new(CrashSink {
                captures,
                keep: ctx.cfg.keep_crashes,
                history: history.clone(),
                ring,
                clock,
            });
            hook::register(Arc::clone(&sink));
            sink
        });
        let engine = Arc::new(Mutex::new(Engine::new(Arc::clone(&ctx), sampler)));
        let mut dog = Watchdog {
            ctx: Arc::clone(&ctx),
            engine: Arc::clone(&engine),
            thread: None,
            #[cfg(feature = "tokio")]
            probe,
            crash,
            history,
            finished: false,
        };
        if ctx.cfg.own_thread {
            let thread = std::thread::Builder::new()
                .name(TICK_THREAD.into())
                .spawn(move || tick_loop(&ctx, &engine))
                .map_err(Error::Spawn)?;
            dog.thread = Some(thread);
        }
        Ok(dog)
    }
}

/// What is inactive and why.
fn notes(cfg: &Config, probe: bool, tool: bool) -> Vec<String> {
    let mut out = Vec::new();
    let limits = crate::Limits::read(cfg);
    if limits.memory_bytes.is_none() {
        out.push(
            "no cgroup memory limit found: the rss and heap `fraction_of_limit` rules are inactive, only absolute ones apply"
                .to_owned(),
        );
    }
    if limits.nofile.is_none() {
        out.push("RLIMIT_NOFILE is unlimited or unreadable: the fds `fraction_of_limit` rule is inactive".to_owned());
    }
    if !probe && cfg.metric(Metric::SchedLatency).enabled {
        out.push(
            "no tokio runtime given (`tokio(handle)`): scheduling latency is not checked"
                .to_owned(),
        );
    }
    if !cfg!(feature = "jemalloc") && cfg.metric(Metric::Heap).enabled {
        out.push("built without the `jemalloc` feature: heap in use is not checked".to_owned());
    }
    if !tool {
        out.push("no stack tool (eu-stack, with sh and timeout): captures hold the /proc thread table only".to_owned());
    }
    out
}

fn tick_loop(ctx: &Ctx, engine: &Mutex<Engine>) {
    ctx.shared.status().tick_thread = crate::bench::current_thread_id();
    let interval = ctx.cfg.interval;
    let mut next = Instant::now() + interval;
    while !ctx.shared.stop.wait_until(next) {
        let ticked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            engine.lock().unwrap_or_else(PoisonError::into_inner).tick();
        }));
        if ticked.is_err() {
            let why = "the watchdog's tick panicked; the watchdog has stopped (the program is unaffected)";
            {
                let mut s = ctx.shared.status();
                s.tick_error = Some(why.to_owned());
                s.running = false;
            }
            ctx.emit(Event::new(EventKind::Error, why), true);
            return;
        }
        next += interval;
        let now = Instant::now();
        if next <= now {
            next = now + interval; // a slow tick: skip, never catch up in a burst
        }
    }
}

/// The installed watchdog. Dropping it (or [`shutdown`](Self::shutdown))
/// stops it and records a clean stop in the history.
#[derive(Debug)]
pub struct Watchdog {
    ctx: Arc<Ctx>,
    engine: Arc<Mutex<Engine>>,
    thread: Option<JoinHandle<()>>,
    #[cfg(feature = "tokio")]
    probe: Option<crate::LatencyProbe>,
    crash: Option<Arc<CrashSink>>,
    history: Option<HistoryWriter>,
    finished: bool,
}

impl Watchdog {
    /// A builder writing into `dir`, with every default.
    pub fn builder(dir: impl Into<PathBuf>) -> WatchdogBuilder {
        WatchdogBuilder::new(dir.into())
    }

    /// A builder starting from `config` (for programs that read the
    /// settings from their own configuration file).
    pub fn from_config(config: Config) -> WatchdogBuilder {
        WatchdogBuilder {
            cfg: config,
            ..WatchdogBuilder::new(PathBuf::new())
        }
    }

    /// The watchdog's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.ctx.cfg.dir
    }

    /// The settings in force.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.ctx.cfg
    }

    /// A copy of the status and counters.
    #[must_use]
    pub fn status(&self) -> WatchdogStatus {
        self.ctx.shared.status().clone()
    }

    /// The events in the ring, oldest first.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        self.ctx
            .shared
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot()
    }

    /// Runs one check now, on the calling thread (it waits for a tick in
    /// progress). For programs that pace the watchdog themselves
    /// (`own_thread(false)`) and for tests.
    pub fn tick_now(&self) {
        self.engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tick();
    }

    /// Asks for a contention diagnostic of `window` (or the configured
    /// one); it starts on the next tick and runs on its own thread.
    pub fn start_contention(&self, window: Option<Duration>) {
        *self
            .ctx
            .shared
            .contention_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(window);
    }

    /// Stops the tick, cuts running profiles short (they are still
    /// written), waits for the watchdog's threads, and writes the clean
    /// `stop` row. Returns the final status.
    pub fn shutdown(mut self) -> WatchdogStatus {
        self.finish(Some("shutdown"));
        self.status()
    }

    fn finish(&mut self, reason: Option<&str>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.ctx.shared.stop.stop();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
        self.engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .join_workers();
        #[cfg(feature = "tokio")]
        drop(self.probe.take());
        if let Some(sink) = self.crash.take() {
            hook::unregister(&sink);
        }
        if let (Some(h), Some(reason)) = (&self.history, reason) {
            h.append(&Row::Stop {
                run: h.run.clone(),
                at: self.ctx.clock.now(),
                reason: reason.to_owned(),
            })
            .ok();
        }
        self.ctx.shared.status().running = false;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Dropped while unwinding from a panic: the panic row stands, no clean stop.
        let reason = (!std::thread::panicking()).then_some("drop");
        self.finish(reason);
    }
}
