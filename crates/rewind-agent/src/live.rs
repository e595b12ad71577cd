//! Live streaming of samples to the server (`live: true` in the agent
//! config, off by default): every reading the collectors hand the hub is
//! also sent, about once a second, to the server's
//! `GET /api/v1/agent/stream` WebSocket, which shows them on dashboards
//! connected at the time. The server stores none of it.
//!
//! It is bounded and never slows the agent: the hub's feed offers each batch
//! with `try_send` into a short queue, and a batch that does not fit (the
//! socket is behind, or the server is away) is dropped and counted. While
//! disconnected the streamer reconnects with the upload's backoff (1 s
//! doubling to 60 s) and drops what arrives meanwhile. Events (log lines)
//! are not streamed: they are redacted only when they go into a bundle.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt as _, StreamExt as _};
use rewind_model::DeviceId;
use rewind_model::LiveSample;
use serde::Serialize;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_tungstenite::tungstenite::{
    self, Message, client::IntoClientRequest as _, http::HeaderValue,
};

use crate::{
    Error, Result,
    collect::Batch,
    config::Token,
    upload::{Backoff, token_fix},
};

/// Batches waiting for the socket; beyond this they are dropped and counted.
const QUEUE: usize = 64;
/// How often buffered samples go out as one frame.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A frame goes out early once it holds this many samples (the server takes 10,000).
const MAX_FRAME_SAMPLES: usize = 5_000;
/// …or about this many bytes of JSON (the server's default limit is 1 MiB).
const MAX_FRAME_BYTES: usize = 512 * 1024;
/// Longest wait for a connection or for one frame to go out.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Drops are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// One sample on the wire: the model's [`LiveSample`].
pub(crate) type WireSample = LiveSample;

/// One frame: `{"device_id", "samples": [{"series", "ts", "value"}…]}`.
#[derive(Debug, Serialize)]
struct WireBatch<'a> {
    device_id: &'a DeviceId,
    samples: &'a [WireSample],
}

/// The hub's side: offers batches, never waits.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    tx: mpsc::Sender<Vec<WireSample>>,
    dropped: Arc<AtomicU64>,
}

impl Live {
    /// Offers a batch's readings; when the queue is full they are dropped and counted.
    pub(crate) fn offer(&self, batch: &Batch) {
        if batch.readings.is_empty() {
            return;
        }
        let samples: Vec<WireSample> = batch
            .readings
            .iter()
            .map(|r| WireSample {
                series: r.series.clone(),
                ts: batch.ts,
                value: r.value,
            })
            .collect();
        let n = samples.len() as u64;
        if self.tx.try_send(samples).is_err() {
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Samples dropped so far because the stream was behind or away.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// `ws(s)://…/api/v1/agent/stream` for the server at `base` (`http(s)://…`).
///
/// # Errors
/// [`Error::ServerUrl`] when `base` is not http(s).
pub(crate) fn stream_url(base: &str) -> Result<String> {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(Error::ServerUrl {
            url: base.to_owned(),
            reason: "use http://HOST:PORT or https://HOST".into(),
        });
    };
    Ok(format!("{ws}/api/v1/agent/stream"))
}

/// Starts the streamer for `device` to the server at `base`.
///
/// # Errors
/// [`Error::ServerUrl`] when `base` is not http(s).
pub(crate) fn spawn(
    base: &str,
    token: Option<Token>,
    device: DeviceId,
) -> Result<(Live, JoinHandle<()>)> {
    let url = stream_url(base)?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let live = Live {
        tx,
        dropped: Arc::clone(&dropped),
    };
    let task = tokio::spawn(run(url, token, device, rx, dropped));
    Ok((live, task))
}

/// Feeds every batch to `live` on its way to the hub. The returned receiver
/// replaces `batches`; when the hub is behind this waits, so the collectors'
/// sink fills and drops (and counts) as it would without streaming.
pub(crate) fn tap(
    mut batches: mpsc::Receiver<Batch>,
    live: Live,
) -> (mpsc::Receiver<Batch>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(batches.max_capacity().max(1));
    let task = tokio::spawn(async move {
        while let Some(batch) = batches.recv().await {
            live.offer(&batch);
            if tx.send(batch).await.is_err() {
                break;
            }
        }
        let dropped = live.dropped();
        if dropped > 0 {
            tracing::info!(
                samples = dropped,
                "live samples dropped while the stream was behind or away"
            );
        }
    });
    (rx, task)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why a connection ended.
enum End {
    /// The agent is stopping.
    Stopped,
    /// The connection was lost or closed by the server.
    Lost(String),
}

async fn run(
    url: String,
    token: Option<Token>,
    device: DeviceId,
    mut rx: mpsc::Receiver<Vec<WireSample>>,
    dropped: Arc<AtomicU64>,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let mut log = DropLog::new(Arc::clone(&dropped));
    loop {
        match connect(&url, token.as_ref()).await {
            Ok(socket) => {
                tracing::info!(%url, "streaming samples live to the server");
                backoff.reset();
                match stream(socket, &device, &mut rx, &mut log).await {
                    End::Stopped => return,
                    End::Lost(reason) => {
                        tracing::warn!(%reason, "live sample stream lost; reconnecting");
                    }
                }
            }
            Err(Refused::Token(message)) => tracing::error!(
                %message,
                fix = %token_fix(device.as_str()),
                "the server refused the agent's token for live streaming; retrying"
            ),
            Err(Refused::Other(message)) => {
                tracing::warn!(%url, %message, "cannot stream samples live; retrying");
            }
        }
        // Wait before reconnecting; what arrives meanwhile is dropped and counted.
        let wait = tokio::time::sleep(backoff.next());
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                got = rx.recv() => match got {
                    Some(samples) => {
                        dropped.fetch_add(samples.len() as u64, Ordering::Relaxed);
                        log.maybe();
                    }
                    None => return,
                },
            }
        }
    }
}

/// Why a connection could not be made.
enum Refused {
    /// 401/403: the token.
    Token(String),
    /// Anything else.
    Other(String),
}

async fn connect(url: &str, token: Option<&Token>) -> std::result::Result<Socket, Refused> {
    let mut req = url
        .into_client_request()
        .map_err(|e| Refused::Other(e.to_string()))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
            .map_err(|_| Refused::Token("the token has characters a header cannot carry".into()))?;
        req.headers_mut().insert("authorization", value);
    }
    let connected = tokio::time::timeout(IO_TIMEOUT, tokio_tungstenite::connect_async(req))
        .await
        .map_err(|_| Refused::Other("timed out connecting".into()))?;
    match connected {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(res)) => {
            let status = res.status();
            let body = res
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(512)]).into_owned())
                .unwrap_or_default();
            let message = format!("server answered {status}: {body}");
            if matches!(status.as_u16(), 401 | 403) {
                Err(Refused::Token(message))
            } else {
                Err(Refused::Other(message))
            }
        }
        Err(e) => Err(Refused::Other(e.to_string())),
    }
}

