//! The HTTP API driven in-process through `tower::ServiceExt::oneshot`,
//! over a real SQLite database and real bundle files in a temp directory.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is the failure report

mod ingest;
mod read;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt as _;
use rewind_bundle::{BundleInput, SeriesInput};
use rewind_model::{
    BundleId, Comparison, DeviceId, Evidence, Sample, SeriesName, Severity, TimeRange, Timestamp,
    Trigger,
};
use rewind_server::{AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt as _;

/// A server over a fresh state directory.
pub(crate) struct TestServer {
    pub app: Router,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub(crate) async fn new(max_bundle_bytes: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf());
        config.max_bundle_bytes = max_bundle_bytes;
        let state = AppState::open(&config).await.unwrap();
        Self {
            app: rewind_server::router(state),
            dir,
        }
    }

    pub(crate) async fn request(&self, req: Request<Body>) -> (StatusCode, Value) {
        send(self.app.clone(), req).await
    }

    pub(crate) async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub(crate) async fn upload(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        upload_to(self.app.clone(), bytes).await
    }

    /// Files kept under the bundle directory.
    pub(crate) fn stored_files(&self) -> usize {
        walk(&self.dir.path().join("bundles"))
    }
}

/// Sends one request; the body is parsed as JSON, or kept as a string.
pub(crate) async fn send(app: Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, json)
}

/// `POST /api/v1/bundles` with `bytes` as the body.
pub(crate) async fn upload_to(app: Router, bytes: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post("/api/v1/bundles")
        .header("content-type", "application/zip")
        .body(Body::from(bytes))
        .unwrap();
    send(app, req).await
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A valid bundle with one CPU series of `n` samples.
pub(crate) fn bundle(n: usize) -> Vec<u8> {
    let t = |ms: i64| Timestamp::from_unix_millis(1_795_428_000_000 + ms);
    let trigger = Trigger {
        rule: "CPU saturated".into(),
        rule_type: "metric_threshold".into(),
        severity: Severity::High,
        fired_at: t(5_000),
        summary: "cpu.total.busy_pct stayed above 70 for 2.0 s (peak 99.5, now 98)".into(),
        evidence: vec![Evidence::new(
            SeriesName::new("cpu.total.busy_pct").unwrap(),
            Comparison::Above(70.0),
            98.0,
            99.5,
            t(3_000),
            21,
        )],
        labels: Default::default(),
    };
    let samples = (0..n)
        .map(|i| Sample::new(t(i as i64 * 100), (i % 100) as f64))
        .collect();
    let series = [SeriesInput {
        name: SeriesName::new("cpu.total.busy_pct").unwrap(),
        unit: "percent".into(),
        samples,
    }];
    let device = DeviceId::new("robot-7").unwrap();
    let input = BundleInput {
        bundle_id: BundleId::new_v7(),
        device_id: &device,
        agent_version: "test",
        created_at: t(9_000),
        trigger: &trigger,
        window: TimeRange {
            start: t(0),
            end: t(8_000),
        },
        series: &series,
        events: &[],
        attachments: &[],
        extras: &rewind_bundle::BundleExtras::default(),
    };
    let mut out = std::io::Cursor::new(Vec::new());
    rewind_bundle::write_bundle_to(&mut out, &input).unwrap();
    out.into_inner()
}
