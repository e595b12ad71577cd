//! The `/api/v1` routes and `/healthz`, one module per resource.

mod bundles;
mod health;
mod incidents;

use axum::{
    Router,
    http::{Method, StatusCode, Uri},
};

use crate::{ApiError, AppState};

/// Every API route.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(bundles::router())
        .merge(incidents::router())
}

/// A route that exists, called with a method it does not take.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
    .hint("see docs/api.md for the methods each route takes")
}
