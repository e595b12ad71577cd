//! `GET /healthz` (the process answers) and `GET /readyz` (its database and
//! blob store answer too). Both are public: load balancers and
//! orchestrators call them without a token.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness: the server process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "`{\"status\": \"ok\", \"version\", \"storage\"}`"))
)]
async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "storage": state.store().backend(),
    }))
}

/// Readiness: the database and the blob store answer.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\", \"database\": \"ok\", \"blobs\": \"ok\"}`"),
        (status = 503, description = "Not ready; the body names the part that failed")
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match state.store().ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            "unreachable".to_owned()
        }
    };
    let blobs = match state.blobs().ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: blob store unreachable");
            "unreachable".to_owned()
        }
    };
    let ready = database == "ok" && blobs == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "storage": state.store().backend(),
        "database": database,
        "blobs": blobs,
    });
    (status, Json(body))
}