/// Logs the drop counter when it grew, at most once a minute.
struct DropLog {
    dropped: Arc<AtomicU64>,
    logged: u64,
    at: Option<Instant>,
}

impl DropLog {
    fn new(dropped: Arc<AtomicU64>) -> Self {
        Self {
            dropped,
            logged: 0,
            at: None,
        }
    }

    fn maybe(&mut self) {
        let now = self.dropped.load(Ordering::Relaxed);
        if now > self.logged && self.at.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            tracing::warn!(
                samples = now - self.logged,
                total = now,
                "live samples dropped: the stream is behind or the server away"
            );
            self.logged = now;
            self.at = Some(Instant::now());
        }
    }
}

/// Buffered samples on their way out as one frame.
#[derive(Default)]
struct Frame {
    samples: Vec<WireSample>,
    bytes: usize,
}

impl Frame {
    fn push(&mut self, samples: Vec<WireSample>) {
        // ~60 bytes of JSON around each name: `{"series":"","ts":"…Z","value":…}`.
        self.bytes += samples
            .iter()
            .map(|s| s.series.as_str().len() + 64)
            .sum::<usize>();
        self.samples.extend(samples);
    }

    fn full(&self) -> bool {
        self.samples.len() >= MAX_FRAME_SAMPLES || self.bytes >= MAX_FRAME_BYTES
    }
}

async fn send(
    socket: &mut Socket,
    device: &DeviceId,
    frame: &mut Frame,
) -> std::result::Result<(), String> {
    if frame.samples.is_empty() {
        return Ok(());
    }
    let text = serde_json::to_string(&WireBatch {
        device_id: device,
        samples: &frame.samples,
    })
    .map_err(|e| e.to_string())?;
    *frame = Frame::default();
    match tokio::time::timeout(IO_TIMEOUT, socket.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the server did not take a frame within 10 s".into()),
    }
}

