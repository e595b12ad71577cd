//! The blob store on a real S3 wire protocol: moto's server mode
//! (`moto_server`, PyPI `moto[server]`) started by each test on a free port
//! and killed when the test ends. Without moto each test says so loudly and
//! returns: install it with `python3 -m pip install 'moto[server]'`
//! (`scripts/test` does, from `integrations/s3/requirements.txt`).
//!
//! The store is configured with explicit options, never through the test
//! process's environment, so these tests are safe under `cargo test` too.

use std::{
    io::Read as _,
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use rewind_model::{DeviceId, Role, TokenScope};
use rewind_server::{AppState, ServerConfig, blobs::Blobs};
use tower::ServiceExt as _;

use crate::{bundle, make_token, send, upload_to};

/// A `moto_server` child process, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
    log: tempfile::NamedTempFile,
}

impl Moto {
    /// Starts moto (`moto_server`, else `python3 -m moto.server`) and
    /// waits until it answers; `None` (after a loud skip line naming `test`)
    /// when moto is not installed.
    async fn start(test: &str) -> Option<Self> {
        let mut why = Vec::new();
        for program in [&["moto_server"][..], &["python3", "-m", "moto.server"]] {
            match Self::start_with(program).await {
                Ok(moto) => return Some(moto),
                Err(e) => why.push(e),
            }
        }
        eprintln!(
            "\n*** SKIPPED {test}: moto is not installed ({}); install with \
             python3 -m pip install 'moto[server]' ***\n",
            why.join("; ")
        );
        None
    }

    /// Runs `program` on a free port; `Err` when it cannot run or exits
    /// before answering (a pyenv shim with nothing behind it exits at once).
    async fn start_with(program: &[&str]) -> Result<Self, String> {
        let name = program.join(" ");
        let log = tempfile::NamedTempFile::new().unwrap();
        let port = free_port();
        let child = Command::new(program[0])
            .args(&program[1..])
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        let mut moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = moto.child.try_wait().unwrap() {
                let said = moto.log_text();
                let last = said.trim().lines().last().unwrap_or("").to_owned();
                return Err(format!("{name} exited ({status}): {last}"));
            }
            if http.get(&moto.endpoint).send().await.is_ok() {
                return Ok(moto);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} did not answer on {} within 30 s: {}",
                moto.endpoint,
                moto.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates a bucket (moto accepts a plain, unsigned `PUT /bucket`).
    async fn create_bucket(&self, bucket: &str) {
        let res = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "create bucket: {}", res.status());
    }

    /// The object under `bucket/key`, `None` if there is none. Read
    /// through a store at the bucket's root: a check of where the prefix
    /// put it (moto refuses unsigned reads of objects).
    async fn object(&self, bucket: &str, key: &str) -> Option<Bytes> {
        let root = self.blobs(&format!("s3://{bucket}"));
        match root.get(key).await {
            Ok(bytes) => Some(bytes),
            Err(e) if e.is_not_found() => None,
            Err(e) => panic!("GET {bucket}/{key}: {e}"),
        }
    }

