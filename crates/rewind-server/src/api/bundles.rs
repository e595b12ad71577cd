//! `POST /api/v1/bundles`: agents upload incident bundles here.
//!
//! The body is the bundle zip itself (`Content-Type: application/zip`).
//! Answers `201 Created` with the incident, `200 OK` with the same incident
//! when the identical bundle was uploaded before (uploads are retried, so this
//! must be idempotent), or a 4xx error and nothing stored.

use axum::{
    Json, Router,
    extract::{State, rejection::BytesRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use bytes::Bytes;

use crate::{
    ApiError, AppState,
    ingest::{Ingested, ingest},
};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/bundles", post(upload))
}

async fn upload(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| body_error(&state, &rejection))?;
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "the request body is empty",
        )
        .hint("send the bundle zip as the body, e.g. curl --data-binary @bundle.zip"));
    }
    Ok(match ingest(&state, body).await? {
        Ingested::Created(summary) => {
            let location = format!("/api/v1/incidents/{}", summary.id);
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(summary),
            )
                .into_response()
        }
        Ingested::AlreadyStored(summary) => (StatusCode::OK, Json(summary)).into_response(),
    })
}

fn body_error(state: &AppState, rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = state.limits().max_bundle_bytes;
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bundle_too_large",
            format!("the bundle is larger than this server's limit of {limit} bytes"),
        )
        .hint("raise the server's --max-bundle-bytes, or capture a shorter window on the agent")
    } else {
        ApiError::new(rejection.status(), "bad_body", rejection.body_text())
    }
}
