//! Uploading spooled bundles to the server, with backoff and jitter.
//!
//! The protocol is idempotent: a bundle keeps its id, and the server answers
//! `200` with the existing incident when the same id and bytes arrive again,
//! so a retry after a lost answer stores nothing twice. A bundle is deleted
//! from the spool only once the server has confirmed it.
//!
//! Every request carries the agent's token (`Authorization: Bearer`). A 401
//! or 403 is the operator's to fix (a missing, revoked or wrong token), so the
//! bundle stays in the spool and is sent again once the token works.
//! At start the agent also registers its identity with the server
//! ([`register_loop`]), best effort.

use std::{
    hash::{BuildHasher as _, RandomState},
    path::Path,
    time::Duration,
};

use rewind_model::{ApiErrorBody, Device, DeviceId, DeviceIdentity, IncidentSummary};

use crate::{Error, Result, Spool, config::Token};

/// What an operator should do about a 401/403.
pub(crate) fn token_fix(device: &str) -> String {
    format!(
        "give the agent a device token: `rewind token create --device {device}` on the server, \
         then `token:` in the agent config or REWIND_TOKEN"
    )
}

/// What the server said to one upload.
#[derive(Debug)]
pub enum UploadOutcome {
    /// Stored (or stored before): the incident it became.
    Stored(Box<IncidentSummary>),
    /// Refused for the token (401/403): kept, and sent again later, since
    /// the operator fixes the token rather than the bundle.
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// The server's error message and hint.
        message: String,
    },
    /// Refused for good (a 4xx other than 401/403/408/429): retrying cannot help.
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error message.
        message: String,
    },
    /// Not stored this time (network error, 5xx, 408, 429): try again later.
    Retry(String),
    /// The file vanished before it was read (evicted, rotated out or
    /// quarantined meanwhile): nothing to send.
    Gone,
}

/// Sends bundles to `POST {server}/api/v1/bundles`.
#[derive(Debug, Clone)]
pub struct Uploader {
    client: reqwest::Client,
    base: String,
    url: String,
    token: Option<Token>,
    /// This agent's device, named in errors about its token.
    device: Option<DeviceId>,
}

impl Uploader {
    /// An uploader for the server at `base_url` (e.g. `http://127.0.0.1:8420`).
    ///
    /// # Errors
    /// [`Error::ServerUrl`] when the URL is not http(s).
    pub fn new(base_url: &str) -> Result<Self> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::ServerUrl {
                url: base_url.to_owned(),
                reason: "use http://HOST:PORT or https://HOST".into(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("rewind-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::ServerUrl {
                url: base_url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client,
            base: base.to_owned(),
            url: format!("{base}/api/v1/bundles"),
            token: None,
            device: None,
        })
    }

    /// Sends `token` as `Authorization: Bearer` on every request.
    #[must_use]
    pub fn with_token(mut self, token: Option<Token>) -> Self {
        self.token = token;
        self
    }

    /// Names `device` in errors about the token.
    #[must_use]
    pub fn for_device(mut self, device: DeviceId) -> Self {
        self.device = Some(device);
        self
    }

