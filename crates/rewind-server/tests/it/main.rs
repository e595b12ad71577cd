//! The HTTP API driven in-process through `tower::ServiceExt::oneshot`,
//! over a real SQLite database and real bundle files in a temp directory.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is the failure report

mod access;
mod deploys;
mod devices;
mod ingest;
mod lifecycle;
mod otlp;
mod prometheus;
mod read;
mod regression;
mod s3;
mod samples;
mod session;
mod shutdown;
mod stream;
mod tls;
mod tokens;

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt as _;
use rewind_bundle::{BundleInput, SeriesInput};
use rewind_model::{
    BundleId, Comparison, DeviceId, Evidence, Role, Sample, SeriesName, Severity, TimeRange,
    Timestamp, TokenScope, Trigger,
};
use rewind_server::{AppState, ServerConfig, auth, blobs::Blobs};
use rewind_store::{NewToken, Store};
use serde_json::Value;
use tower::ServiceExt as _;

/// A server over a fresh state directory, with one token of each kind.
pub(crate) struct TestServer {
    pub app: Router,
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub admin: String,
    pub responder: String,
    pub viewer: String,
    /// A device token for `robot-7`, the device of [`bundle`].
    pub device: String,
    /// A device token for `robot-8`.
    pub other_device: String,
}

/// Stores a token directly and returns its secret.
pub(crate) async fn make_token(store: &dyn Store, name: &str, scope: TokenScope) -> String {
    let secret = auth::new_secret();
    store
        .create_token(&NewToken {
            name: name.into(),
            scope,
            secret_hash: auth::hash_secret(&secret),
            prefix: auth::secret_prefix(&secret),
            created_at: Timestamp::now(),
            expires_at: None,
        })
        .await
        .unwrap();
    secret
}

impl TestServer {
    /// SQLite in a temp directory.
    pub(crate) async fn new(max_bundle_bytes: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rewind.db").display());
        let store = rewind_store::open(&url).await.unwrap();
        Self::over(store, dir, max_bundle_bytes).await
    }

    /// One server per available backend: SQLite always, PostgreSQL when
    /// `REWIND_TEST_PG_URL` is set (skipped loudly otherwise).
    pub(crate) async fn each_backend(max_bundle_bytes: u64) -> Vec<Self> {
        let mut out = vec![Self::new(max_bundle_bytes).await];
        match std::env::var("REWIND_TEST_PG_URL") {
            Ok(pg) if !pg.is_empty() => {
                let schema = format!("rewind_srv_{}", uuid::Uuid::new_v4().simple());
                let store = rewind_store::open_postgres_in_schema(&pg, &schema)
                    .await
                    .unwrap();
                out.push(Self::over(store, tempfile::tempdir().unwrap(), max_bundle_bytes).await);
            }
            _ => eprintln!(
                "\n*** SKIPPED the PostgreSQL half of this server test: REWIND_TEST_PG_URL is not \
                 set (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n"
            ),
        }
        out
    }

    /// SQLite in a temp directory, with settings changed by `edit` (the
    /// regression watch's windows, say).
    pub(crate) async fn with_config(edit: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rewind.db").display());
        let store = rewind_store::open(&url).await.unwrap();
        Self::over_with(store, dir, 64 << 20, edit).await
    }

    async fn over(store: Arc<dyn Store>, dir: tempfile::TempDir, max_bundle_bytes: u64) -> Self {
        Self::over_with(store, dir, max_bundle_bytes, |_| {}).await
    }

    async fn over_with(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        max_bundle_bytes: u64,
        edit: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let mut config = ServerConfig::new(dir.path().to_path_buf());
        config.max_bundle_bytes = max_bundle_bytes;
        config.rate_limit_per_second = 10_000;
        config.rate_limit_burst = 10_000;
        let blobs = Blobs::local(&config.bundle_dir()).unwrap();
        let user = |role| TokenScope::User { role };
        let admin = make_token(&*store, "root", user(Role::Admin)).await;
        let responder = make_token(&*store, "alice", user(Role::Responder)).await;
        let viewer = make_token(&*store, "victor", user(Role::Viewer)).await;
        let device = |id: &str| TokenScope::Device {
            device_id: DeviceId::new(id).unwrap(),
        };
        let robot = make_token(&*store, "robot-7", device("robot-7")).await;
        let other = make_token(&*store, "robot-8", device("robot-8")).await;
        edit(&mut config);
        let state = AppState::new(Arc::clone(&store), blobs, &config);
        Self {
            app: rewind_server::router(state),
            dir,
            store,
            admin,
            responder,
            viewer,
            device: robot,
            other_device: other,
        }
    }

    /// Which backend this server runs on.
    pub(crate) fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Sends `req` with `token` as the bearer token (none when empty).
    pub(crate) async fn request_as(
        &self,
        token: &str,
        mut req: Request<Body>,
    ) -> (StatusCode, Value) {
        if !token.is_empty() {
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        send(self.app.clone(), req).await
    }

    /// `GET` as the viewer.
    pub(crate) async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.get_as(&self.viewer, uri).await
    }

    /// `GET` with a given token.
    pub(crate) async fn get_as(&self, token: &str, uri: &str) -> (StatusCode, Value) {
        self.request_as(token, Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// `POST` a JSON body as the responder.
    pub(crate) async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.post_as(&self.responder, uri, body).await
    }

    /// `POST` a JSON body with a given token.
    pub(crate) async fn post_as(&self, token: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.request_as(token, req).await
    }

    /// Uploads a bundle with robot-7's device token.
    pub(crate) async fn upload(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.upload_as(&self.device, bytes).await
    }

    /// Uploads a bundle with a given token.
    pub(crate) async fn upload_as(&self, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        upload_to(self.app.clone(), token.to_owned(), bytes).await
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
pub(crate) async fn upload_to(app: Router, token: String, bytes: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post("/api/v1/bundles")
        .header("content-type", "application/zip")
        .header("authorization", format!("Bearer {token}"))
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

/// A valid bundle from robot-7 with one CPU series of `n` samples.
pub(crate) fn bundle(n: usize) -> Vec<u8> {
    bundle_from("robot-7", "CPU saturated", 0, n)
}

/// A valid bundle from `device` for `rule`, its trigger `offset_ms` later
/// than [`bundle`]'s, with `n` CPU samples.
pub(crate) fn bundle_from(device: &str, rule: &str, offset_ms: i64, n: usize) -> Vec<u8> {
    let t = |ms: i64| Timestamp::from_unix_millis(1_795_428_000_000 + offset_ms + ms);
    let trigger = Trigger {
        rule: rule.into(),
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
    let device = DeviceId::new(device).unwrap();
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