async fn stream(
    mut socket: Socket,
    device: &DeviceId,
    rx: &mut mpsc::Receiver<Vec<WireSample>>,
    log: &mut DropLog,
) -> End {
    let mut frame = Frame::default();
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut errors_logged_at: Option<Instant> = None;
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Some(samples) => {
                    frame.push(samples);
                    if frame.full()
                        && let Err(e) = send(&mut socket, device, &mut frame).await
                    {
                        return End::Lost(e);
                    }
                }
                None => {
                    let _ = send(&mut socket, device, &mut frame).await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
                    return End::Stopped;
                }
            },
            _ = flush.tick() => {
                if let Err(e) = send(&mut socket, device, &mut frame).await {
                    return End::Lost(e);
                }
                log.maybe();
            }
            msg = socket.next() => match msg {
                None => return End::Lost("the server closed the connection".into()),
                Some(Err(e)) => return End::Lost(e.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map_or_else(
                        || "the server closed the connection".to_owned(),
                        |f| format!("closed by the server ({}): {}", u16::from(f.code), f.reason),
                    );
                    return End::Lost(reason);
                }
                Some(Ok(Message::Text(text))) => {
                    // The server only answers problems, as JSON error frames.
                    if errors_logged_at.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
                        tracing::warn!(answer = %text.as_str(), "the server refused live samples");
                        errors_logged_at = Some(Instant::now());
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::{SeriesName, Timestamp};

    #[test]
    fn stream_urls_follow_the_server_scheme() {
        assert_eq!(
            stream_url("http://127.0.0.1:8420/").unwrap(),
            "ws://127.0.0.1:8420/api/v1/agent/stream"
        );
        assert_eq!(
            stream_url("https://rewind.example").unwrap(),
            "wss://rewind.example/api/v1/agent/stream"
        );
        assert!(stream_url("ftp://x").is_err());
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (tx, _rx) = mpsc::channel(1);
        let live = Live {
            tx,
            dropped: Arc::default(),
        };
        let mut b = Batch::new(Timestamp::from_unix_millis(0));
        b.reading(SeriesName::new("a").unwrap(), "count", 1.0);
        b.reading(SeriesName::new("b").unwrap(), "count", 2.0);
        live.offer(&b);
        assert_eq!(live.dropped(), 0);
        live.offer(&b);
        live.offer(&b);
        assert_eq!(live.dropped(), 4, "two batches of two did not fit");
    }

    /// A WebSocket server that hands over each text frame with the
    /// `Authorization` header of its connection.
    async fn frame_server() -> (String, mpsc::Receiver<(String, String)>) {
        use axum::{
            Router,
            extract::ws::{Message as WsMessage, WebSocketUpgrade},
            http::HeaderMap,
            routing::get,
        };
        let (tx, rx) = mpsc::channel(16);
        let app = Router::new().route(
            "/api/v1/agent/stream",
            get(move |headers: HeaderMap, ws: WebSocketUpgrade| {
                let tx = tx.clone();
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                async move {
                    ws.on_upgrade(move |mut socket| async move {
                        while let Some(Ok(msg)) = socket.recv().await {
                            if let WsMessage::Text(t) = msg {
                                tx.send((auth.clone(), t.to_string())).await.ok();
                            }
                        }
                    })
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (url, rx)
    }

    #[tokio::test]
    async fn batches_are_streamed_with_the_token_as_frames() {
        let (url, mut frames) = frame_server().await;
        let device = DeviceId::new("robot-7").unwrap();
        let (live, task) = spawn(&url, Some(Token::new("rwd_live")), device).unwrap();
        // Offer until connected: batches offered before that are dropped and counted.
        let mut b = Batch::new(Timestamp::from_unix_millis(1_000));
        b.reading(
            SeriesName::new("cpu.total.busy_pct").unwrap(),
            "percent",
            42.0,
        );
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                live.offer(&b);
                tokio::select! {
                    f = frames.recv() => break f.unwrap(),
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got.0, "Bearer rwd_live");
        let frame: serde_json::Value = serde_json::from_str(&got.1).unwrap();
        assert_eq!(frame["device_id"], "robot-7");
        assert_eq!(frame["samples"][0]["series"], "cpu.total.busy_pct");
        assert_eq!(frame["samples"][0]["value"], 42.0);
        task.abort();
    }

    #[test]
    fn frames_go_out_early_when_large() {
        let mut f = Frame::default();
        let s = WireSample {
            series: SeriesName::new("cpu.total.busy_pct").unwrap(),
            ts: Timestamp::from_unix_millis(0),
            value: 1.0,
        };
        f.push(vec![s.clone(); MAX_FRAME_SAMPLES - 1]);
        assert!(!f.full());
        f.push(vec![s]);
        assert!(f.full());
        let json = serde_json::to_string(&WireBatch {
            device_id: &DeviceId::new("r").unwrap(),
            samples: &f.samples[..1],
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"device_id":"r","samples":[{"series":"cpu.total.busy_pct","ts":"1970-01-01T00:00:00Z","value":1.0}]}"#
        );
    }
}
