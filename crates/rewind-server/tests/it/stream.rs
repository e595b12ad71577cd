//! The live WebSockets with a real server on loopback and a real client:
//! `/api/v1/stream` (dashboards) and `/api/v1/agent/stream` (agents).

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt as _, StreamExt as _};
use rewind_model::{DeviceId, Role, TokenScope};
use serde_json::{Value, json};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest as _, protocol::frame::coding::CloseCode},
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A real server with a viewer, a responder and robot-7's device token.
struct Live {
    addr: SocketAddr,
    admin: String,
    viewer: String,
    responder: String,
    device: String,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), rewind_server::Error>>,
    _dir: tempfile::TempDir,
}

impl Live {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = rewind_server::ServerConfig::new(dir.path().to_path_buf());
        config.rate_limit_per_second = 100_000;
        config.rate_limit_burst = 100_000;
        let state = rewind_server::AppState::open(&config).await.unwrap();
        let store = &**state.store();
        let user = |role| TokenScope::User { role };
        let viewer = crate::make_token(store, "victor", user(Role::Viewer)).await;
        let admin = crate::make_token(store, "root", user(Role::Admin)).await;
        let responder = crate::make_token(store, "alice", user(Role::Responder)).await;
        let device = crate::make_token(
            store,
            "robot-7",
            TokenScope::Device {
                device_id: DeviceId::new("robot-7").unwrap(),
            },
        )
        .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(rewind_server::serve(state, listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            admin,
            viewer,
            responder,
            device,
            stop: Some(stop),
            server,
            _dir: dir,
        }
    }

    async fn connect(&self, path: &str, token: &str) -> Ws {
        let mut req = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let res = reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn metrics(&self) -> String {
        reqwest::Client::new()
            .get(format!("http://{}/metrics", self.addr))
            .bearer_auth(&self.viewer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// The next JSON text frame (pings and pongs skipped), within 10 s.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .unwrap();
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

/// The close frame that ends the socket, skipping anything before it.
async fn close_frame(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("closed within 30 s");
        match msg {
            Some(Ok(Message::Close(Some(frame)))) => return (frame.code, frame.reason.to_string()),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("the socket ended without a close reason: {msg:?}")
            }
            Some(Ok(_)) => {}
        }
    }
}

fn samples(n: usize, value: usize) -> Value {
    let s: Vec<Value> = (0..n)
        .map(|_| json!({"series": "cpu.total.busy_pct", "ts": "2026-05-13T10:00:00Z", "value": value}))
        .collect();
    json!({"device_id": "robot-7", "samples": s})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_devices_samples_and_incidents_appear_on_the_stream() {
    let live = Live::start().await;
    let mut ws = live.connect("/api/v1/stream", &live.viewer).await;

    let (status, _) = live
        .post(
            &live.responder,
            "/api/v1/deploys",
            json!({"service": "planner", "version": "2.1"}),
        )
        .await;
    assert_eq!(status, 201);
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "deploy", "{event}");
    assert_eq!(event["deploy"]["version"], "2.1");

    let (status, _) = live
        .post(
            &live.device,
            "/api/v1/devices/robot-7/register",
            json!({"fleet": "bots"}),
        )
        .await;
    assert_eq!(status, 200);
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "device", "{event}");
    assert_eq!(event["device"]["fleet"], "bots");

    let (status, _) = live
        .post(&live.device, "/api/v1/samples", samples(2, 7))
        .await;
    assert_eq!(status, 202);
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "samples", "{event}");
    assert_eq!(event["device_id"], "robot-7");
    assert_eq!(event["samples"].as_array().unwrap().len(), 2);

