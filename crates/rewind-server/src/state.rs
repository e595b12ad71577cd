//! What every handler shares.

use std::{collections::HashMap, num::NonZeroU32, sync::Arc, time::Duration};

use axum::http::StatusCode;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rewind_bundle::Limits;
use rewind_model::{DeviceId, LiveEvent, TokenId, TokenInfo};
use rewind_store::Store;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

use crate::{
    ApiError, Error, ServerConfig,
    blobs::Blobs,
    metrics::Metrics,
    regress::{self, Feed, WeakState},
};

/// How many live events a slow stream client may fall behind before it is
/// dropped (with a close reason) instead of slowing everyone else.
pub(crate) const LIVE_BACKLOG: usize = 1024;

/// Bundles received at once; more wait (bounded) for a slot, so memory stays
/// below this many times the bundle size limit.
pub(crate) const UPLOAD_SLOTS: usize = 8;

/// Shared handler state: storage, blobs, limits, the live hub and metrics.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Arc<dyn Store>,
    blobs: Blobs,
    limits: Limits,
    max_json_bytes: usize,
    secure_cookies: bool,
    live: broadcast::Sender<LiveEvent>,
    metrics: Metrics,
    limiter: DefaultKeyedRateLimiter<TokenId>,
    uploads: Arc<Semaphore>,
    stopping: watch::Sender<bool>,
    revoked: broadcast::Sender<TokenId>,
    feed: Feed,
    /// Each device's fleet, as last registered (a cache over the store).
    fleets: std::sync::RwLock<HashMap<DeviceId, Option<String>>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.backend())
            .field("blobs", &self.blobs.describe())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Creates the state directory, opens (and migrates) the database and
    /// the blob store.
    ///
    /// # Errors
    /// [`Error::StateDir`], [`Error::Store`] or [`Error::Blobs`].
    pub async fn open(config: &ServerConfig) -> Result<Self, Error> {
        fs_err::create_dir_all(&config.state_dir).map_err(Error::StateDir)?;
        let store = rewind_store::open(&config.database_url()).await?;
        let blobs = match &config.blob_url {
            Some(url) => Blobs::from_url(url)?,
            None => Blobs::local(&config.bundle_dir())?,
        };
        Ok(Self::new(store, blobs, config))
    }

    /// State over an already-open store and blob store (tests use this).
    #[must_use]
    pub fn new(store: Arc<dyn Store>, blobs: Blobs, config: &ServerConfig) -> Self {
        let limits = Limits {
            max_bundle_bytes: config.max_bundle_bytes,
            ..Limits::default()
        };
        let per_second =
            NonZeroU32::new(config.rate_limit_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.rate_limit_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let (live, _) = broadcast::channel(LIVE_BACKLOG);
        let (feed, feed_rx) = Feed::channel();
        let inner = Arc::new(Inner {
            store,
            blobs,
            limits,
            max_json_bytes: config.max_json_bytes,
            secure_cookies: config.tls.is_some(),
            live,
            metrics: Metrics::new(),
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            uploads: Arc::new(Semaphore::new(UPLOAD_SLOTS)),
            stopping: watch::channel(false).0,
            revoked: broadcast::channel(64).0,
            feed: feed.clone(),
            fleets: std::sync::RwLock::default(),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            regress::start(&config.regression, &feed, feed_rx, WeakState::new(&inner));
        } else {
            tracing::warn!("no async runtime: the regression watch is not started");
        }
        Self { inner }
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// The device's fleet (from its registration; cached).
    pub(crate) async fn fleet_of(&self, id: &DeviceId) -> Option<String> {
        if let Ok(map) = self.inner.fleets.read()
            && let Some(fleet) = map.get(id)
        {
            return fleet.clone();
        }
        let fleet = match self.store().get_device(id).await {
            Ok(device) => device.identity.fleet,
            Err(_) => None,
        };
        self.remember_fleet(id, fleet.clone());
        fleet
    }

    /// Records a device's fleet after a registration.
    pub(crate) fn remember_fleet(&self, id: &DeviceId, fleet: Option<String>) {
        if let Ok(mut map) = self.inner.fleets.write() {
            map.insert(id.clone(), fleet);
        }
    }

    /// Whether shutdown has begun.
    pub(crate) fn is_stopping(&self) -> bool {
        *self.inner.stopping.borrow()
    }

    /// Where checked metric points, log lines and deploys go to be judged.
    pub(crate) fn feed(&self) -> &Feed {
        &self.inner.feed
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The bundle blob store.
    #[must_use]
    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// Limits applied to uploaded bundles.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Largest JSON request body accepted.
    #[must_use]
    pub fn max_json_bytes(&self) -> usize {
        self.inner.max_json_bytes
    }

    /// Whether session cookies are marked `Secure` (the server speaks TLS).
    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        self.inner.secure_cookies
    }

    /// The server's metrics.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Publishes a live event to every stream client (none listening is fine).
    pub fn publish(&self, event: LiveEvent) {
        let _ = self.inner.live.send(event);
    }

    /// A new subscription to live events.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live.subscribe()
    }

    /// Tells long-lived connections (the WebSocket streams) that the server
    /// is stopping, so they close with a reason instead of holding graceful
    /// shutdown open.
    pub fn begin_shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once [`AppState::begin_shutdown`] was called (at once if it was).
    pub async fn stopping(&self) {
        let mut rx = self.inner.stopping.subscribe();
        // An error means the sender is gone, which also means stopping.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Tells open streams that a token was revoked through the API, so they
    /// close at once (revocations made on the database directly, with
    /// `rewind token revoke`, are found by the periodic re-check).
    pub fn token_revoked(&self, id: TokenId) {
        let _ = self.inner.revoked.send(id);
    }

    /// Resolves when `id` is revoked through the API.
    pub async fn revoked(&self, id: TokenId) {
        let mut rx = self.inner.revoked.subscribe();
        loop {
            match rx.recv().await {
                Ok(gone) if gone == id => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Whether the token is still usable (not revoked, not expired): long
    /// connections check this now and then, so revoking a token also ends
    /// its open streams. A database error counts as usable (the stream is
    /// not cut because of a hiccup; the next check decides).
    pub async fn token_still_usable(&self, id: TokenId) -> bool {
        match self.inner.store.list_tokens().await {
            Ok(tokens) => tokens
                .iter()
                .any(|t| t.id == id && t.is_usable(rewind_model::Timestamp::now())),
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-check a stream's token");
                true
            }
        }
    }

    /// Waits for one of the [`UPLOAD_SLOTS`].
    pub(crate) async fn upload_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.inner.uploads).acquire_owned().await.ok()
    }

    /// Charges one request to the token's rate limit.
    pub(crate) fn rate_limit(&self, token: &TokenInfo) -> Result<(), ApiError> {
        match self.inner.limiter.check_key(&token.id) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                self.inner.metrics.rate_limited.inc();
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("token `{}` is over its request rate", token.name),
                )
                .hint(format!(
                    "retry after {} ms, or raise --rate-limit-per-second",
                    wait.max(Duration::from_millis(1)).as_millis()
                ))
                .retry_after(wait))
            }
        }
    }
}
