//! The writer thread: drains the queue into the session files.
//!
//! It polls the queue every [`POLL`] while records flow, so `record()` never
//! has to wake it (no syscall on the control loop's thread), and blocks on
//! the queue after [`IDLE_AFTER`] without records. It flushes the open chunk
//! every `flush_sec`, rotates files, runs the image ring and counts cycles.
//!
//! A file that cannot be written is abandoned (logged once as an error, its
//! complete chunks stay readable through `recover`); messages are counted as
//! lost until a new file opens, tried every [`RETRY`].

use std::{
    ops::ControlFlow,
    path::PathBuf,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, AtomicU64, Ordering},
        mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError},
    },
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use serde::Deserialize;

use crate::{
    ChannelSpec, Error, Result,
    channels::{ChannelState, Role},
    config::RecorderConfig,
    rotate::{RotateLimits, SessionFile},
    session::{EndReason, SessionStamp, file_name},
    violation::{ContextWindow, EventKind, Held},
};

/// How often the queue is polled while records flow.
const POLL: Duration = Duration::from_micros(500);
/// How long without records before the thread blocks on the queue instead.
const IDLE_AFTER: Duration = Duration::from_millis(200);
/// Records handled in one go before the flush timer is looked at.
const BATCH: usize = 4096;
/// How long after a write failure a new file is tried.
const RETRY: Duration = Duration::from_secs(5);

/// What goes through the queue.
pub(crate) enum Msg {
    /// A message for a channel.
    Record {
        channel: u16,
        log_time: u64,
        payload: Vec<u8>,
    },
    /// A violation or clamp marked by the caller.
    Event { log_time: u64, kind: EventKind },
    /// A new channel.
    Register {
        id: u16,
        spec: Box<ChannelSpec>,
        state: Arc<ChannelState>,
    },
    /// Close the chunk, flush, and answer.
    Flush(SyncSender<Result<()>>),
    /// Finish the file and stop.
    Close,
    /// Block until the sender is dropped (tests fill the queue this way).
    #[cfg(test)]
    Pause(Receiver<()>),
}

/// What the writer shares with the recorder.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Messages taken off the queue.
    pub(crate) received: AtomicU64,
    /// Every file created, in order.
    pub(crate) files: Mutex<Vec<PathBuf>>,
    /// Write failures.
    pub(crate) errors: AtomicU64,
    /// The first write failure, as text.
    pub(crate) first_error: Mutex<Option<String>>,
    /// The writer's thread id (0 until known).
    pub(crate) tid: AtomicU32,
}

impl Shared {
    fn error(&self, e: &Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(e.to_string());
        }
    }
}

/// The fields of a `/dam/cycle` payload the writer reads.
#[derive(Deserialize)]
struct CycleFlags {
    #[serde(default)]
    cycle_id: Option<u64>,
    #[serde(default)]
    has_violation: Option<bool>,
    #[serde(default)]
    has_clamp: Option<bool>,
}

struct WriterChannel {
    spec: ChannelSpec,
    state: Arc<ChannelState>,
    sequence: u32,
}

