//! Devices: agents register what they are (`POST
//! /api/v1/devices/{id}/register` with their device token), people list
//! them (`GET /api/v1/devices`, `GET /api/v1/devices/{id}`).
//!
//! A device also appears, with an empty identity, the first time it uploads
//! a bundle or streams samples; registering fills in the identity.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use rewind_model::{Device, DeviceId, DeviceIdentity, LiveEvent, Timestamp};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json_body;
use crate::{
    ApiError, AppState,
    auth::{Ingest, Viewer},
};

/// Longest identity field, in bytes.
pub(crate) const MAX_IDENTITY_FIELD: usize = 256;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(list))
        .routes(routes!(detail))
}

/// A device id from the path, or 400 naming the rules.
pub(crate) fn device_id(raw: &str) -> Result<DeviceId, ApiError> {
    DeviceId::new(raw).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_id", e.to_string())
            .hint("a device id is 1 to 128 characters from A-Z, a-z, 0-9, `.`, `_` and `-`")
    })
}

/// Checks every field and drops empty ones.
fn checked(mut identity: DeviceIdentity) -> Result<DeviceIdentity, ApiError> {
    let fields = [
        ("fleet", &mut identity.fleet),
        ("site", &mut identity.site),
        ("hardware", &mut identity.hardware),
        ("software_version", &mut identity.software_version),
        ("agent_version", &mut identity.agent_version),
    ];
    for (name, field) in fields {
        let Some(value) = field.as_deref() else {
            continue;
        };
        let problem = if value.len() > MAX_IDENTITY_FIELD {
            Some(format!(
                "`{name}` is {} bytes; the limit is {MAX_IDENTITY_FIELD}",
                value.len()
            ))
        } else if value.chars().any(char::is_control) {
            Some(format!("`{name}` contains control characters"))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message).hint(
                    "identity fields (fleet, site, hardware, software_version, agent_version) \
                     are optional, at most 256 bytes each, without control characters",
                ),
            );
        }
        if value.trim().is_empty() {
            *field = None;
        } else if value.trim().len() != value.len() {
            *field = Some(value.trim().to_owned());
        }
    }
    Ok(identity)
}

/// Register a device, or update the identity it reports.
///
/// Agents call this at start with their device token. The identity replaces
/// what was reported before; `last_seen_at` becomes now.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/register",
    tag = "devices",
    security(("token" = ["device"])),
    params(("id" = DeviceId, Path, description = "The device's id")),
    request_body = DeviceIdentity,
    responses(
        (status = 200, body = Device, description = "Registered; the device as the server knows it now"),
        (status = 400, body = rewind_model::ApiErrorBody, description = "Not a device id"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody, description = "The token is for another device"),
        (status = 422, body = rewind_model::ApiErrorBody, description = "A field is too long or has control characters; the message names it"),
        (status = 429, body = rewind_model::ApiErrorBody),
    )
)]
async fn register(
    Ingest(caller): Ingest,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<DeviceIdentity>, JsonRejection>,
) -> Result<Json<Device>, ApiError> {
    let id = device_id(&id)?;
    caller.may_ingest_for(&id)?;
    let identity = checked(json_body(body)?)?;
    let device = state
        .store()
        .upsert_device(&id, &identity, Timestamp::now())
        .await?;
    tracing::info!(device = %id, agent_version = ?device.identity.agent_version, "device registered");
    state.remember_fleet(&id, device.identity.fleet.clone());
    state.publish(LiveEvent::Device {
        device: device.clone(),
    });
    Ok(Json(device))
}

/// List every device the server knows, by id.
#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "devices",
    security(("token" = ["viewer"])),
    responses(
        (status = 200, body = Vec<Device>),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
    )
)]
async fn list(_: Viewer, State(state): State<AppState>) -> Result<Json<Vec<Device>>, ApiError> {
    Ok(Json(state.store().list_devices().await?))
}

/// One device.
#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}",
    tag = "devices",
    security(("token" = ["viewer"])),
    params(("id" = DeviceId, Path, description = "The device's id")),
    responses(
        (status = 200, body = Device),
        (status = 400, body = rewind_model::ApiErrorBody),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn detail(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Device>, ApiError> {
    let id = device_id(&id)?;
    match state.store().get_device(&id).await {
        Ok(device) => Ok(Json(device)),
        Err(rewind_store::Error::NotFound { .. }) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("device {id} not found"),
        )
        .hint(
            "GET /api/v1/devices lists devices; a device appears once its agent registers, \
             uploads a bundle or streams samples",
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_checked_field_by_field_and_trimmed() {
        let ok = checked(DeviceIdentity {
            fleet: Some(" bots ".into()),
            site: Some(String::new()),
            ..DeviceIdentity::default()
        })
        .unwrap();
        assert_eq!(ok.fleet.as_deref(), Some("bots"));
        assert_eq!(ok.site, None);
        let long = checked(DeviceIdentity {
            hardware: Some("x".repeat(257)),
            ..DeviceIdentity::default()
        })
        .unwrap_err();
        assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(format!("{long:?}").contains("`hardware`"));
        let ctl = checked(DeviceIdentity {
            software_version: Some("1.0\n".into()),
            ..DeviceIdentity::default()
        })
        .unwrap_err();
        assert!(format!("{ctl:?}").contains("`software_version`"));
    }
}