    let res = reqwest::Client::new()
        .post(format!("http://{}/api/v1/bundles", live.addr))
        .bearer_auth(&live.device)
        .header("content-type", "application/zip")
        .body(crate::bundle(20))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "incident", "{event}");
    assert_eq!(event["incident"]["status"], "open");

    let text = live.metrics().await;
    assert!(text.contains("rewind_server_stream_clients 1"), "{text}");
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_stream_forwards_batches_and_answers_bad_frames_without_closing() {
    let live = Live::start().await;
    let mut dash = live.connect("/api/v1/stream", &live.viewer).await;
    let mut agent = live.connect("/api/v1/agent/stream", &live.device).await;

    agent
        .send(Message::text(samples(3, 1).to_string()))
        .await
        .unwrap();
    let event = next_json(&mut dash).await;
    assert_eq!(event["type"], "samples", "{event}");
    assert_eq!(event["samples"].as_array().unwrap().len(), 3);

    // Malformed frames get an error frame; the connection stays.
    agent.send(Message::text("{not json")).await.unwrap();
    let err = next_json(&mut agent).await;
    assert_eq!(err["error"]["code"], "bad_frame", "{err}");
    assert!(err["error"]["hint"].is_string(), "{err}");
    agent
        .send(Message::text(samples(10_001, 1).to_string()))
        .await
        .unwrap();
    let err = next_json(&mut agent).await;
    assert_eq!(err["error"]["code"], "batch_too_large", "{err}");
    agent.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let err = next_json(&mut agent).await;
    assert_eq!(err["error"]["code"], "bad_frame", "{err}");
    agent
        .send(Message::text(samples(1, 2).to_string()))
        .await
        .unwrap();
    let event = next_json(&mut dash).await;
    assert_eq!(
        event["samples"][0]["value"], 2.0,
        "still streaming after bad frames: {event}"
    );

    // A batch for another device closes the socket with the reason.
    let mut other = samples(1, 1);
    other["device_id"] = json!("robot-8");
    agent.send(Message::text(other.to_string())).await.unwrap();
    let (code, reason) = close_frame(&mut agent).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("robot-8"), "{reason}");

    // A frame over the JSON limit (1 MiB by default) closes it with 1009.
    let mut agent = live.connect("/api/v1/agent/stream", &live.device).await;
    let huge = format!(
        "{{\"device_id\":\"robot-7\",\"samples\":[],\"pad\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    agent.send(Message::text(huge)).await.unwrap();
    let (code, reason) = close_frame(&mut agent).await;
    assert_eq!(code, CloseCode::Size);
    assert!(reason.contains("limit"), "{reason}");

    let text = live.metrics().await;
    assert!(text.contains("rewind_server_samples_total 4"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_falls_behind_is_dropped_with_a_reason_and_others_keep_receiving() {
    let live = Live::start().await;
    let mut slow = live.connect("/api/v1/stream", &live.viewer).await;
    let fast = live.connect("/api/v1/stream", &live.viewer).await;
    let mut agent = live.connect("/api/v1/agent/stream", &live.device).await;

    // The fast client reads everything and reports each event's sample count.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let reader = tokio::spawn(async move {
        let mut fast = fast;
        while let Some(Ok(msg)) = fast.next().await {
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                let n = v["samples"].as_array().map_or(0, Vec::len);
                if seen_tx.send(n).is_err() {
                    break;
                }
            }
        }
        fast
    });
    let mut send_and_wait = async |frames: usize, per_frame: usize| {
        let text = samples(per_frame, 1).to_string();
        for _ in 0..frames {
            agent.send(Message::text(text.clone())).await.unwrap();
        }
        for _ in 0..frames {
            let n = tokio::time::timeout(Duration::from_secs(20), seen.recv())
                .await
                .expect("the fast client keeps up")
                .unwrap();
            assert_eq!(n, per_frame);
        }
    };
    // Large events fill the slow client's socket buffers (it never reads) …
    for _ in 0..6 {
        send_and_wait(5, 10_000).await;
    }
    // … then small ones pile up past the server's backlog of 1024 events for it.
    for _ in 0..15 {
        send_and_wait(100, 1).await;
    }

    // Now the slow client reads: what was sent, then the close with the reason.
    let (code, reason) = close_frame(&mut slow).await;
    assert_eq!(code, CloseCode::Again, "{reason}");
    assert!(reason.starts_with("too slow: fell behind by "), "{reason}");
    assert!(reason.ends_with("events; reconnect"), "{reason}");

    // The fast client is still there and receiving.
    send_and_wait(1, 3).await;
    let text = live.metrics().await;
    assert!(
        text.contains("rewind_server_stream_dropped_total 1"),
        "{text}"
    );
    assert!(text.contains("rewind_server_stream_clients 1"), "{text}");
    drop(agent);
    reader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_clients_are_told_when_the_server_shuts_down() {
    let mut live = Live::start().await;
    let mut ws = live.connect("/api/v1/stream", &live.viewer).await;
    // The server has the client (the gauge says so) before it stops.
    for _ in 0..50 {
        if live
            .metrics()
            .await
            .contains("rewind_server_stream_clients 1")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    live.stop.take().unwrap().send(()).unwrap();
    let (code, reason) = close_frame(&mut ws).await;
    assert_eq!(code, CloseCode::Away, "{reason}");
    assert!(reason.contains("shutting down"), "{reason}");
    tokio::time::timeout(Duration::from_secs(10), &mut live.server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_agent_stream_does_not_hold_shutdown_open() {
    let mut live = Live::start().await;
    let mut agent = live.connect("/api/v1/agent/stream", &live.device).await;
    let mut dashboard = live.connect("/api/v1/stream", &live.viewer).await;
    // Both are connected and idle when the server is asked to stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    live.stop.take().unwrap().send(()).unwrap();
    let (code, reason) = close_frame(&mut agent).await;
    assert_eq!(code, CloseCode::Away, "{reason}");
    assert!(reason.contains("shutting down"), "{reason}");
    let (code, _) = close_frame(&mut dashboard).await;
    assert_eq!(code, CloseCode::Away);
    tokio::time::timeout(Duration::from_secs(10), &mut live.server)
        .await
        .expect("the server stops although an agent was streaming")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_token_closes_its_open_streams_at_once() {
    let live = Live::start().await;
    let mut dashboard = live.connect("/api/v1/stream", &live.viewer).await;
    let mut agent = live.connect("/api/v1/agent/stream", &live.device).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let tokens: Value = client
        .get(format!("http://{}/api/v1/tokens", live.addr))
        .bearer_auth(&live.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = tokens
        .as_array()
        .or_else(|| tokens["tokens"].as_array())
        .unwrap()
        .clone();
    for name in ["victor", "robot-7"] {
        let id = list
            .iter()
            .find(|t| t["name"] == name)
            .and_then(|t| t["id"].as_str())
            .unwrap()
            .to_owned();
        let res = client
            .delete(format!("http://{}/api/v1/tokens/{id}", live.addr))
            .bearer_auth(&live.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let (code, reason) = close_frame(&mut dashboard).await;
    assert_eq!(code, CloseCode::Policy, "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
    let (code, reason) = close_frame(&mut agent).await;
    assert_eq!(code, CloseCode::Policy, "{reason}");
}
