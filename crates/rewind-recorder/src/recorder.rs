//! [`Recorder`]: the handle a control loop records through.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
        mpsc::{SyncSender, TrySendError, sync_channel},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use serde::Serialize;

use crate::{
    Builtin, Channel, ChannelId, ChannelSpec, ChannelStats, Error, EventKind, RecorderConfig,
    Result,
    channels::{ChannelState, warning_due},
    rotate::SessionFile,
    session::{SessionInfo, SessionStamp, check_session_id, generate_session_id},
    writer::{Msg, Shared, Writer},
};

/// At most one queue-full warning per channel this often.
pub const WARN_EVERY: Duration = Duration::from_secs(5);

/// What became of one `record()` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// In the queue; the writer thread will write it (or hold it, for a
    /// heavy channel).
    Queued,
    /// The queue was full: dropped and counted on the channel.
    Dropped,
    /// The writer thread has stopped: dropped and counted.
    Stopped,
}

impl Recorded {
    /// Whether the record went into the queue.
    pub fn is_queued(self) -> bool {
        self == Self::Queued
    }
}

/// Counters of a whole recorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecorderStats {
    /// The session.
    pub session_id: String,
    /// Per channel, in id order.
    pub channels: Vec<ChannelStats>,
    /// `mark()` calls dropped because the queue was full.
    pub events_dropped: u64,
    /// Every file of the session so far, in order.
    pub files: Vec<PathBuf>,
    /// Write failures of the writer thread.
    pub write_errors: u64,
    /// The first of them, as text.
    pub first_error: Option<String>,
}

impl RecorderStats {
    /// Records dropped on all channels.
    pub fn dropped(&self) -> u64 {
        self.channels.iter().map(|c| c.dropped).sum()
    }

    /// Messages written on all channels.
    pub fn written(&self) -> u64 {
        self.channels.iter().map(|c| c.written).sum()
    }
}