    /// The server's base URL, without a trailing `/`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t.secret()),
            None => req,
        }
    }

    /// Registers this device's identity (`POST /api/v1/devices/{id}/register`).
    ///
    /// # Errors
    /// The outcome to act on: [`UploadOutcome::Unauthorized`],
    /// [`UploadOutcome::Refused`] or [`UploadOutcome::Retry`].
    pub async fn register(
        &self,
        device: &DeviceId,
        identity: &DeviceIdentity,
    ) -> std::result::Result<Device, UploadOutcome> {
        let url = format!("{}/api/v1/devices/{device}/register", self.base);
        let sent = self
            .authorized(self.client.post(&url))
            .json(identity)
            .send()
            .await;
        let res = sent.map_err(|e| UploadOutcome::Retry(format!("server unreachable: {e}")))?;
        if res.status().is_success() {
            return res
                .json::<Device>()
                .await
                .map_err(|e| UploadOutcome::Retry(format!("unreadable server answer: {e}")));
        }
        Err(refusal(res).await)
    }

    /// Uploads one bundle file.
    pub async fn upload(&self, path: &Path) -> UploadOutcome {
        let body = match tokio::fs::read(path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return UploadOutcome::Gone,
            Err(e) => return UploadOutcome::Retry(format!("cannot read {}: {e}", path.display())),
        };
        let sent = self
            .authorized(self.client.post(&self.url))
            .header(reqwest::header::CONTENT_TYPE, "application/zip")
            .body(body)
            .send()
            .await;
        let res = match sent {
            Ok(r) => r,
            Err(e) => return UploadOutcome::Retry(format!("server unreachable: {e}")),
        };
        let status = res.status();
        if status.is_success() {
            return match res.json::<IncidentSummary>().await {
                Ok(s) => UploadOutcome::Stored(Box::new(s)),
                Err(e) => UploadOutcome::Retry(format!("unreadable server answer: {e}")),
            };
        }
        refusal(res).await
    }

    /// Uploads every waiting bundle, oldest first. Stops at the first one
    /// that must be retried and returns `false`; `true` when the spool is empty.
    /// `on_stored` is called with each incident the server stored. Each
    /// bundle is marked in flight while it is sent, so the spool's eviction
    /// and rotation leave it alone.
    pub async fn drain(&self, spool: &Spool, mut on_stored: impl FnMut(&IncidentSummary)) -> bool {
        for path in spool.pending() {
            let Some(_in_flight) = spool.uploading(&path) else {
                continue; // gone since listed
            };
            match self.upload(&path).await {
                UploadOutcome::Stored(incident) => {
                    tracing::info!(incident = %incident.id, bundle = %path.display(), "bundle uploaded");
                    spool.done(&path);
                    on_stored(&incident);
                }
                UploadOutcome::Unauthorized { status, message } => {
                    tracing::error!(
                        status,
                        %message,
                        bundle = %path.display(),
                        fix = %token_fix(self.device.as_ref().map_or("<device-id>", DeviceId::as_str)),
                        "server refused the agent's token; the bundle stays in the spool and is sent again later"
                    );
                    return false;
                }
                UploadOutcome::Refused { status, message } => {
                    tracing::error!(status, %message, bundle = %path.display(), "server refused bundle; moved to rejected/");
                    spool.reject(&path);
                }
                UploadOutcome::Retry(reason) => {
                    tracing::warn!(%reason, bundle = %path.display(), "upload failed; will retry");
                    return false;
                }
                UploadOutcome::Gone => {
                    tracing::debug!(bundle = %path.display(), "bundle left the spool before its upload");
                }
            }
        }
        true
    }
}

/// What a non-2xx answer means for the agent.
async fn refusal(res: reqwest::Response) -> UploadOutcome {
    let status = res.status();
    let message = match res.json::<ApiErrorBody>().await {
        Ok(b) => match b.error.hint {
            Some(hint) => format!("{} ({}); hint: {hint}", b.error.message, b.error.code),
            None => format!("{} ({})", b.error.message, b.error.code),
        },
        Err(_) => status.to_string(),
    };
    match status.as_u16() {
        401 | 403 => UploadOutcome::Unauthorized {
            status: status.as_u16(),
            message,
        },
        408 | 429 => UploadOutcome::Retry(format!("server answered {status}: {message}")),
        _ if status.is_client_error() => UploadOutcome::Refused {
            status: status.as_u16(),
            message,
        },
        _ => UploadOutcome::Retry(format!("server answered {status}: {message}")),
    }
}

/// Registers the device once at start, retrying in the background until
/// the server has it. Gives up (with a warning) only on a refusal that
/// retrying cannot fix, such as a server without the route.
pub(crate) async fn register_loop(
    uploader: Uploader,
    device: DeviceId,
    identity: DeviceIdentity,
    mut backoff: Backoff,
) {
    loop {
        match uploader.register(&device, &identity).await {
            Ok(d) => {
                tracing::info!(device = %d.device_id, "registered with the server");
                return;
            }
            Err(UploadOutcome::Unauthorized { status, message }) => {
                tracing::error!(
                    status,
                    %message,
                    fix = %token_fix(device.as_str()),
                    "the server refused the agent's token; registration is retried"
                );
            }
            Err(UploadOutcome::Refused { status, message }) => {
                tracing::warn!(status, %message, "the server refused the device registration; not retried");
                return;
            }
            Err(other) => tracing::debug!(outcome = ?other, "device registration failed; retrying"),
        }
        tokio::time::sleep(backoff.next()).await;
    }
}

/// Waits before the next retry: a ceiling that starts at `initial` and
/// doubles after each failure up to `max`, and a wait drawn uniformly from
/// the upper half of it ("equal jitter"): never less than half the ceiling,
/// so a failing server is not hammered, and never in lockstep across a fleet
/// that lost the same server at the same moment.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    ceiling: Duration,
    /// xorshift64 state, seeded from the process's random hasher keys.
    rng: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Backoff {
    /// Waits starting at `initial`, at most `max`.
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        let seed = RandomState::new().hash_one(std::process::id());
        Self {
            initial,
            max: max.max(initial),
            ceiling: initial,
            rng: seed | 1,
        }
    }

    /// Back to the first wait, after a pass that succeeded.
    pub(crate) fn reset(&mut self) {
        self.ceiling = self.initial;
    }

    /// The wait before the next attempt.
    pub(crate) fn next(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(self.max);
        jittered(ceiling, self.unit())
    }

    /// A pseudo-random number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        #[allow(clippy::cast_precision_loss)] // 53 bits are exact in an f64
        let unit = (x >> 11) as f64 / (1_u64 << 53) as f64;
        unit
    }
}

