//! `GET /api/v1/incidents` and `GET /api/v1/incidents/{id}`.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use rewind_model::{DeviceId, IncidentDetail, IncidentId, IncidentList, Severity};
use rewind_store::IncidentFilter;
use serde::Deserialize;

use crate::{ApiError, AppState, ingest};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", get(list))
        .route("/api/v1/incidents/{id}", get(detail))
}

/// Query parameters of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    device: Option<String>,
    min_severity: Option<String>,
    limit: Option<u32>,
}

fn bad_query(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message)
        .hint("supported parameters: device, min_severity, limit (1..=1000)")
}

impl ListQuery {
    fn into_filter(self) -> Result<IncidentFilter, ApiError> {
        let mut filter = IncidentFilter::default();
        if let Some(device) = self.device {
            filter.device_id = Some(DeviceId::new(device).map_err(|e| bad_query(e.to_string()))?);
        }
        if let Some(sev) = self.min_severity {
            filter.min_severity = Some(
                sev.parse::<Severity>()
                    .map_err(|e| bad_query(e.to_string()))?,
            );
        }
        if let Some(limit) = self.limit {
            if !(1..=1000).contains(&limit) {
                return Err(bad_query(format!("limit {limit} is out of range")));
            }
            filter.limit = limit;
        }
        Ok(filter)
    }
}

async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IncidentList>, ApiError> {
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let incidents = state.store().list_incidents(&query.into_filter()?).await?;
    Ok(Json(IncidentList { incidents }))
}

async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id: IncidentId = id.parse().map_err(|e: rewind_model::IdError| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_id", e.to_string())
    })?;
    let record = state.store().get_incident(id).await?;
    let bundle = ingest::load(&state, &record.bundle_path).await?;
    Ok(Json(IncidentDetail {
        incident: record.summary,
        trigger: record.trigger,
        series: bundle.series.into_iter().map(Into::into).collect(),
    }))
}
