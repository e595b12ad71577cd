//! `POST /api/v1/samples` (the agent stream's WebSocket is in `stream.rs`).

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::{Value, json};

use crate::TestServer;

fn batch(device: &str, n: usize) -> Value {
    let samples: Vec<Value> = (0..n)
        .map(|i| json!({"series": "cpu.total.busy_pct", "ts": "2026-05-13T10:00:00Z", "value": i}))
        .collect();
    json!({"device_id": device, "samples": samples})
}

#[tokio::test]
async fn a_device_sends_samples_which_are_counted_and_mark_it_seen() {
    let s = TestServer::new(1 << 20).await;
    let mut body = batch("robot-7", 3);
    body["events"] = json!([{"ts": "2026-05-13T10:00:00Z", "source": "kmsg", "kind": "log",
                            "level": "info", "message": "hello"}]);
    let (status, answer) = s.post_as(&s.device, "/api/v1/samples", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer, json!({"samples": 3, "events": 1}));
    let (status, device) = s.get("/api/v1/devices/robot-7").await;
    assert_eq!(status, StatusCode::OK, "the device is known now: {device}");
    let (_, metrics) = s.get("/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    assert!(text.contains("rewind_server_samples_total 3"), "{text}");
}

#[tokio::test]
async fn samples_are_only_for_the_tokens_own_device() {
    let s = TestServer::new(1 << 20).await;
    let (status, err) = s
        .post_as(&s.other_device, "/api/v1/samples", batch("robot-7", 1))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["code"], "wrong_device");
    let (status, _) = s
        .post_as(&s.viewer, "/api/v1/samples", batch("robot-7", 1))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.post_as("", "/api/v1/samples", batch("robot-7", 1)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .post_as(&s.admin, "/api/v1/samples", batch("robot-7", 1))
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "admins may send for any device"
    );
}

#[tokio::test]
async fn oversized_and_malformed_batches_are_refused_with_a_hint() {
    let s = TestServer::new(1 << 20).await;
    let (status, err) = s
        .post_as(&s.device, "/api/v1/samples", batch("robot-7", 10_001))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert_eq!(err["error"]["code"], "batch_too_large");
    assert!(
        err["error"]["hint"].as_str().unwrap().contains("10000"),
        "{err}"
    );
    let (status, answer) = s
        .post_as(&s.device, "/api/v1/samples", batch("robot-7", 10_000))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "exactly the limit: {answer}");

    for body in [
        json!({"device_id": "robot-7"}),
        json!({"device_id": "robot-7", "samples": [{"series": "bad name", "ts": "2026-05-13T10:00:00Z", "value": 1}]}),
        json!({"device_id": "robot-7", "samples": [], "extra": 1}),
    ] {
        let (status, err) = s.post_as(&s.device, "/api/v1/samples", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
    }
    let (_, metrics) = s.get("/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    assert!(text.contains("rewind_server_samples_total 10000"), "{text}");
}

#[tokio::test]
async fn the_agent_stream_needs_a_token_and_a_websocket() {
    let s = TestServer::new(1 << 20).await;
    let (status, _) = s.get_as("", "/api/v1/agent/stream").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, err) = s.get_as(&s.device, "/api/v1/agent/stream").await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED, "{err}");
    assert_eq!(err["error"]["code"], "websocket_required");
    let req = Request::get("/api/v1/stream").body(Body::empty()).unwrap();
    let (status, _) = s.request_as(&s.device, req).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "device tokens cannot watch the stream"
    );
}