    /// The options a deployment would give as `AWS_*` variables.
    fn options(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn blobs(&self, url: &str) -> Blobs {
        Blobs::from_url_with(url, self.options()).unwrap()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        let _ = self.log.reopen().unwrap().read_to_string(&mut text);
        text
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn blobs_round_trip_on_s3_by_content_under_the_prefix() {
    let Some(moto) = Moto::start("blobs_round_trip_on_s3_by_content_under_the_prefix").await else {
        return;
    };
    moto.create_bucket("rewind-it").await;
    let blobs = moto.blobs("s3://rewind-it/fleet-a/bundles");
    assert_eq!(blobs.describe(), "s3://rewind-it/fleet-a/bundles");
    blobs.ping().await.unwrap();

    let sha = "cd".repeat(32);
    let key = Blobs::key_for(&sha);
    blobs.put(&key, Bytes::from_static(b"one")).await.unwrap();
    // Same key again: kept as it was (content addressing), not rewritten.
    blobs.put(&key, Bytes::from_static(b"two")).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), Bytes::from_static(b"one"));

    // Really in the bucket, under the prefix, at the documented key.
    let raw = format!("fleet-a/bundles/sha256/cd/{sha}.zip");
    assert_eq!(
        moto.object("rewind-it", &raw).await,
        Some(Bytes::from_static(b"one"))
    );
    // A trailing slash names the same prefix.
    let slash = moto.blobs("s3://rewind-it/fleet-a/bundles/");
    assert_eq!(slash.get(&key).await.unwrap(), Bytes::from_static(b"one"));
    // No prefix: keys at the bucket's root.
    let root = moto.blobs("s3://rewind-it");
    root.ping().await.unwrap();
    root.put(&key, Bytes::from_static(b"root")).await.unwrap();
    assert_eq!(
        moto.object("rewind-it", &format!("sha256/cd/{sha}.zip"))
            .await,
        Some(Bytes::from_static(b"root"))
    );

    let missing = blobs.get("sha256/00/missing.zip").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(
        missing
            .to_string()
            .contains("s3://rewind-it/fleet-a/bundles"),
        "the error names the store: {missing}"
    );
}

#[tokio::test]
async fn a_missing_bucket_is_not_ready_and_says_so() {
    let Some(moto) = Moto::start("a_missing_bucket_is_not_ready_and_says_so").await else {
        return;
    };
    moto.create_bucket("rewind-it").await;
    let wrong = moto.blobs("s3://rewind-typo/bundles");
    let err = wrong.ping().await.unwrap_err().to_string();
    eprintln!("a missing bucket: {err}");
    assert!(err.contains("s3://rewind-typo/bundles"), "{err}");
    assert!(err.contains("NoSuchBucket"), "{err}");
    // Writing there fails too, rather than pretending.
    let put = wrong
        .put(&Blobs::key_for(&"ef".repeat(32)), Bytes::from_static(b"x"))
        .await;
    assert!(put.is_err(), "{put:?}");
}

#[tokio::test]
async fn a_stopped_store_fails_the_probe_within_the_timeout() {
    let Some(mut moto) = Moto::start("a_stopped_store_fails_the_probe_within_the_timeout").await
    else {
        return;
    };
    moto.create_bucket("rewind-it").await;
    let blobs = moto.blobs("s3://rewind-it/p");
    blobs.ping().await.unwrap();
    moto.stop();
    let started = Instant::now();
    let err = blobs.ping().await.unwrap_err().to_string();
    eprintln!("a stopped store: {err} (after {:?})", started.elapsed());
    assert!(
        started.elapsed() < rewind_server::blobs::PING_TIMEOUT + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains("s3://rewind-it/p"), "{err}");
}

/// A whole server (SQLite in a temp directory) whose bundles live in moto.
async fn server_on(blobs: Blobs) -> (Router, tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rewind.db").display());
    let store = rewind_store::open(&url).await.unwrap();
    let mut config = ServerConfig::new(dir.path().to_path_buf());
    config.rate_limit_per_second = 10_000;
    config.rate_limit_burst = 10_000;
    let viewer = make_token(&*store, "victor", TokenScope::User { role: Role::Viewer }).await;
    let device = TokenScope::Device {
        device_id: DeviceId::new("robot-7").unwrap(),
    };
    let device = make_token(&*store, "robot-7", device).await;
    let state = AppState::new(Arc::clone(&store), blobs, &config);
    (rewind_server::router(state), dir, viewer, device)
}

#[tokio::test]
async fn a_server_on_s3_ingests_serves_and_reports_readiness() {
    let Some(mut moto) = Moto::start("a_server_on_s3_ingests_serves_and_reports_readiness").await
    else {
        return;
    };
    moto.create_bucket("rewind-it").await;
    let (app, dir, viewer, device) = server_on(moto.blobs("s3://rewind-it/prod")).await;

    let (status, ready) = send(app.clone(), get("/readyz", "")).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["blobs"], "ok");

    let zip = bundle(50);
    let (status, created) = upload_to(app.clone(), device.clone(), zip.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, again) = upload_to(app.clone(), device, zip.clone()).await;
    assert_eq!(status, StatusCode::OK, "a retry is idempotent: {again}");

    // The detail reads the bundle back from the bucket (and re-validates it).
    let id = created["id"].as_str().unwrap();
    let (status, detail) = send(
        app.clone(),
        get(&format!("/api/v1/incidents/{id}"), &viewer),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(
        detail["series"][0]["name"], "cpu.total.busy_pct",
        "{detail}"
    );
    let bundle_id = detail["bundles"][0]["bundle_id"].as_str().unwrap();
    let sha = detail["bundles"][0]["sha256"].as_str().unwrap();

    let res = app
        .clone()
        .oneshot(get(&format!("/api/v1/bundles/{bundle_id}"), &viewer))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, zip, "the download is the upload, byte for byte");

    // In the bucket, not on local disk.
    let key = format!("prod/{}", Blobs::key_for(sha));
    assert_eq!(moto.object("rewind-it", &key).await, Some(Bytes::from(zip)));
    assert!(!dir.path().join("bundles").exists());

    moto.stop();
    let started = Instant::now();
    let (status, ready) = send(app, get("/readyz", "")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["blobs"], "unreachable", "{ready}");
    assert_eq!(ready["database"], "ok", "{ready}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "readiness must answer promptly, took {:?}",
        started.elapsed()
    );
}

fn get(uri: &str, token: &str) -> Request<Body> {
    let mut req = Request::get(uri);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}
