//! The `/api/v1` routes and `/healthz`, one module per resource.

mod bundles;
mod health;
mod incidents;

use axum::Router;

use crate::AppState;

/// Every API route.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(bundles::router())
        .merge(incidents::router())
}
