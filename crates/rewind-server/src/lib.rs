//! The Rewind server: takes incident bundles from agents over HTTP, checks
//! them, keeps the bundle files and stores incidents (SQLite or PostgreSQL
//! through [`rewind_store`]), serves the `/api/v1` JSON API and the embedded
//! dashboard.
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
mod config;
mod error;
mod ingest;
mod state;
mod ui;

pub use config::ServerConfig;
pub use error::{ApiError, Error};
pub use state::AppState;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// The whole HTTP surface: API, health check and dashboard.
pub fn router(state: AppState) -> Router {
    let body_limit = state.max_body_bytes();
    api::router()
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(ui::serve)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Opens storage, then serves on `listener` until `shutdown` completes.
///
/// # Errors
/// [`Error`] when the state directory or the database cannot be opened, or
/// the listener fails.
pub async fn launch_with_listener(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let state = AppState::open(&config).await?;
    let addr = listener.local_addr().map_err(Error::Listen)?;
    tracing::info!(%addr, storage = state.store().backend(), "rewind server listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Listen)
}
