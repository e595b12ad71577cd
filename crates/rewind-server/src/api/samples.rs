//! Live samples from agents: `POST /api/v1/samples` (one batch per
//! request) and `GET /api/v1/agent/stream` (a WebSocket carrying the same
//! batches as text frames).
//!
//! Nothing is stored: batches are checked, counted, mark the device as seen
//! and go out on the live stream to dashboards connected at the time; the
//! samples of a device in a fleet also feed the regression watch (deploys
//! to that fleet are judged on them). Incidents keep their data in bundles.

use std::time::{Duration, Instant};

use axum::{
    Json,
    extract::{
        State,
        rejection::JsonRejection,
        ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::StatusCode,
    response::Response,
};
use rewind_model::{
    ApiErrorBody, ApiErrorDetail, DeviceId, EventKind, Level, LiveEvent, SampleBatch, Timestamp,
    metrics::{LogPoint, MetricPoint},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    json_body,
    stream::{CLOSE_POLICY, CLOSE_TOO_BIG, close, upgrade},
};
use crate::{ApiError, AppState, auth::Caller, auth::Ingest, metrics::SourceLabel};

/// Most samples in one batch.
pub(crate) const MAX_SAMPLES: usize = 10_000;
/// Most events in one batch.
pub(crate) const MAX_EVENTS: usize = 1_000;
/// How often a streaming device is marked seen, at most.
const TOUCH_EVERY: Duration = Duration::from_secs(10);

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_samples))
        .routes(routes!(agent_stream))
}

/// What the server took from a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct SamplesAccepted {
    /// Samples accepted (and sent to live dashboards).
    pub samples: usize,
    /// Events accepted.
    pub events: usize,
}

/// A batch that cannot be taken, for an HTTP answer or an error frame.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    hint: String,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(r.status, r.code, r.message).hint(r.hint)
    }
}

impl Refusal {
    fn frame(&self) -> String {
        error_frame(self.code, &self.message, &self.hint)
    }
}

/// The JSON error frame sent on the agent stream (the same shape as every
/// HTTP error body).
fn error_frame(code: &str, message: &str, hint: &str) -> String {
    let body = ApiErrorBody {
        error: ApiErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            hint: Some(hint.to_owned()),
            details: None,
        },
    };
    serde_json::to_string(&body)
        .unwrap_or_else(|_| format!("{{\"error\":{{\"code\":\"{code}\"}}}}"))
}

/// Checks the batch's size.
fn check(batch: &SampleBatch) -> Result<(), Refusal> {
    let too_many = |what: &str, n: usize, limit: usize| Refusal {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "batch_too_large",
        message: format!("the batch has {n} {what}; at most {limit} are accepted at once"),
        hint: format!("split it: send at most {limit} {what} per request or frame"),
    };
    if batch.samples.len() > MAX_SAMPLES {
        return Err(too_many("samples", batch.samples.len(), MAX_SAMPLES));
    }
    if batch.events.len() > MAX_EVENTS {
        return Err(too_many("events", batch.events.len(), MAX_EVENTS));
    }
    Ok(())
}

/// Counts a checked batch and sends its samples to live dashboards.
async fn publish(state: &AppState, batch: SampleBatch) -> SamplesAccepted {
    let accepted = SamplesAccepted {
        samples: batch.samples.len(),
        events: batch.events.len(),
    };
    state.metrics().samples.inc_by(accepted.samples as u64);
    if let Some(fleet) = state.fleet_of(&batch.device_id).await {
        feed_regression(state, &batch, fleet);
    }
    if !batch.samples.is_empty() {
        state.publish(LiveEvent::Samples {
            device_id: batch.device_id,
            samples: batch.samples,
        });
    }
    accepted
}

/// The batch's samples and warning-or-worse log events, for the regression
/// watch: series of the device (instance = device id) in its fleet's
/// environment, judged for deploys to that fleet. Devices in no fleet are
/// not fed: their series would be judged for every deploy of every service.
/// A watch that is behind drops them (counted); the live view still gets them.
fn feed_regression(state: &AppState, batch: &SampleBatch, fleet: String) {
    let device = batch.device_id.as_str();
    let points: Vec<MetricPoint> = batch
        .samples
        .iter()
        .filter(|s| s.value.is_finite())
        .map(|s| MetricPoint {
            at: s.ts,
            name: s.series.as_str().to_owned(),
            value: s.value,
            service: None,
            environment: Some(fleet.clone()),
            instance: Some(device.to_owned()),
        })
        .collect();
    let lines: Vec<LogPoint> = batch
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Log && e.level >= Level::Warning)
        .filter_map(|e| {
            let mut line = LogPoint {
                at: e.ts,
                level: Some(e.level),
                service: None,
                environment: Some(fleet.clone()),
                source: format!("{device}:{}", e.source),
                text: e.message.clone(),
            };
            line.check().ok().map(|()| line)
        })
        .collect();
    let n = points.len() as u64;
    let feed = state.feed();
    if feed.try_metrics(points).is_err() || feed.try_logs(lines).is_err() {
        state.metrics().regression_dropped.inc_by(n);
        return;
    }
    state
        .metrics()
        .regression_points
        .get_or_create(&SourceLabel { source: "agent" })
        .inc_by(n);
}

