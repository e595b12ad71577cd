//! The panic hook: every panic writes a crash artefact
//! (`captures/crash/<name>/`: `crash.txt` with the message, location,
//! thread and backtrace; `events.json` with the last events of the ring)
//! and a `panic` row in the history, before the previous hook runs and the
//! process goes on dying (or the panic is caught).
//!
//! The hook is registered once per process and chains the hook that was
//! there before. It writes for the watchdog installed last; after that
//! watchdog is shut down it only chains. Panics of the watchdog's own tick
//! thread are not crashes of the program and write nothing.
//!
//! The hook never panics: every failure is ignored, the ring is only
//! `try_lock`ed (the panic may have happened while it was held), and a
//! panic inside the hook's own work is not re-entered.

use std::{
    backtrace::Backtrace,
    cell::Cell,
    panic::PanicHookInfo,
    sync::{Arc, Mutex, Once, PoisonError},
};

use crate::{
    Clock,
    capture::Captures,
    event::{Event, EventKind, EventRing},
    history::{HistoryWriter, Row},
};

/// Events copied into a crash artefact.
const LAST_EVENTS: usize = 64;
/// Largest backtrace kept.
const BACKTRACE_CAP: usize = 1024 * 1024;
/// The name of the watchdog's tick thread, whose panics are not crashes.
pub(crate) const TICK_THREAD: &str = "rewind-watchdog";

/// What the hook needs to write a crash artefact.
#[derive(Debug)]
pub(crate) struct CrashSink {
    pub(crate) captures: Arc<Captures>,
    pub(crate) keep: usize,
    pub(crate) history: Option<HistoryWriter>,
    pub(crate) ring: Arc<Mutex<EventRing>>,
    pub(crate) clock: Arc<dyn Clock>,
}

static CURRENT: Mutex<Option<Arc<CrashSink>>> = Mutex::new(None);
static HOOK: Once = Once::new();

thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Makes `sink` the one the hook writes for, registering the hook on first use.
pub(crate) fn register(sink: Arc<CrashSink>) {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            on_panic(info);
            previous(info);
        }));
    });
    *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(sink);
}

/// Stops writing for `sink` (if it is still the current one).
pub(crate) fn unregister(sink: &Arc<CrashSink>) {
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, sink)) {
        *current = None;
    }
}

fn on_panic(info: &PanicHookInfo<'_>) {
    if IN_HOOK.with(Cell::get) || std::thread::current().name() == Some(TICK_THREAD) {
        return;
    }
    let Some(sink) = CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
    else {
        return;
    };
    IN_HOOK.with(|c| c.set(true));
    write_crash(&sink, info);
    IN_HOOK.with(|c| c.set(false));
}

fn message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic payload that is not a string)".to_owned())
}

fn write_crash(sink: &CrashSink, info: &PanicHookInfo<'_>) {
    let at = sink.clock.now();
    let message = message(info);
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
    let thread = std::thread::current().name().map(str::to_owned);
    let mut backtrace = Backtrace::force_capture().to_string();
    if backtrace.len() > BACKTRACE_CAP {
        let mut cut = BACKTRACE_CAP;
        while !backtrace.is_char_boundary(cut) {
            cut -= 1;
        }
        backtrace.truncate(cut);
        backtrace.push_str("\n(cut)\n");
    }
    let events = sink
        .ring
        .try_lock()
        .map(|r| r.last(LAST_EVENTS))
        .unwrap_or_default();
    let mut capture = None;
    if let Ok(mut draft) = sink.captures.begin("crash", at) {
        let text = format!(
            "panic: {message}\nlocation: {}\nthread: {}\nat: {at}\npid: {}\n\nbacktrace:\n{backtrace}",
            location.as_deref().unwrap_or("unknown"),
            thread.as_deref().unwrap_or("unnamed"),
            sink.captures.who.pid,
        );
        draft.file(
            "crash.txt",
            text.as_bytes(),
            "panic message, location, thread and backtrace",
        );
        let events_json = serde_json::to_vec_pretty(&events).unwrap_or_default();
        draft.file(
            "events.json",
            &events_json,
            "the last events of the watchdog's ring",
        );
        draft.note(format!("panic: {message}"));
        if let Ok(path) = sink.captures.commit(draft, sink.keep) {
            capture = path
                .file_name()
                .map(|n| format!("crash/{}", n.to_string_lossy()));
        }
    }
    if let Some(history) = &sink.history {
        history
            .append(&Row::Panic {
                run: history.run.clone(),
                at,
                message: message.clone(),
                location: location.clone(),
                thread,
                capture: capture.clone(),
            })
            .ok();
    }
    if let Ok(mut ring) = sink.ring.try_lock() {
        let mut event = Event::new(
            EventKind::Panic,
            format!(
                "the program panicked at {}: {message}",
                location.as_deref().unwrap_or("an unknown location")
            ),
        );
        event.capture = capture.map(|c| sink.captures.root.join(c));
        ring.push(event, at);
    }
}