/// The wait for `ceiling` given `unit` in `[0, 1)`: within `[ceiling / 2, ceiling)`.
fn jittered(ceiling: Duration, unit: f64) -> Duration {
    ceiling.mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::{Notify, mpsc};

    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling_with_jitter_in_its_upper_half() {
        let mut b = Backoff::default();
        let ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60];
        for _after_a_reset in 0..2 {
            let waits: Vec<Duration> = (0..ceilings.len()).map(|_| b.next()).collect();
            for (wait, ceiling) in waits.iter().zip(ceilings) {
                let c = Duration::from_secs(ceiling);
                assert!(
                    *wait >= c / 2 && *wait <= c,
                    "{wait:?} outside [{ceiling}/2, {ceiling}] s"
                );
            }
            assert!(
                waits[6..].windows(2).any(|w| w[0] != w[1]),
                "jitter varies the waits: {waits:?}"
            );
            b.reset();
        }
    }

    #[test]
    fn jitter_spans_the_upper_half_of_the_ceiling() {
        let c = Duration::from_secs(10);
        assert_eq!(jittered(c, 0.0), Duration::from_secs(5));
        assert_eq!(jittered(c, 0.5), Duration::from_millis(7500));
        assert!(jittered(c, 0.999_999) <= c);
        assert_eq!(jittered(c, 7.0), c, "out-of-range input is clamped");
    }

    #[test]
    fn two_agents_do_not_wait_in_lockstep() {
        let (mut a, mut b) = (Backoff::default(), Backoff::default());
        let same = (0..20).filter(|_| a.next() == b.next()).count();
        assert!(same < 20, "independently seeded");
    }

    #[test]
    fn refuses_non_http_urls() {
        assert!(Uploader::new("ftp://x").is_err());
        assert!(Uploader::new("http://127.0.0.1:1/").is_ok());
    }

    #[tokio::test]
    async fn a_bundle_gone_before_it_is_read_is_skipped() {
        let up = Uploader::new("http://127.0.0.1:9").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let outcome = up.upload(&dir.path().join("incident_1.zip")).await;
        assert!(matches!(outcome, UploadOutcome::Gone), "{outcome:?}");
    }

    /// A server that answers 503 once the test lets it, and says when a
    /// request arrived.
    async fn stalling_server() -> (String, mpsc::Receiver<()>, Arc<Notify>) {
        use axum::{Router, http::StatusCode, routing::post};
        let (arrived, rx) = mpsc::channel(8);
        let release = Arc::new(Notify::new());
        let gate = Arc::clone(&release);
        let app = Router::new().route(
            "/api/v1/bundles",
            post(move || {
                let (arrived, gate) = (arrived.clone(), Arc::clone(&gate));
                async move {
                    arrived.send(()).await.ok();
                    gate.notified().await;
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (url, rx, release)
    }

    #[tokio::test]
    async fn eviction_during_an_upload_leaves_the_bundle_in_flight_alone() {
        use rewind_model::Severity;
        let dir = tempfile::tempdir().unwrap();
        let budget = crate::spool::Budget {
            max_bytes: u64::MAX,
            max_bundles: 1,
        };
        let spool = Spool::open(dir.path().to_path_buf())
            .unwrap()
            .with_budget(budget);
        let oldest = crate::spool::tests::bundle(dir.path(), "a", Severity::Info, 0);
        let newer = crate::spool::tests::bundle(dir.path(), "b", Severity::Critical, 1);
        let (url, mut arrived, release) = stalling_server().await;
        let up = Uploader::new(&url).unwrap();
        let sending = spool.clone();
        let drain = tokio::spawn(async move { up.drain(&sending, |_| {}).await });
        arrived.recv().await.unwrap();
        let evicting = spool.clone();
        let done = tokio::task::spawn_blocking(move || evicting.enforce_budget())
            .await
            .unwrap();
        assert!(
            done.evicted.is_empty() && done.over_budget,
            "the info bundle is in flight, the other is critical: {done:?}"
        );
        release.notify_one();
        assert!(!drain.await.unwrap(), "503: retry later");
        let done = spool.enforce_budget();
        assert_eq!(done.evicted, [oldest], "no longer in flight");
        assert_eq!(spool.pending(), [newer]);
    }

    /// A server that remembers the `Authorization` headers it saw and
    /// accepts only `Bearer rwd_good`: bundles get 401 otherwise (and 422
    /// with it), registrations the device back.
    async fn guarded_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use axum::{
            Json, Router,
            http::{HeaderMap, StatusCode},
            routing::post,
        };
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let check = {
            let seen = Arc::clone(&seen);
            move |headers: &HeaderMap| {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(auth.clone());
                auth == "Bearer rwd_good"
            }
        };
        let error = |status: StatusCode, code: &str| {
            (
                status,
                Json(
                    serde_json::json!({"error": {"code": code, "message": "no", "hint": "fix it"}}),
                ),
            )
        };
        let c1 = check.clone();
        let app = Router::new()
            .route(
                "/api/v1/bundles",
                post(move |h: HeaderMap| async move {
                    if c1(&h) {
                        error(StatusCode::UNPROCESSABLE_ENTITY, "bundle_manifest")
                    } else {
                        error(StatusCode::UNAUTHORIZED, "unauthorized")
                    }
                }),
            )
            .route(
                "/api/v1/devices/{id}/register",
                post(
                    move |h: HeaderMap, Json(identity): Json<DeviceIdentity>| async move {
                        if !check(&h) {
                            return Err(error(StatusCode::FORBIDDEN, "wrong_device"));
                        }
                        Ok(Json(Device {
                            device_id: DeviceId::new("robot-7").unwrap(),
                            identity,
                            first_seen_at: rewind_model::Timestamp::from_unix_millis(0),
                            last_seen_at: rewind_model::Timestamp::from_unix_millis(0),
                        }))
                    },
                ),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (url, seen)
    }

    #[tokio::test]
    async fn a_refused_token_keeps_the_bundle_for_later_and_other_refusals_reject_it() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().to_path_buf()).unwrap();
        std::fs::write(spool.dir().join("incident_1.zip"), b"zip").unwrap();
        let (url, seen) = guarded_server().await;
        let device = DeviceId::new("robot-7").unwrap();

        let bad = Uploader::new(&url)
            .unwrap()
            .with_token(Some(Token::new("rwd_bad")))
            .for_device(device.clone());
        let outcome = bad.upload(&spool.pending()[0]).await;
        match &outcome {
            UploadOutcome::Unauthorized { status, message } => {
                assert_eq!(*status, 401);
                assert!(message.contains("hint: fix it"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            !bad.drain(&spool, |_| panic!("nothing stored")).await,
            "retry later"
        );
        assert_eq!(spool.pending().len(), 1, "kept in the spool, not rejected");
        assert!(!dir.path().join("rejected").join("incident_1.zip").exists());

        let good = Uploader::new(&url)
            .unwrap()
            .with_token(Some(Token::new("rwd_good")));
        assert!(good.drain(&spool, |_| panic!("nothing stored")).await);
        assert!(
            spool.pending().is_empty(),
            "a 422 is final: moved to rejected/"
        );
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            ["Bearer rwd_bad", "Bearer rwd_bad", "Bearer rwd_good"]
        );
    }

    #[tokio::test]
    async fn registration_sends_the_identity_and_reports_a_refused_token() {
        let (url, seen) = guarded_server().await;
        let device = DeviceId::new("robot-7").unwrap();
        let identity = DeviceIdentity {
            fleet: Some("bots".into()),
            agent_version: Some("1.0".into()),
            ..DeviceIdentity::default()
        };
        let none = Uploader::new(&url).unwrap();
        assert!(matches!(
            none.register(&device, &identity).await,
            Err(UploadOutcome::Unauthorized { status: 403, .. })
        ));
        let good = Uploader::new(&url)
            .unwrap()
            .with_token(Some(Token::new("rwd_good")));
        let registered = good.register(&device, &identity).await.unwrap();
        assert_eq!(registered.identity, identity);
        assert_eq!(seen.lock().unwrap().as_slice(), ["", "Bearer rwd_good"]);
        // The background loop ends once registered.
        let looped = register_loop(good, device, identity, Backoff::default());
        tokio::time::timeout(Duration::from_secs(5), looped)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_server_means_retry_and_the_bundle_stays() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().to_path_buf()).unwrap();
        std::fs::write(spool.dir().join("incident_1.zip"), b"zip").unwrap();
        // Port 9 (discard) on loopback: nothing listens there.
        let up = Uploader::new("http://127.0.0.1:9").unwrap();
        assert!(!up.drain(&spool, |_| panic!("nothing can be stored")).await);
        assert_eq!(spool.pending().len(), 1);
    }
}
