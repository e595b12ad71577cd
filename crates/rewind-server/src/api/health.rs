//! `GET /healthz`: is the server up and its database reachable.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};

use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let storage = state.store().backend();
    let version = env!("CARGO_PKG_VERSION");
    match state.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "version": version, "storage": storage})),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            let body = json!({"status": "unavailable", "version": version, "storage": storage});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
