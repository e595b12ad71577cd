//! Turning an uploaded bundle into a stored incident, all or nothing.
//!
//! The order matters: validate everything in memory first, then write the
//! bundle file atomically (temp file, fsync, rename), then insert the row;
//! if the insert fails the file is removed again. A refused bundle leaves
//! nothing behind.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use axum::http::StatusCode;
use bytes::Bytes;
use rewind_model::{IncidentSummary, Timestamp};
use rewind_store::NewIncident;
use sha2::{Digest as _, Sha256};

use crate::{ApiError, AppState};

/// What happened to an upload.
#[derive(Debug)]
pub(crate) enum Ingested {
    /// A new incident was stored.
    Created(IncidentSummary),
    /// The same bundle (same id and bytes) was stored before: a retried upload.
    AlreadyStored(IncidentSummary),
}

/// Validates `body` as a bundle and stores it as an incident.
pub(crate) async fn ingest(state: &AppState, body: Bytes) -> Result<Ingested, ApiError> {
    let limits = *state.limits();
    let checked = tokio::task::spawn_blocking(move || {
        let bundle = rewind_bundle::read_bundle(&body, &limits)?;
        let sha = hex::encode(Sha256::digest(&body));
        Ok::<_, rewind_bundle::Error>((bundle, sha, body))
    })
    .await
    .map_err(|e| ApiError::internal("bundle validation task failed", &e))?;
    let (bundle, sha, body) = checked?;
    let manifest = &bundle.manifest;

    if let Some(done) = already_stored(state, manifest.bundle_id, &sha).await? {
        return Ok(done);
    }
    let rel = format!(
        "{}/{}-{}.zip",
        manifest.device_id,
        manifest.bundle_id,
        &sha[..12]
    );
    let path = state.bundle_dir().join(&rel);
    // The name carries the content hash, so an existing file already holds
    // these bytes: do not write it twice.
    let existed = path.try_exists().unwrap_or(false);
    if !existed {
        write_atomically(&path, &body)
            .map_err(|e| ApiError::internal("cannot write bundle file", &e))?;
    }
    let new = NewIncident {
        device_id: manifest.device_id.clone(),
        bundle_id: manifest.bundle_id,
        trigger: bundle.trigger.clone(),
        window: manifest.time_range,
        received_at: Timestamp::now(),
        bundle_path: rel,
        bundle_bytes: body.len() as u64,
        bundle_sha256: sha.clone(),
    };
    match state.store().insert_incident(&new).await {
        Ok(summary) => Ok(Ingested::Created(summary)),
        Err(err) => match (&err, already_stored(state, manifest.bundle_id, &sha).await) {
            // Lost a race with an identical concurrent upload: the winner's
            // row points at this very file (its name carries the hash).
            (rewind_store::Error::Conflict { .. }, Ok(Some(done))) => Ok(done),
            _ => {
                if !existed {
                    fs_err::remove_file(&path).ok();
                }
                Err(err.into())
            }
        },
    }
}

async fn already_stored(
    state: &AppState,
    bundle_id: rewind_model::BundleId,
    sha: &str,
) -> Result<Option<Ingested>, ApiError> {
    match state.store().incident_by_bundle(bundle_id).await? {
        None => Ok(None),
        Some(rec) if rec.bundle_sha256 == sha => Ok(Some(Ingested::AlreadyStored(rec.summary))),
        Some(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "bundle_conflict",
            format!("bundle {bundle_id} was stored before with different contents"),
        )
        .hint("bundle ids must be unique; an agent never reuses one")),
    }
}

/// Writes `bytes` to `path` so that readers see either nothing or the whole file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    fs_err::create_dir_all(&dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fs_err::File::open(&dir)?.sync_all()
}

/// Reads a stored bundle back, checked again (the file may have been damaged on disk).
pub(crate) async fn load(state: &AppState, rel: &str) -> Result<rewind_bundle::Bundle, ApiError> {
    let path = state.bundle_dir().join(rel);
    let limits = *state.limits();
    tokio::task::spawn_blocking(move || {
        let bytes =
            fs_err::read(&path).map_err(|e| ApiError::internal("cannot read bundle file", &e))?;
        rewind_bundle::read_bundle(&bytes, &limits)
            .map_err(|e| ApiError::internal("stored bundle no longer validates", &e))
    })
    .await
    .map_err(|e| ApiError::internal("bundle read task failed", &e))?
}
