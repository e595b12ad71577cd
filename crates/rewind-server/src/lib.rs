//! The Rewind server: takes incident bundles, live samples and deploy
//! events from agents and CI, turns bundles into incidents that people work
//! through an explicit lifecycle, and serves the `/api/v1` JSON API, a live
//! WebSocket stream, Prometheus metrics and the embedded dashboard.
//!
//! - Storage: [`rewind_store`] (SQLite or PostgreSQL); bundle files in a
//!   content-addressed blob store ([`blobs`]: a directory or S3).
//! - Access: every route but `/healthz` and `/readyz` needs a token
//!   ([`auth`]); roles viewer < responder < admin, and device tokens that may
//!   only ingest for their own device.
//! - The OpenAPI document is generated from the handlers ([`openapi`]).
//!
//! Tests build the router with [`router`] and drive it without a port
//! (`tower::ServiceExt::oneshot`), or run the real server on `127.0.0.1:0`
//! with [`launch_with_listener`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = rewind_server::ServerConfig::new("./state".into());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! rewind_server::launch_with_listener(config, listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod api;
pub mod auth;
pub mod blobs;
mod config;
mod error;
pub mod export;
mod ingest;
pub mod metrics;
mod regress;
mod state;
pub mod tls;
mod ui;

pub use api::openapi;
pub use config::{RegressionSettings, ServerConfig, TlsFiles};
pub use error::{ApiError, Error};
pub use regress::prometheus::{PrometheusConfig, PrometheusQuery};
pub use state::AppState;

use std::{
    future::{Future, IntoFuture as _},
    time::Instant,
};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::metrics::RouteLabel;

/// The whole HTTP surface: API, health checks, metrics and dashboard.
pub fn router(state: AppState) -> Router {
    let json_limit = state.max_json_bytes();
    let (api, _doc) = api::router();
    api.layer(axum::extract::DefaultBodyLimit::max(json_limit))
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(ui::serve)
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Counts and times every request by route template and status class.
async fn count_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let label = RouteLabel {
        method,
        route,
        status: format!("{}xx", res.status().as_u16() / 100),
    };
    let metrics = state.metrics();
    metrics.requests.get_or_create(&label).inc();
    metrics
        .request_seconds
        .get_or_create(&label)
        .observe(started.elapsed().as_secs_f64());
    res
}

/// Opens storage, then serves on `listener` until `shutdown` completes.
/// In-flight requests finish (within a grace period) before it returns.
///
/// # Errors
/// [`Error`] when the TLS files, the state directory, the database or the
/// blob store cannot be opened, or the listener fails.
pub async fn launch_with_listener(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    launch(config, listener, shutdown, || {}).await
}

/// [`launch_with_listener`], calling `ready` once everything is open and
/// the server is about to answer: the CLI prints its URL there, so a
/// server that cannot start never claims to be listening.
///
/// # Errors
/// As [`launch_with_listener`].
pub async fn launch(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> Result<(), Error> {
    // Bad TLS files stop the server before anything is opened.
    let tls = match &config.tls {
        Some(files) => Some(tls::load(files).await?),
        None => None,
    };
    let state = AppState::open(&config).await?;
    let shutdown = announce(&state, shutdown);
    let addr = listener.local_addr().map_err(Error::Listen)?;
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        storage = state.store().backend(),
        blobs = state.blobs().describe(),
        "rewind server listening"
    );
    ready();
    match tls {
        Some(tls) => tls::serve(listener, tls, router(state), shutdown).await,
        None => serve_plain(state, listener, shutdown).await,
    }
}

/// Serves `state` over plain HTTP on `listener` until `shutdown` completes
/// (benchmarks and tests that build their own [`AppState`]).
///
/// # Errors
/// [`Error::Listen`] when serving fails.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let shutdown = announce(&state, shutdown);
    serve_plain(state, listener, shutdown).await
}

/// Plain HTTP with graceful shutdown bounded by [`tls::SHUTDOWN_GRACE`], as
/// the TLS path is: a client that never finishes cannot hold the server.
async fn serve_plain(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let stopping = state.clone();
    let serving = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .into_future();
    tokio::select! {
        done = serving => done.map_err(Error::Listen),
        () = async {
            stopping.stopping().await;
            tokio::time::sleep(tls::SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(
                grace_secs = tls::SHUTDOWN_GRACE.as_secs(),
                "requests still in flight after the shutdown grace period; stopping anyway"
            );
            Ok(())
        }
    }
}

/// `shutdown`, then telling the WebSocket streams so they close and let
/// graceful shutdown finish.
fn announce(
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    let state = state.clone();
    async move {
        shutdown.await;
        state.begin_shutdown();
    }
}