pub(crate) struct Writer {
    dir: PathBuf,
    stamp: SessionStamp,
    limits: RotateLimits,
    flush_every: Duration,
    capture_on_clamp: bool,
    channels: Vec<Option<WriterChannel>>,
    file: Option<SessionFile>,
    next_index: u32,
    failed_at: Option<Instant>,
    window: ContextWindow,
    newest: u64,
    from_ring: Vec<Held>,
    last_flush: Instant,
    shared: Arc<Shared>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Writer {
    pub(crate) fn new(
        config: &RecorderConfig,
        stamp: SessionStamp,
        first: SessionFile,
        shared: Arc<Shared>,
    ) -> Self {
        shared
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(first.path.clone());
        Self {
            dir: config.output_dir.clone(),
            stamp,
            limits: RotateLimits {
                bytes: config.rotate_bytes(),
                span_ns: nanos(config.rotate_after()),
            },
            flush_every: config.flush_every(),
            capture_on_clamp: config.capture_images_on_clamp,
            channels: Vec::new(),
            next_index: first.index + 1,
            file: Some(first),
            failed_at: None,
            window: ContextWindow::new(
                nanos(config.pre_event()),
                nanos(config.post_event()),
                config.image_ring_bytes(),
            ),
            newest: 0,
            from_ring: Vec::new(),
            last_flush: Instant::now(),
            shared,
        }
    }

    /// The thread's body.
    pub(crate) fn run(mut self, rx: Receiver<Msg>) {
        if let Some(tid) = crate::cpu::current_thread_id() {
            self.shared.tid.store(tid, Ordering::Relaxed);
        }
        let mut active = Instant::now();
        loop {
            let mut handled = 0;
            while handled < BATCH {
                match rx.try_recv() {
                    Ok(msg) => {
                        handled += 1;
                        if self.handle(msg).is_break() {
                            return self.shutdown();
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return self.shutdown(),
                }
            }
            self.flush_if_due();
            if handled == BATCH {
                continue;
            }
            if handled > 0 {
                active = Instant::now();
            }
            if active.elapsed() < IDLE_AFTER {
                std::thread::sleep(POLL);
                continue;
            }
            let wait = self
                .flush_every
                .saturating_sub(self.last_flush.elapsed())
                .max(POLL);
            match rx.recv_timeout(wait) {
                Ok(msg) => {
                    active = Instant::now();
                    if self.handle(msg).is_break() {
                        return self.shutdown();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.shutdown(),
            }
        }
    }

    fn handle(&mut self, msg: Msg) -> ControlFlow<()> {
        if !matches!(msg, Msg::Close | Msg::Flush(_)) {
            self.shared.received.fetch_add(1, Ordering::Relaxed);
        }
        match msg {
            Msg::Record {
                channel,
                log_time,
                payload,
            } => self.on_record(channel, log_time, payload),
            Msg::Event { log_time, kind } => self.on_event(log_time, kind),
            Msg::Register { id, spec, state } => self.on_register(id, *spec, state),
            Msg::Flush(ack) => {
                let result = match self.file.as_mut() {
                    Some(file) => file.flush(),
                    None => Ok(()),
                };
                self.last_flush = Instant::now();
                ack.send(result).ok();
            }
            Msg::Close => return ControlFlow::Break(()),
            #[cfg(test)]
            Msg::Pause(until) => {
                until.recv().ok();
            }
        }
        ControlFlow::Continue(())
    }

    fn on_register(&mut self, id: u16, spec: ChannelSpec, state: Arc<ChannelState>) {
        let index = usize::from(id);
        if self.channels.len() <= index {
            self.channels.resize_with(index + 1, || None);
        }
        if let Some(file) = self.file.as_mut()
            && let Err(e) = file.add_channel(id, &spec)
        {
            self.fail(&e);
        }
        if let Some(slot) = self.channels.get_mut(index) {
            *slot = Some(WriterChannel {
                spec,
                state,
                sequence: 0,
            });
        }
    }

    fn on_record(&mut self, channel: u16, log_time: u64, payload: Vec<u8>) {
        let Some(role) = self.channel(channel).map(|c| c.spec.role) else {
            return; // ids come from the registry, which registers first
        };
        self.newest = self.newest.max(log_time);
        self.expire_ring();
        match role {
            Role::Plain => self.write(channel, log_time, &payload),
            Role::Cycle => {
                self.write(channel, log_time, &payload);
                self.on_cycle(log_time, &payload);
            }
            Role::Heavy => {
                let held = Held {
                    channel,
                    log_time,
                    payload,
                };
                let Self {
                    window, channels, ..
                } = self;
                if let Some(now) = window.offer(held, &mut |h| discard(channels, h)) {
                    self.write(now.channel, now.log_time, &now.payload);
                }
            }
        }
    }

    fn on_cycle(&mut self, log_time: u64, payload: &[u8]) {
        let Ok(flags) = serde_json::from_slice::<CycleFlags>(payload) else {
            return;
        };
        let violation = flags.has_violation.unwrap_or(false);
        let clamp = flags.has_clamp.unwrap_or(false);
        if let Some(file) = self.file.as_mut() {
            file.counts.add(flags.cycle_id, violation, clamp);
        }
        if violation {
            self.on_event(log_time, EventKind::Violation);
        } else if clamp {
            self.on_event(log_time, EventKind::Clamp);
        }
    }

    fn on_event(&mut self, log_time: u64, kind: EventKind) {
        if kind == EventKind::Clamp && !self.capture_on_clamp {
            return;
        }
        let mut out = std::mem::take(&mut self.from_ring);
        self.window.trigger(log_time, &mut out);
        for held in out.drain(..) {
            self.write(held.channel, held.log_time, &held.payload);
        }
        self.from_ring = out;
    }

    fn expire_ring(&mut self) {
        let Self {
            window,
            channels,
            newest,
            ..
        } = self;
        window.expire(*newest, &mut |h| discard(channels, h));
    }

    fn channel(&self, id: u16) -> Option<&WriterChannel> {
        self.channels.get(usize::from(id))?.as_ref()
    }

    fn write(&mut self, channel: u16, log_time: u64, payload: &[u8]) {
        let Some(ch) = self
            .channels
            .get_mut(usize::from(channel))
            .and_then(Option::as_mut)
        else {
            return;
        };
        ch.sequence = ch.sequence.wrapping_add(1);
        let (sequence, state) = (ch.sequence, Arc::clone(&ch.state));
        if let Some(reason) = self
            .file
            .as_ref()
            .and_then(|f| f.rotation_due(self.limits, log_time))
        {
            self.rotate(reason);
        }
        if self.file.is_none() {
            self.reopen();
        }
        let Some(file) = self.file.as_mut() else {
            state.lost.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match file.write(channel, sequence, log_time, payload) {
            Ok(()) => {
                state.written.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                state.lost.fetch_add(1, Ordering::Relaxed);
                self.fail(&e);
            }
        }
    }

    fn flush_if_due(&mut self) {
        if self.last_flush.elapsed() < self.flush_every {
            return;
        }
        self.last_flush = Instant::now();
        if let Some(file) = self.file.as_mut()
            && let Err(e) = file.flush()
        {
            self.fail(&e);
        }
    }

    /// Finishes the current file, naming the next, and opens the next.
    fn rotate(&mut self, reason: EndReason) {
        let Some(file) = self.file.take() else {
            return;
        };
        let next = file_name(&self.stamp.session_id, self.next_index);
        let name = file.name.clone();
        match file.finish(Some(&next), reason, Timestamp::now()) {
            Ok(done) => tracing::info!(
                file = %done.path.display(),
                bytes = done.bytes,
                messages = done.messages,
                reason = reason.as_str(),
                "recorder rotated its file"
            ),
            Err(e) => self.fail(&e),
        }
        self.open_next(Some(&name));
    }

    /// After a failure, tries a new file at most every [`RETRY`].
    fn reopen(&mut self) {
        if self.failed_at.is_some_and(|at| at.elapsed() < RETRY) {
            return;
        }
        self.open_next(None);
    }

    fn open_next(&mut self, previous: Option<&str>) {
        let index = self.next_index;
        self.next_index += 1;
        let channels = self
            .channels
            .iter()
            .enumerate()
            .filter_map(|(id, c)| Some((u16::try_from(id).ok()?, &c.as_ref()?.spec)));
        match SessionFile::create(&self.dir, &self.stamp, index, previous, channels) {
            Ok(file) => {
                self.shared
                    .files
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(file.path.clone());
                self.failed_at = None;
                self.file = Some(file);
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Abandons the current file after an error; data is lost: ERROR.
    fn fail(&mut self, e: &Error) {
        if self.failed_at.is_none() {
            tracing::error!(error = %e, "recorder cannot write its session file; records are lost until a new file opens");
        }
        self.shared.error(e);
        self.failed_at = Some(Instant::now());
        // Dropping the MCAP writer tries to finish the file; if the disk is
        // the problem that fails too, and `recover` reads what is there.
        self.file = None;
    }

    fn shutdown(mut self) {
        let Self {
            window, channels, ..
        } = &mut self;
        window.clear(&mut |h| discard(channels, h));
        if let Some(file) = self.file.take()
            && let Err(e) = file.finish(None, EndReason::Close, Timestamp::now())
        {
            self.fail(&e);
        }
    }
}

fn discard(channels: &[Option<WriterChannel>], held: &Held) {
    if let Some(Some(ch)) = channels.get(usize::from(held.channel)) {
        ch.state.discarded.fetch_add(1, Ordering::Relaxed);
    }
}