/// Send live samples (not stored: they go to dashboards connected now).
///
/// One batch from one device: at most 10,000 samples and 1,000 events. The
/// samples are counted, mark the device as seen and are pushed to every
/// client of `/api/v1/stream`; nothing is written to the database (incident
/// data comes in bundles). Agents that stream continuously use
/// `/api/v1/agent/stream` instead.
#[utoipa::path(
    post,
    path = "/api/v1/samples",
    tag = "live",
    security(("token" = ["device"])),
    request_body = SampleBatch,
    responses(
        (status = 202, body = SamplesAccepted, description = "Accepted and sent live; nothing stored"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody, description = "The token is for another device"),
        (status = 413, body = rewind_model::ApiErrorBody, description = "More than 10,000 samples or 1,000 events, or a body over the JSON limit"),
        (status = 415, body = rewind_model::ApiErrorBody),
        (status = 422, body = rewind_model::ApiErrorBody, description = "Not a batch; the message names the field"),
        (status = 429, body = rewind_model::ApiErrorBody),
    )
)]
async fn post_samples(
    Ingest(caller): Ingest,
    State(state): State<AppState>,
    body: Result<Json<SampleBatch>, JsonRejection>,
) -> Result<(StatusCode, Json<SamplesAccepted>), ApiError> {
    let batch = json_body(body)?;
    caller.may_ingest_for(&batch.device_id)?;
    check(&batch)?;
    state
        .store()
        .touch_device(&batch.device_id, Timestamp::now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(publish(&state, batch).await)))
}

/// Stream live samples from an agent (WebSocket; not stored).
///
/// After the upgrade the agent sends one `SampleBatch` per text frame, as it
/// would `POST /api/v1/samples`. The server answers only problems: a frame it
/// cannot take gets a JSON error frame (`{"error": {"code", "message",
/// "hint"}}`) and the connection stays open. A frame larger than the server's
/// JSON limit (`--max-json-bytes`) closes the socket with code 1009, and a
/// batch for another device than the token's closes it with code 1008; the
/// close reason says why. Each frame counts against the token's rate limit.
#[utoipa::path(
    get,
    path = "/api/v1/agent/stream",
    tag = "live",
    security(("token" = ["device"])),
    responses(
        (status = 101, description = "Switching to WebSocket; send SampleBatch text frames"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 426, body = rewind_model::ApiErrorBody, description = "Not a WebSocket request"),
    )
)]
async fn agent_stream(
    Ingest(caller): Ingest,
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let limit = state.max_json_bytes();
    // The WebSocket layer refuses only far larger messages; between the two
    // the frame is read and refused here with a close reason.
    let ws = upgrade(ws)?
        .max_message_size(limit.saturating_mul(2))
        .max_frame_size(limit.saturating_mul(2));
    Ok(ws.on_upgrade(move |socket| serve_agent(state, caller, socket)))
}

/// Per-connection bookkeeping of the agent stream.
#[derive(Debug, Default)]
struct AgentConnection {
    frames: u64,
    samples: u64,
    malformed: u64,
    touched: Option<(DeviceId, Instant)>,
}

async fn serve_agent(state: AppState, caller: Caller, mut socket: WebSocket) {
    let limit = state.max_json_bytes();
    let mut conn = AgentConnection::default();
    let name = caller.token.name.clone();
    tracing::debug!(token = %name, "agent stream connected");
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let revoked = state.revoked(caller.token.id);
    tokio::pin!(revoked);
    let mut recheck = tokio::time::interval_at(
        tokio::time::Instant::now() + super::stream::PING_EVERY,
        super::stream::PING_EVERY,
    );
    loop {
        let received = tokio::select! {
            () = &mut stopping => {
                close(&mut socket, super::stream::CLOSE_AWAY, "server shutting down; reconnect").await;
                break;
            }
            () = &mut revoked => {
                close(&mut socket, super::stream::CLOSE_POLICY, "token revoked").await;
                break;
            }
            _ = recheck.tick() => {
                if state.token_still_usable(caller.token.id).await {
                    continue;
                }
                tracing::info!(token = %name, "agent stream closed: its token was revoked or expired");
                close(&mut socket, super::stream::CLOSE_POLICY, "token revoked or expired").await;
                break;
            }
            r = socket.recv() => r,
        };
        let text = match received {
            None | Some(Ok(Message::Close(_))) => break,
            Some(Err(e)) => {
                // Includes messages over the WebSocket layer's own limit.
                tracing::debug!(token = %name, error = %e, "agent stream failed");
                close(&mut socket, CLOSE_TOO_BIG, "unreadable or oversized frame").await;
                break;
            }
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                conn.malformed += 1;
                let frame = error_frame(
                    "bad_frame",
                    "binary frames are not accepted",
                    "send each batch as a JSON text frame",
                );
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
                continue;
            }
            Some(Ok(_)) => continue, // ping/pong, answered by the WebSocket layer
        };
        conn.frames += 1;
        if text.len() > limit {
            let reason = format!(
                "frame of {} bytes is over the limit of {limit}; send smaller batches",
                text.len()
            );
            close(&mut socket, CLOSE_TOO_BIG, &reason).await;
            break;
        }
        match take_frame(&state, &caller, &mut conn, &text).await {
            Ok(()) => {}
            Err(Taken::Reply(frame)) => {
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            Err(Taken::Close(code, reason)) => {
                close(&mut socket, code, &reason).await;
                break;
            }
        }
    }
    tracing::debug!(
        token = %name,
        frames = conn.frames,
        samples = conn.samples,
        malformed = conn.malformed,
        "agent stream closed"
    );
}

