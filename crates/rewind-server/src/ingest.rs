//! Turning an uploaded bundle into an incident occurrence, all or nothing.
//!
//! The order matters: receive the body (refusing it as soon as it passes the
//! size limit), validate everything in memory, write the blob
//! (content-addressed, atomic), then record the incident in one database
//! transaction. A refused bundle leaves nothing behind; a crash between the
//! blob and the row leaves only an unreferenced blob, which a retry reuses.

use std::time::{Duration, Instant};

use axum::{body::Body, http::StatusCode};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use rewind_model::{LiveEvent, Timestamp};
use rewind_store::{IngestOutcome, Ingested, NewBundle};
use sha2::{Digest as _, Sha256};

use crate::{ApiError, AppState, auth::Caller, blobs::Blobs, metrics::OutcomeLabel};

/// How long an upload waits for a free ingest slot before it is told to retry.
const SLOT_WAIT: Duration = Duration::from_secs(30);

/// A received body with its hash.
struct Received {
    bytes: Bytes,
    sha256: String,
}

/// Reads the body chunk by chunk, hashing as it goes, and stops at the limit.
async fn receive(state: &AppState, body: Body) -> Result<Received, ApiError> {
    let limit = state.limits().max_bundle_bytes;
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("upload interrupted: {e}"),
            )
            .hint("retry the upload")
        })?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit));
        }
        hasher.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "the request body is empty",
        )
        .hint("send the bundle zip as the body, e.g. curl --data-binary @bundle.zip"));
    }
    Ok(Received {
        bytes: buf.freeze(),
        sha256: hex::encode(hasher.finalize()),
    })
}

pub(crate) fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "bundle_too_large",
        format!("the bundle is larger than this server's limit of {limit} bytes"),
    )
    .hint("raise the server's --max-bundle-bytes, or capture a shorter window on the agent")
}

/// Receives, validates and stores one uploaded bundle for `caller`.
pub(crate) async fn ingest(
    state: &AppState,
    caller: &Caller,
    body: Body,
) -> Result<Ingested, ApiError> {
    let metrics = state.metrics();
    let _slot = tokio::time::timeout(SLOT_WAIT, state.upload_slot())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is receiving too many bundles at once",
            )
            .hint("the agent retries on its own; nothing was stored")
            .retry_after(Duration::from_secs(5))
        })?;
    metrics.uploads_in_flight.inc();
    let result = ingest_inner(state, caller, body).await;
    metrics.uploads_in_flight.dec();
    let outcome = match &result {
        Ok(i) => match i.outcome {
            IngestOutcome::Opened => "opened",
            IngestOutcome::Joined => "joined",
            IngestOutcome::AlreadyStored => "already_stored",
        },
        Err(e) => e.code(),
    };
    metrics
        .bundles
        .get_or_create(&OutcomeLabel {
            outcome: outcome.to_owned(),
        })
        .inc();
    result
}

async fn ingest_inner(state: &AppState, caller: &Caller, body: Body) -> Result<Ingested, ApiError> {
    let received = receive(state, body).await?;
    store_bundle(
        state,
        received.bytes,
        received.sha256,
        &caller.actor(),
        |device| caller.may_ingest_for(device),
    )
    .await
}

/// A bundle the server wrote itself (a deploy's regression), stored exactly
/// as an upload is: validated, kept as a blob, recorded as an occurrence.
pub(crate) async fn ingest_own(
    state: &AppState,
    bytes: Bytes,
    actor: &str,
) -> Result<Ingested, ApiError> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    store_bundle(state, bytes, sha256, actor, |_| Ok(())).await
}

/// Validates received bundle bytes and records them; `allowed` says
/// whether the sender may ingest for the bundle's device.
async fn store_bundle(
    state: &AppState,
    bytes: Bytes,
    sha256: String,
    actor: &str,
    allowed: impl FnOnce(&rewind_model::DeviceId) -> Result<(), ApiError>,
) -> Result<Ingested, ApiError> {
    let received = Received { bytes, sha256 };
    let started = Instant::now();
    let limits = *state.limits();
    let bytes = received.bytes.clone();
    let bundle = tokio::task::spawn_blocking(move || rewind_bundle::read_bundle(&bytes, &limits))
        .await
        .map_err(|e| ApiError::internal("bundle validation task failed", &e))??;
    let manifest = &bundle.manifest;
    allowed(&manifest.device_id)?;

    if let Some(stored) = state.store().bundle(manifest.bundle_id).await? {
        if stored.bundle.sha256 != received.sha256 {
            return Err(rewind_store::Error::BundleConflict {
                bundle_id: manifest.bundle_id,
            }
            .into());
        }
        let incident = state
            .store()
            .get_incident(stored.incident_id)
            .await?
            .summary;
        return Ok(Ingested {
            outcome: IngestOutcome::AlreadyStored,
            incident,
        });
    }

    let key = Blobs::key_for(&received.sha256);
    state
        .blobs()
        .put(&key, received.bytes.clone())
        .await
        .map_err(|e| ApiError::internal("cannot store bundle file", &e))?;
    let now = Timestamp::now();
    let service = bundle
        .trigger
        .labels
        .get("service")
        .or_else(|| manifest.labels.get("service"))
        .cloned();
    let new = NewBundle {
        device_id: manifest.device_id.clone(),
        bundle_id: manifest.bundle_id,
        fingerprint: rewind_model::fingerprint(&manifest.device_id, &bundle.trigger),
        trigger: bundle.trigger.clone(),
        fleet: manifest.fleet.clone(),
        service,
        window: manifest.time_range,
        received_at: now,
        blob_key: key,
        bytes: received.bytes.len() as u64,
        sha256: received.sha256,
        actor: actor.to_owned(),
    };
    let ingested = state.store().ingest(&new).await?;
    // The incident is stored: a failure to mark the device seen is logged,
    // never answered as a failed upload (the agent would retry for nothing).
    if let Err(e) = state.store().touch_device(&new.device_id, now).await {
        tracing::warn!(error = %e, device = %new.device_id, "cannot mark the device seen");
    }
    let metrics = state.metrics();
    metrics.bundle_bytes.inc_by(new.bytes);
    metrics
        .ingest_seconds
        .observe(started.elapsed().as_secs_f64());
    if ingested.outcome != IngestOutcome::AlreadyStored {
        publish_latest(state, &ingested.incident).await;
    }
    Ok(ingested)
}

/// Publishes an incident's newest timeline entry on the live stream.
pub(crate) async fn publish_latest(state: &AppState, incident: &rewind_model::IncidentSummary) {
    match state.store().latest_entry(incident.id).await {
        Ok(Some(entry)) => state.publish(LiveEvent::Incident {
            incident: incident.clone(),
            entry,
        }),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, incident = %incident.id, "cannot read timeline for the live stream")
        }
    }
}

/// Reads a stored bundle back, checked again (the blob may have been damaged).
pub(crate) async fn load(state: &AppState, key: &str) -> Result<rewind_bundle::Bundle, ApiError> {
    let bytes = state
        .blobs()
        .get(key)
        .await
        .map_err(|e| ApiError::internal("cannot read bundle file", &e))?;
    let limits = *state.limits();
    tokio::task::spawn_blocking(move || {
        rewind_bundle::read_bundle(&bytes, &limits)
            .map_err(|e| ApiError::internal("stored bundle no longer validates", &e))
    })
    .await
    .map_err(|e| ApiError::internal("bundle read task failed", &e))?
}
