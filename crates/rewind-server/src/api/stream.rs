//! The dashboard's live stream: `GET /api/v1/stream`, a WebSocket that
//! pushes every [`LiveEvent`] (incident changes, deploys, devices, live
//! samples) as one JSON text frame each.
//!
//! A client that falls behind is dropped, never waited for: each client has
//! its own view of a bounded broadcast queue (`LIVE_BACKLOG` events); when
//! the server would have to discard events this client has not been sent
//! yet, it closes the socket with code 1013 (try again later) and the
//! reason `too slow: fell behind by N events; reconnect`. A client whose
//! socket accepts nothing for [`SEND_TIMEOUT`] is dropped the same way. The
//! server pings every [`PING_EVERY`], so dead connections are noticed and
//! proxies keep the socket open.

use std::time::Duration;

use axum::{
    extract::{
        State,
        ws::{
            CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
        },
    },
    http::StatusCode,
    response::Response,
};
use rewind_model::LiveEvent;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{ApiError, AppState, auth::Viewer, metrics::Metrics};

/// How often the server pings a stream client.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(30);

/// How long one frame may take to go out before the client counts as too slow.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Close code "try again later" (RFC 6455 registry).
pub(crate) const CLOSE_AGAIN: u16 = 1013;
/// Close code "going away": the server is stopping.
pub(crate) const CLOSE_AWAY: u16 = 1001;
/// Close code "policy violation".
pub(crate) const CLOSE_POLICY: u16 = 1008;
/// Close code "message too big".
pub(crate) const CLOSE_TOO_BIG: u16 = 1009;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// A plain HTTP request where a WebSocket upgrade was expected.
pub(super) fn upgrade(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    ws.map_err(|e| {
        ApiError::new(StatusCode::UPGRADE_REQUIRED, "websocket_required", e.body_text()).hint(
            "connect with a WebSocket client (ws:// or wss://), e.g. `websocat ws://HOST/api/v1/stream`",
        )
    })
}

/// Sends a close frame (best effort, bounded in time) with `reason`,
/// trimmed to the 123 bytes a close frame can carry.
pub(super) async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }));
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.send(frame)).await;
}

/// Counts a connected client while it lives.
struct Connected(Metrics);

impl Connected {
    fn new(metrics: &Metrics) -> Self {
        metrics.stream_clients.inc();
        Self(metrics.clone())
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.stream_clients.dec();
    }
}

/// Live events for the dashboard (WebSocket).
///
/// Every event is one JSON text frame shaped like `LiveEvent` (tagged by
/// `type`: `incident`, `deploy`, `device`, `samples`). Live samples are not
/// stored: a client sees those sent while it is connected. A client that
/// falls behind is closed with code 1013 and a reason naming how far behind
/// it was; reconnect and reload the lists. The server pings every 30 s.
#[utoipa::path(
    get,
    path = "/api/v1/stream",
    tag = "live",
    security(("token" = ["viewer"])),
    responses(
        (status = 101, body = rewind_model::LiveEvent, description = "Switching to WebSocket; then one LiveEvent per text frame"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 426, body = rewind_model::ApiErrorBody, description = "Not a WebSocket request"),
    )
)]
async fn stream(
    Viewer(caller): Viewer,
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = upgrade(ws)?;
    // Subscribed before the upgrade: nothing published from here on is missed.
    let live = state.subscribe();
    Ok(ws.on_upgrade(move |socket| serve(state, live, socket, caller.token)))
}

/// Why a client's stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The client closed or vanished.
    Client,
    /// The client fell behind by this many events.
    TooSlow(u64),
    /// The server is stopping.
    Shutdown,
    /// The token was revoked or expired while connected.
    Revoked,
}

async fn serve(
    state: AppState,
    mut live: broadcast::Receiver<LiveEvent>,
    mut socket: WebSocket,
    token: rewind_model::TokenInfo,
) {
    let who = token.name.clone();
    let metrics = state.metrics().clone();
    let _connected = Connected::new(&metrics);
    tracing::debug!(token = %who, "live stream client connected");
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let revoked = state.revoked(token.id);
    tokio::pin!(revoked);
    let end = loop {
        tokio::select! {
            () = &mut stopping => break End::Shutdown,
            () = &mut revoked => break End::Revoked,
            event = live.recv() => match event {
                Ok(event) => {
                    let text = match serde_json::to_string(&event) {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode a live event");
                            continue;
                        }
                    };
                    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break End::Client,
                        Err(_) => break End::TooSlow(live.len() as u64),
                    }
                }
                Err(RecvError::Lagged(n)) => break End::TooSlow(n),
                Err(RecvError::Closed) => break End::Shutdown,
            },
            msg = socket.recv() => match msg {
                // Pings are answered by the WebSocket layer; text from the client is ignored.
                Some(Ok(Message::Close(_)) | Err(_)) | None => break End::Client,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if !state.token_still_usable(token.id).await {
                    break End::Revoked;
                }
                let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break End::Client;
                }
            }
        }
    };
    match end {
        End::Client => tracing::debug!(token = %who, "live stream client left"),
        End::TooSlow(behind) => {
            metrics.stream_dropped.inc();
            tracing::warn!(token = %who, behind, "live stream client dropped: too slow");
            let reason = format!("too slow: fell behind by {behind} events; reconnect");
            close(&mut socket, CLOSE_AGAIN, &reason).await;
        }
        End::Shutdown => close(&mut socket, CLOSE_AWAY, "server shutting down; reconnect").await,
        End::Revoked => {
            tracing::info!(token = %who, "live stream closed: its token was revoked or expired");
            close(
                &mut socket,
                CLOSE_POLICY,
                "token revoked or expired; sign in again",
            )
            .await;
        }
    }
}