/// What to do about a frame that was not taken.
enum Taken {
    /// Answer with this error frame and go on.
    Reply(String),
    /// Close the socket.
    Close(u16, String),
}

async fn take_frame(
    state: &AppState,
    caller: &Caller,
    conn: &mut AgentConnection,
    text: &str,
) -> Result<(), Taken> {
    let batch: SampleBatch = match serde_json::from_str(text) {
        Ok(b) => b,
        Err(e) => {
            conn.malformed += 1;
            return Err(Taken::Reply(error_frame(
                "bad_frame",
                &format!(
                    "frame {} is not a sample batch: {e} (malformed frames on this connection: {})",
                    conn.frames, conn.malformed
                ),
                "send {\"device_id\": …, \"samples\": [{\"series\", \"ts\", \"value\"}…], \"events\": […]}; \
                 see SampleBatch in /api/openapi.json",
            )));
        }
    };
    if caller.may_ingest_for(&batch.device_id).is_err() {
        return Err(Taken::Close(
            CLOSE_POLICY,
            format!(
                "token `{}` may not send samples for device {}",
                caller.token.name, batch.device_id
            ),
        ));
    }
    if let Err(refusal) = check(&batch) {
        conn.malformed += 1;
        return Err(Taken::Reply(refusal.frame()));
    }
    if state.rate_limit(&caller.token).is_err() {
        return Err(Taken::Reply(error_frame(
            "rate_limited",
            "this token is over its request rate; the frame was dropped",
            "send larger batches less often",
        )));
    }
    let due = match &conn.touched {
        Some((device, at)) => *device != batch.device_id || at.elapsed() >= TOUCH_EVERY,
        None => true,
    };
    if due {
        match state
            .store()
            .touch_device(&batch.device_id, Timestamp::now())
            .await
        {
            Ok(()) => conn.touched = Some((batch.device_id.clone(), Instant::now())),
            Err(e) => {
                tracing::warn!(device = %batch.device_id, error = %e, "cannot mark the device seen")
            }
        }
    }
    let accepted = publish(state, batch).await;
    conn.samples += accepted.samples as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::{LiveSample, SeriesName};

    #[test]
    fn batches_parse_with_optional_events_and_refuse_unknown_fields() {
        let b: SampleBatch = serde_json::from_str(
            r#"{"device_id":"robot-7","samples":[{"series":"cpu.total.busy_pct","ts":"2026-05-13T14:30:00Z","value":12.5}]}"#,
        )
        .unwrap();
        assert_eq!(b.samples.len(), 1);
        assert!(b.events.is_empty());
        assert!(check(&b).is_ok());
        assert!(
            serde_json::from_str::<SampleBatch>(r#"{"device_id":"r","samples":[],"x":1}"#).is_err()
        );
        assert!(
            serde_json::from_str::<SampleBatch>(
                r#"{"device_id":"r","samples":[{"series":"bad name","ts":"2026-05-13T14:30:00Z","value":1}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn oversized_batches_are_refused_with_a_hint() {
        let s = LiveSample {
            series: SeriesName::new("a").unwrap(),
            ts: Timestamp::from_unix_millis(0),
            value: 1.0,
        };
        let b = SampleBatch {
            device_id: DeviceId::new("r").unwrap(),
            samples: vec![s; MAX_SAMPLES + 1],
            events: Vec::new(),
        };
        let r = check(&b).unwrap_err();
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(r.hint.contains("10000"), "{}", r.hint);
        let frame: ApiErrorBody = serde_json::from_str(&r.frame()).unwrap();
        assert_eq!(frame.error.code, "batch_too_large");
    }
}
