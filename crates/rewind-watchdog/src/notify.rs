//! Notifications: captures, warnings, finished contention diagnostics and
//! "capturing stopped" errors go to a [`Notifier`] with the artefact's
//! path.
//!
//! Notifiers run on a thread of their own behind a bounded queue
//! ([`QUEUE`] notifications): the tick never waits on a network. A full
//! queue drops the notification and counts it; a failing notifier is
//! counted and logged as an error event (the first failure, then at most
//! one a minute).
//!
//! [`WebhookNotifier`] posts the notification as JSON over plain
//! `http://` with a hand-written HTTP/1.1 request (no HTTP client is
//! linked: none with a blocking API is in the workspace). For `https://`,
//! implement [`Notifier`] with the program's own client.

use std::{
    io::{Read as _, Write as _},
    net::{TcpStream, ToSocketAddrs as _},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{
    Clock, Error, Result,
    event::{Event, EventKind, EventRing},
};

/// Notifications waiting at most.
pub const QUEUE: usize = 64;

/// What a notifier receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Always `rewind-watchdog`.
    pub source: String,
    /// The process.
    pub pid: u32,
    /// The host name.
    pub host: String,
    /// The program's version.
    pub version: String,
    /// The event, with the capture directory in `event.capture`.
    pub event: Event,
}

/// Somewhere notifications go: a webhook, the Rewind server, a chat.
///
/// Called on the watchdog's notifier thread, one notification at a time.
pub trait Notifier: Send + Sync + std::fmt::Debug + 'static {
    /// Delivers one notification.
    ///
    /// # Errors
    /// A sentence saying why it was not delivered; it is counted and logged.
    fn notify(&self, notification: &Notification) -> std::result::Result<(), String>;
}

/// Counters of the notifier thread.
#[derive(Debug, Default)]
pub(crate) struct NotifyStats {
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) sent: AtomicU64,
}

/// The queue in front of the notifier thread.
#[derive(Debug, Clone)]
pub(crate) struct NotifyQueue {
    tx: mpsc::SyncSender<Notification>,
    pub(crate) stats: Arc<NotifyStats>,
}

impl NotifyQueue {
    /// Starts the thread.
    pub(crate) fn start(
        notifier: Box<dyn Notifier>,
        ring: Arc<Mutex<EventRing>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Notification>(QUEUE);
        let stats = Arc::new(NotifyStats::default());
        let s = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("rewind-watchdog-notify".into())
            .spawn(move || {
                let mut last_logged: Option<rewind_model::Timestamp> = None;
                for n in rx {
                    match notifier.notify(&n) {
                        Ok(()) => {
                            s.sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            s.failed.fetch_add(1, Ordering::Relaxed);
                            let now = clock.now();
                            let due = last_logged.is_none_or(|t| {
                                crate::clock::since(now, t) >= Duration::from_secs(60)
                            });
                            if due {
                                last_logged = Some(now);
                                let event = Event::new(
                                    EventKind::Error,
                                    format!("a notification was not delivered: {e}"),
                                );
                                ring.lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .push(event, now);
                            }
                        }
                    }
                }
            })
            .map_err(Error::Spawn)?;
        Ok(Self { tx, stats })
    }