/// Records a session: a bounded queue in front of a writer thread.
///
/// [`Recorder::record`] never blocks and allocates nothing (the payload is
/// the caller's). Registration, [`Recorder::flush`] and
/// [`Recorder::close`] may block. Dropping the recorder closes it.
pub struct Recorder {
    tx: SyncSender<Msg>,
    thread: Option<JoinHandle<()>>,
    registry: Mutex<Vec<(ChannelSpec, Channel)>>,
    shared: Arc<Shared>,
    epoch: Instant,
    session_id: String,
    output_dir: PathBuf,
    depth: usize,
    events_dropped: AtomicU64,
    events_warned: AtomicU64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("session_id", &self.session_id)
            .field("output_dir", &self.output_dir)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Validates the config, creates `output_dir` and the session's first
    /// file (so a directory that cannot be written fails here), and starts
    /// the writer thread.
    ///
    /// # Errors
    /// [`Error::Config`], [`Error::InvalidSessionId`], [`Error::Io`] or
    /// [`Error::Mcap`] creating the first file, [`Error::Spawn`].
    pub fn start(config: RecorderConfig, info: SessionInfo) -> Result<Self> {
        config.validate()?;
        let start = Timestamp::now();
        let session_id = match &info.session_id {
            Some(id) => {
                check_session_id(id)?;
                id.clone()
            }
            None => generate_session_id(start),
        };
        std::fs::create_dir_all(&config.output_dir)
            .map_err(|e| Error::io("create", &config.output_dir, e))?;
        let stamp = SessionStamp {
            session_id: session_id.clone(),
            start,
            info,
            config_json: serde_json::to_string(&config)?,
        };
        let first = SessionFile::create(&config.output_dir, &stamp, 0, None, [])?;
        let shared = Arc::new(Shared::default());
        let writer = Writer::new(&config, stamp, first, Arc::clone(&shared));
        let (tx, rx) = sync_channel(config.max_queue_depth);
        let thread = std::thread::Builder::new()
            .name("rewind-recorder".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(Error::Spawn)?;
        Ok(Self {
            tx,
            thread: Some(thread),
            registry: Mutex::new(Vec::new()),
            shared,
            epoch: Instant::now(),
            session_id,
            output_dir: config.output_dir,
            depth: config.max_queue_depth,
            events_dropped: AtomicU64::new(0),
            events_warned: AtomicU64::new(u64::MAX),
        })
    }

    /// The session id (the stem of its file names).
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Registers a channel once and returns its handle. Registering the same
    /// spec again returns the same handle. May block while the queue is full.
    ///
    /// # Errors
    /// [`Error::ConflictingChannel`] for a topic registered with another
    /// spec, [`Error::TooManyChannels`], [`Error::WriterStopped`].
    pub fn channel(&self, spec: ChannelSpec) -> Result<Channel> {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((known, channel)) = registry.iter().find(|(s, _)| s.topic == spec.topic) {
            return if *known == spec {
                Ok(channel.clone())
            } else {
                Err(Error::ConflictingChannel { topic: spec.topic })
            };
        }
        let id = u16::try_from(registry.len() + 1).map_err(|_| Error::TooManyChannels {
            max: usize::from(u16::MAX),
        })?;
        let state = Arc::new(ChannelState::new(spec.topic.clone()));
        self.tx
            .send(Msg::Register {
                id,
                spec: Box::new(spec.clone()),
                state: Arc::clone(&state),
            })
            .map_err(|_| Error::WriterStopped)?;
        let channel = Channel {
            id: ChannelId(id),
            state,
        };
        registry.push((spec, channel.clone()));
        Ok(channel)
    }

    /// Registers one of the seed's channels.
    ///
    /// # Errors
    /// As [`Recorder::channel`], and [`Error::InvalidBuiltin`].
    pub fn builtin(&self, builtin: Builtin<'_>) -> Result<Channel> {
        self.channel(ChannelSpec::builtin(builtin)?)
    }

    /// Queues one message, never blocking: when the queue is full the
    /// message is dropped, counted on its channel, and a warning naming the
    /// channel and its count is logged at most every [`WARN_EVERY`].
    ///
    /// `log_time` becomes the MCAP log and publish time (times before 1970
    /// are written as 0). The payload should be JSON matching the channel's
    /// schema; it is not checked.
    pub fn record(&self, channel: &Channel, log_time: Timestamp, payload: Vec<u8>) -> Recorded {
        let msg = Msg::Record {
            channel: channel.id.0,
            log_time: mcap_time(log_time),
            payload,
        };
        match self.tx.try_send(msg) {
            Ok(()) => {
                channel.state.queued.fetch_add(1, Ordering::Relaxed);
                Recorded::Queued
            }
            Err(TrySendError::Full(_)) => {
                self.dropped(channel);
                Recorded::Dropped
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped(channel);
                Recorded::Stopped
            }
        }
    }

    /// Encodes `value` as JSON and records it.
    ///
    /// # Errors
    /// [`Error::Json`] when `value` cannot be encoded.
    pub fn record_json<T: Serialize + ?Sized>(
        &self,
        channel: &Channel,
        log_time: Timestamp,
        value: &T,
    ) -> Result<Recorded> {
        let mut payload = Vec::with_capacity(256);
        serde_json::to_writer(&mut payload, value)?;
        Ok(self.record(channel, log_time, payload))
    }

    /// Marks a violation or clamp at `log_time`, for loops that do not
    /// record `/dam/cycle` (whose `has_violation`/`has_clamp` mark by
    /// themselves). Never blocks; counted in `events_dropped` when the
    /// queue is full.
    pub fn mark(&self, log_time: Timestamp, kind: EventKind) -> Recorded {
        let msg = Msg::Event {
            log_time: mcap_time(log_time),
            kind,
        };
        match self.tx.try_send(msg) {
            Ok(()) => Recorded::Queued,
            Err(e) => {
                let n = self.events_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if warning_due(&self.events_warned, self.now_ns(), nanos(WARN_EVERY)) {
                    tracing::warn!(
                        dropped = n,
                        queue_depth = self.depth,
                        "recorder queue full: dropping event marks"
                    );
                }
                match e {
                    TrySendError::Full(_) => Recorded::Dropped,
                    TrySendError::Disconnected(_) => Recorded::Stopped,
                }
            }
        }
    }

    /// Waits until everything queued so far is in the file and handed to the
    /// kernel (the open chunk is closed). From then on a killed process
    /// loses none of it.
    ///
    /// # Errors
    /// [`Error::WriterStopped`], or the writer's error flushing the file.
    pub fn flush(&self) -> Result<()> {
        let (ack, done) = sync_channel(1);
        self.tx
            .send(Msg::Flush(ack))
            .map_err(|_| Error::WriterStopped)?;
        done.recv().map_err(|_| Error::WriterStopped)?
    }

    /// The counters so far.
    pub fn stats(&self) -> RecorderStats {
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        RecorderStats {
            session_id: self.session_id.clone(),
            channels: registry.iter().map(|(_, c)| c.stats()).collect(),
            events_dropped: self.events_dropped.load(Ordering::Relaxed),
            files: self
                .shared
                .files
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            write_errors: self.shared.errors.load(Ordering::Relaxed),
            first_error: self
                .shared
                .first_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// Messages the writer thread has taken off the queue so far (records,
    /// marks and registrations).
    pub fn received(&self) -> u64 {
        self.shared.received.load(Ordering::Relaxed)
    }

    /// The writer thread's id, once it has started (Linux).
    pub fn writer_thread_id(&self) -> Option<u32> {
        match self.shared.tid.load(Ordering::Relaxed) {
            0 => None,
            tid => Some(tid),
        }
    }

    /// CPU time the writer thread has used so far, from `/proc` (Linux).
    pub fn writer_cpu_time(&self) -> Option<Duration> {
        crate::cpu::thread_cpu_time(self.writer_thread_id()?)
    }

    /// Writes what is queued, finishes the current file (summary, fsync) and
    /// stops the writer thread. Heavy messages still in the ring are
    /// discarded.
    ///
    /// # Errors
    /// [`Error::WriterStopped`] when the writer thread panicked. Write
    /// failures do not fail `close`: they are in the returned stats.
    pub fn close(mut self) -> Result<RecorderStats> {
        self.stop()?;
        Ok(self.stats())
    }

    fn stop(&mut self) -> Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.tx.send(Msg::Close).ok();
        thread.join().map_err(|_| Error::WriterStopped)
    }

    fn dropped(&self, channel: &Channel) {
        let n = channel.state.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if warning_due(
            &channel.state.last_warning,
            self.now_ns(),
            nanos(WARN_EVERY),
        ) {
            tracing::warn!(
                channel = %channel.state.topic,
                dropped = n,
                queue_depth = self.depth,
                "recorder queue full: dropping records"
            );
        }
    }

    fn now_ns(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    #[cfg(test)]
    pub(crate) fn pause(&self) -> SyncSender<()> {
        let (resume, paused) = sync_channel(0);
        self.tx.send(Msg::Pause(paused)).ok();
        resume
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop().ok();
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// MCAP time of an instant: Unix nanoseconds, 0 before 1970.
pub(crate) fn mcap_time(t: Timestamp) -> u64 {
    u64::try_from(t.as_unix_nanos()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionInfo;

    fn recorder(dir: &std::path::Path, depth: usize) -> Recorder {
        let mut config = RecorderConfig::new(dir);
        config.max_queue_depth = depth;
        Recorder::start(
            config,
            SessionInfo {
                session_id: Some("drops".to_owned()),
                ..SessionInfo::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn a_full_queue_drops_and_counts_per_channel() {
        let dir = tempfile::tempdir().unwrap();
        let rec = recorder(dir.path(), 8);
        let a = rec.builtin(Builtin::Obs).unwrap();
        let b = rec.builtin(Builtin::Action).unwrap();
        rec.flush().unwrap();
        let resume = rec.pause();
        // The writer takes Pause off the queue and blocks: wait for that, so
        // all 8 slots are free.
        while rec.received() < 3 {
            std::thread::yield_now();
        }
        let t = Timestamp::from_unix_millis(1_700_000_000_000);
        for _ in 0..8 {
            assert_eq!(rec.record(&a, t, b"{}".to_vec()), Recorded::Queued);
        }
        for _ in 0..5 {
            assert_eq!(rec.record(&a, t, b"{}".to_vec()), Recorded::Dropped);
        }
        for _ in 0..3 {
            assert_eq!(rec.record(&b, t, b"{}".to_vec()), Recorded::Dropped);
        }
        assert_eq!(rec.mark(t, EventKind::Violation), Recorded::Dropped);
        drop(resume);
        let stats = rec.close().unwrap();
        let by_topic = |t: &str| stats.channels.iter().find(|c| c.topic == t).unwrap();
        assert_eq!(by_topic("/dam/obs").queued, 8);
        assert_eq!(by_topic("/dam/obs").dropped, 5);
        assert_eq!(by_topic("/dam/obs").written, 8);
        assert_eq!(by_topic("/dam/action").dropped, 3);
        assert_eq!(by_topic("/dam/action").written, 0);
        assert_eq!(stats.events_dropped, 1);
        assert_eq!(stats.dropped(), 8);
    }

    #[test]
    fn recorders_and_channels_are_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Recorder>();
        shared::<Channel>();
    }

    #[test]
    fn a_topic_is_registered_once() {
        let dir = tempfile::tempdir().unwrap();
        let rec = recorder(dir.path(), 4);
        let a = rec.builtin(Builtin::Guard(2)).unwrap();
        let again = rec.builtin(Builtin::Guard(2)).unwrap();
        assert_eq!(a.id(), again.id());
        let user = ChannelSpec::user("/dam/L2", "x", "{}").unwrap();
        assert!(matches!(
            rec.channel(user),
            Err(Error::ConflictingChannel { .. })
        ));
        let other = rec.builtin(Builtin::Guard(3)).unwrap();
        assert_eq!(other.id().get(), a.id().get() + 1);
    }

    #[test]
    fn records_after_close_are_counted_as_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = recorder(dir.path(), 4);
        let a = rec.builtin(Builtin::Obs).unwrap();
        rec.stop().unwrap();
        let t = Timestamp::from_unix_millis(0);
        assert_eq!(rec.record(&a, t, Vec::new()), Recorded::Stopped);
        assert_eq!(a.stats().dropped, 1);
        assert!(matches!(rec.flush(), Err(Error::WriterStopped)));
    }
}
