//! `POST /api/v1/bundles` (agents upload incident bundles) and
//! `GET /api/v1/bundles/{id}` (download one).
//!
//! The upload body is the bundle zip itself (`Content-Type:
//! application/zip`), read as a stream and refused as soon as it passes the
//! size limit. Answers `201 Created` when the bundle opened an incident,
//! `200 OK` when it joined an active one (same fingerprint) or was stored
//! before (uploads are retried, so this is idempotent by bundle id + hash),
//! or a 4xx error and nothing stored.

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use rewind_model::{BundleId, IncidentSummary};
use rewind_store::IngestOutcome;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ApiError, AppState,
    auth::{Ingest, Viewer},
    ingest::ingest,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
}

/// Upload an incident bundle.
#[utoipa::path(
    post,
    path = "/api/v1/bundles",
    tag = "bundles",
    security(("token" = ["device"])),
    request_body(content = Vec<u8>, content_type = "application/zip", description = "The bundle zip"),
    responses(
        (status = 201, body = IncidentSummary, description = "Opened a new incident"),
        (status = 200, body = IncidentSummary, description = "Joined an active incident, or was stored before"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody, description = "The token is for another device"),
        (status = 409, body = rewind_model::ApiErrorBody, description = "Same bundle id, different contents"),
        (status = 413, body = rewind_model::ApiErrorBody),
        (status = 422, body = rewind_model::ApiErrorBody, description = "Not a valid bundle; see docs/bundle-format.md"),
        (status = 429, body = rewind_model::ApiErrorBody),
    )
)]
async fn upload(
    Ingest(caller): Ingest,
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let ingested = ingest(&state, &caller, body).await?;
    let incident = ingested.incident;
    Ok(match ingested.outcome {
        IngestOutcome::Opened => {
            let location = format!("/api/v1/incidents/{}", incident.id);
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(incident),
            )
                .into_response()
        }
        IngestOutcome::Joined | IngestOutcome::AlreadyStored => {
            (StatusCode::OK, Json(incident)).into_response()
        }
    })
}

/// Download a stored bundle file.
#[utoipa::path(
    get,
    path = "/api/v1/bundles/{id}",
    tag = "bundles",
    security(("token" = ["viewer"])),
    params(("id" = BundleId, Path, description = "The bundle's id")),
    responses(
        (status = 200, content_type = "application/zip", description = "The bundle zip, as uploaded"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn download(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: BundleId = super::incidents::parse_id(&id)?;
    let record = state.store().bundle(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("bundle {id} not found"),
        )
    })?;
    let bytes = state
        .blobs()
        .get(&record.blob_key)
        .await
        .map_err(|e| ApiError::internal("cannot read bundle file", &e))?;
    let name = format!("bundle_{}_{}.zip", record.device_id, id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