    /// Queues one notification; false (and counted) when the queue is full.
    pub(crate) fn send(&self, n: Notification) -> bool {
        match self.tx.try_send(n) {
            Ok(()) => true,
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Posts each notification as JSON to an `http://` URL.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    url: String,
    host: String,
    port: u16,
    path: String,
    timeout: Duration,
}

impl WebhookNotifier {
    /// A webhook at `url` (`http://host[:port][/path]`), with a 5 s timeout.
    ///
    /// # Errors
    /// [`Error::WebhookUrl`] for anything else (including `https://`).
    pub fn new(url: &str) -> Result<Self> {
        let bad = |problem| Error::WebhookUrl {
            url: url.to_owned(),
            problem,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("it must start with http://"))?;
        let (authority, path) = rest
            .find('/')
            .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("it needs a host (and no user info)"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 host needs its closing ]"))?;
            match after.strip_prefix(':') {
                Some(p) => (
                    host,
                    p.parse::<u16>()
                        .map_err(|_| bad("the port is not a number"))?,
                ),
                None if after.is_empty() => (host, 80),
                None => return Err(bad("unexpected text after the IPv6 host")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    p.parse::<u16>()
                        .map_err(|_| bad("the port is not a number"))?,
                ),
                None => (authority, 80),
            }
        };
        if host.is_empty() {
            return Err(bad("it needs a host"));
        }
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("the path has spaces or control characters"));
        }
        Ok(Self {
            url: url.to_owned(),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            timeout: Duration::from_secs(5),
        })
    }

    /// Sets the connect, write and read timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn post(&self, body: &[u8]) -> std::io::Result<u16> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("the host has no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, self.timeout)?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.set_read_timeout(Some(self.timeout))?;
        let host = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: rewind-watchdog\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut status = Vec::new();
        stream.take(1024).read_to_end(&mut status).ok();
        let line = String::from_utf8_lossy(&status);
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other("no HTTP status line in the answer"))
    }
}

impl Notifier for WebhookNotifier {
    fn notify(&self, notification: &Notification) -> std::result::Result<(), String> {
        let body = serde_json::to_vec(notification).map_err(|e| e.to_string())?;
        match self.post(&body) {
            Ok(code) if (200..300).contains(&code) => Ok(()),
            Ok(code) => Err(format!("{} answered HTTP {code}", self.url)),
            Err(e) => Err(format!("cannot post to {}: {e}", self.url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn webhook_urls_are_parsed_and_https_is_refused() {
        let w = WebhookNotifier::new("http://127.0.0.1:9000/hooks/wd").unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("127.0.0.1", 9000, "/hooks/wd")
        );
        let w = WebhookNotifier::new("http://example.test").unwrap();
        assert_eq!((w.port, w.path.as_str()), (80, "/"));
        let w = WebhookNotifier::new("http://[::1]:81/x").unwrap();
        assert_eq!((w.host.as_str(), w.port), ("::1", 81));
        assert!(WebhookNotifier::new("https://example.test/").is_err());
        assert!(WebhookNotifier::new("http://:80/").is_err());
        assert!(WebhookNotifier::new("http://h:x/").is_err());
    }

    #[test]
    fn the_webhook_posts_the_notification_as_json() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf).unwrap();
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .unwrap()
                        .parse()
                        .unwrap();
                    if body.len() >= len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            String::from_utf8(req).unwrap()
        });
        let w = WebhookNotifier::new(&format!("http://127.0.0.1:{port}/hook")).unwrap();
        let mut event = Event::new(EventKind::Capture, "open file descriptors is 900");
        event.capture = Some("/var/lib/svc/watchdog/captures/fds/x".into());
        let n = Notification {
            source: "rewind-watchdog".into(),
            pid: 1,
            host: "h".into(),
            version: "v".into(),
            event,
        };
        w.notify(&n).unwrap();
        let req = server.join().unwrap();
        assert!(req.starts_with("POST /hook HTTP/1.1\r\n"), "{req}");
        let body = req.split_once("\r\n\r\n").unwrap().1;
        let back: Notification = serde_json::from_str(body).unwrap();
        assert_eq!(back, n);
    }

    #[test]
    fn a_refused_webhook_is_an_error_not_a_panic() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let w = WebhookNotifier::new(&format!("http://127.0.0.1:{port}/")).unwrap();
        let n = Notification {
            source: "rewind-watchdog".into(),
            pid: 1,
            host: "h".into(),
            version: "v".into(),
            event: Event::new(EventKind::Warning, "w"),
        };
        assert!(w.notify(&n).unwrap_err().contains("cannot post"));
    }
}
