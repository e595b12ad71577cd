//! Incidents: query, detail, timeline, lifecycle moves, notes, reopening,
//! deploy links and exports.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use rewind_model::{
    DeviceId, IncidentDetail, IncidentId, IncidentList, IncidentStatus, IncidentSummary,
    NoteRequest, ReopenRequest, Severity, TimelineEntry, Timestamp, TransitionRequest,
};
use rewind_store::{Cursor, IncidentFilter, TransitionChange};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json_body;
use crate::{
    ApiError, AppState,
    auth::{Responder, Viewer},
    export, ingest,
};

/// Longest note or reason accepted, in characters.
const MAX_TEXT: usize = 10_000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(timeline))
        .routes(routes!(transition))
        .routes(routes!(note))
        .routes(routes!(reopen))
        .routes(routes!(attach_deploy))
        .routes(routes!(export_markdown))
        .routes(routes!(export_json))
}

/// Parses a UUID-shaped id from the path with a 400 naming it.
pub(crate) fn parse_id<T>(raw: &str) -> Result<T, ApiError>
where
    T: std::str::FromStr<Err = rewind_model::IdError>,
{
    raw.parse::<T>()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_id", e.to_string()))
}

/// Query parameters of the incident list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Comma-separated statuses (`open,acknowledged`); any when absent.
    status: Option<String>,
    /// Only incidents at or above this severity.
    min_severity: Option<String>,
    /// Only this fleet's incidents.
    fleet: Option<String>,
    /// Only this device's incidents.
    device: Option<String>,
    /// Only this service's incidents.
    service: Option<String>,
    /// Only this rule's incidents.
    rule: Option<String>,
    /// First triggered at or after this time (RFC 3339).
    since: Option<String>,
    /// First triggered before this time (RFC 3339).
    until: Option<String>,
    /// Text the rule name or summary contains.
    q: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1..=1000 (default 200).
    limit: Option<u32>,
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message).hint(
        "parameters: status, min_severity, fleet, device, service, rule, since, until, q, \
         cursor, limit (1..=1000)",
    )
}

fn short_text(name: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(v) if v.len() > 256 => Err(bad_query(format!("`{name}` is longer than 256 bytes"))),
        Some(v) if v.is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn time_param(name: &str, v: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    v.map(|s| Timestamp::parse_rfc3339(&s).map_err(|e| bad_query(format!("`{name}`: {e}"))))
        .transpose()
}

impl ListQuery {
    pub(crate) fn into_filter(self) -> Result<IncidentFilter, ApiError> {
        let mut filter = IncidentFilter::default();
        if let Some(list) = self.status {
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                filter
                    .statuses
                    .push(part.parse::<IncidentStatus>().map_err(bad_query)?);
            }
        }
        filter.min_severity = self
            .min_severity
            .map(|s| s.parse::<Severity>().map_err(|e| bad_query(e.to_string())))
            .transpose()?;
        filter.device_id = self
            .device
            .map(|d| DeviceId::new(d).map_err(|e| bad_query(e.to_string())))
            .transpose()?;
        filter.fleet = short_text("fleet", self.fleet)?;
        filter.service = short_text("service", self.service)?;
        filter.rule = short_text("rule", self.rule)?;
        filter.text = short_text("q", self.q)?;
        filter.since = time_param("since", self.since)?;
        filter.until = time_param("until", self.until)?;
        filter.after = self
            .cursor
            .map(|c| c.parse::<Cursor>().map_err(bad_query))
            .transpose()?;
        if let Some(limit) = self.limit {
            if !(1..=1000).contains(&limit) {
                return Err(bad_query(format!("limit {limit} is out of range 1..=1000")));
            }
            filter.limit = limit;
        }
        Ok(filter)
    }
}

/// List incidents, newest trigger first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    security(("token" = ["viewer"])),
    params(ListQuery),
    responses(
        (status = 200, body = IncidentList),
        (status = 400, body = rewind_model::ApiErrorBody),
        (status = 401, body = rewind_model::ApiErrorBody),
    )
)]
async fn list(
    _: Viewer,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<IncidentList>, ApiError> {
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let page = state.store().list_incidents(&query.into_filter()?).await?;
    Ok(Json(IncidentList {
        incidents: page.incidents,
        next_cursor: page.next.map(|c| c.to_string()),
    }))
}

/// One incident with its first trigger, the newest bundle's metrics and its bundles.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    security(("token" = ["viewer"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    responses(
        (status = 200, body = IncidentDetail),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn detail(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id: IncidentId = parse_id(&id)?;
    let record = state.store().get_incident(id).await?;
    let mut bundle = ingest::load(&state, &record.latest_blob_key).await?;
    let events_truncated = bundle.events.len() > IncidentDetail::MAX_EVENTS;
    bundle.events.truncate(IncidentDetail::MAX_EVENTS);
    Ok(Json(IncidentDetail {
        incident: record.summary,
        trigger: record.trigger,
        events: bundle.events,
        events_truncated,
        series: bundle.series.into_iter().map(Into::into).collect(),
        bundles: record.bundles,
        reopened_as: record.reopened_as,
    }))
}

/// The incident's append-only timeline, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/timeline",
    tag = "incidents",
    security(("token" = ["viewer"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    responses(
        (status = 200, body = Vec<TimelineEntry>),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn timeline(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    Ok(Json(state.store().timeline(parse_id(&id)?).await?))
}

fn checked_text(name: &str, text: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_TEXT {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("`{name}` is longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Move the incident along its lifecycle (open → acknowledged → mitigated → resolved).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/transitions",
    tag = "incidents",
    security(("token" = ["responder"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = IncidentSummary, description = "Moved; the timeline has the entry"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
        (status = 409, body = rewind_model::ApiErrorBody, description = "Not allowed from the current status; `details.allowed` lists what is"),
        (status = 422, body = rewind_model::ApiErrorBody),
    )
)]
async fn transition(
    Responder(caller): Responder,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<TransitionRequest>, JsonRejection>,
) -> Result<Json<IncidentSummary>, ApiError> {
    let id: IncidentId = parse_id(&id)?;
    let req = json_body(body)?;
    let change = TransitionChange {
        to: req.to,
        actor: caller.actor(),
        reason: checked_text("reason", req.reason)?,
        at: Timestamp::now(),
    };
    let summary = state.store().transition(id, &change).await?;
    ingest::publish_latest(&state, &summary).await;
    Ok(Json(summary))
}

/// Add a note to an active incident's timeline.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/notes",
    tag = "incidents",
    security(("token" = ["responder"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    request_body = NoteRequest,
    responses(
        (status = 201, body = TimelineEntry),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
        (status = 409, body = rewind_model::ApiErrorBody, description = "The incident is resolved"),
        (status = 422, body = rewind_model::ApiErrorBody),
    )
)]
async fn note(
    Responder(caller): Responder,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<NoteRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    let id: IncidentId = parse_id(&id)?;
    let req = json_body(body)?;
    let text = checked_text("text", Some(req.text))?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "`text` is empty",
        )
    })?;
    let entry = state
        .store()
        .add_note(id, &caller.actor(), &text, Timestamp::now())
        .await?;
    publish_entry(&state, id, &entry).await;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Reopen a resolved incident: a new incident linked to it (the resolved one stays as it was).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/reopen",
    tag = "incidents",
    security(("token" = ["responder"])),
    params(("id" = IncidentId, Path, description = "The resolved incident's id")),
    request_body = ReopenRequest,
    responses(
        (status = 201, body = IncidentSummary, description = "The new incident"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
        (status = 409, body = rewind_model::ApiErrorBody, description = "Not resolved, or an active incident with its fingerprint exists"),
    )
)]
async fn reopen(
    Responder(caller): Responder,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<ReopenRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id: IncidentId = parse_id(&id)?;
    let req = json_body(body)?;
    let reason = checked_text("reason", req.reason)?;
    let summary = match state
        .store()
        .reopen(id, &caller.actor(), reason.as_deref(), Timestamp::now())
        .await
    {
        Ok(summary) => summary,
        Err(rewind_store::Error::InvalidTransition { from, .. }) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_resolved",
                format!("only a resolved incident can be reopened; this one is {from}"),
            )
            .hint("it is still active: work it with …/transitions and …/notes"));
        }
        Err(rewind_store::Error::Conflict { .. }) => {
            let record = state.store().get_incident(id).await?;
            let active = state
                .store()
                .list_incidents(&IncidentFilter {
                    statuses: vec![
                        IncidentStatus::Open,
                        IncidentStatus::Acknowledged,
                        IncidentStatus::Mitigated,
                    ],
                    device_id: Some(record.summary.device_id.clone()),
                    rule: Some(record.summary.rule.clone()),
                    limit: 1000,
                    ..IncidentFilter::default()
                })
                .await?
                .incidents
                .into_iter()
                .find(|i| i.fingerprint == record.summary.fingerprint);
            let mut err = ApiError::new(
                StatusCode::CONFLICT,
                "already_active",
                "the same rule on the same device already has an active incident",
            );
            if let Some(active) = active {
                err = err
                    .hint(format!(
                        "work incident {} instead: /api/v1/incidents/{}",
                        active.id, active.id
                    ))
                    .details(serde_json::json!({ "active": active.id }));
            }
            return Err(err);
        }
        Err(e) => return Err(e.into()),
    };
    ingest::publish_latest(&state, &summary).await;
    let location = format!("/api/v1/incidents/{}", summary.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(summary),
    )
        .into_response())
}

/// Publishes a committed timeline entry with its incident, best effort: the
/// change is stored, so a failed re-read only costs the live update.
async fn publish_entry(state: &AppState, id: IncidentId, entry: &TimelineEntry) {
    match state.store().get_incident(id).await {
        Ok(record) => state.publish(rewind_model::LiveEvent::Incident {
            incident: record.summary,
            entry: entry.clone(),
        }),
        Err(e) => tracing::warn!(error = %e, incident = %id, "cannot publish a live update"),
    }
}

/// Body of `POST /api/v1/incidents/{id}/deploys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttachDeploy {
    /// A deploy recorded with `POST /api/v1/deploys`.
    deploy_id: rewind_model::DeployId,
}

/// Link a recorded deploy to an active incident.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/deploys",
    tag = "incidents",
    security(("token" = ["responder"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    request_body = AttachDeploy,
    responses(
        (status = 201, body = TimelineEntry),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
        (status = 409, body = rewind_model::ApiErrorBody),
    )
)]
async fn attach_deploy(
    Responder(caller): Responder,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<AttachDeploy>, JsonRejection>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    let id: IncidentId = parse_id(&id)?;
    let req = json_body(body)?;
    let entry = state
        .store()
        .attach_deploy(id, req.deploy_id, &caller.actor(), Timestamp::now())
        .await?;
    publish_entry(&state, id, &entry).await;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// A postmortem draft in Markdown: summary, timeline, evidence, root cause, actions.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/export.md",
    tag = "incidents",
    security(("token" = ["viewer"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    responses(
        (status = 200, content_type = "text/markdown", description = "The draft"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn export_markdown(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let export = export::gather(&state, parse_id(&id)?).await?;
    let name = format!("incident_{}.md", export.incident.id);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        export::markdown(&export),
    )
        .into_response())
}

/// Everything the server knows about the incident, machine-readable.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/export.json",
    tag = "incidents",
    security(("token" = ["viewer"])),
    params(("id" = IncidentId, Path, description = "The incident's id")),
    responses(
        (status = 200, body = export::IncidentExport),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn export_json(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<export::IncidentExport>, ApiError> {
    Ok(Json(export::gather(&state, parse_id(&id)?).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_become_filters_or_clear_errors() {
        let q = ListQuery {
            status: Some("open, acknowledged".into()),
            min_severity: Some("high".into()),
            since: Some("2026-01-01T00:00:00Z".into()),
            q: Some(String::new()),
            limit: Some(5),
            ..ListQuery::default()
        };
        let f = q.into_filter().unwrap();
        assert_eq!(
            f.statuses,
            vec![IncidentStatus::Open, IncidentStatus::Acknowledged]
        );
        assert_eq!(f.min_severity, Some(Severity::High));
        assert!(f.since.is_some() && f.text.is_none());
        assert_eq!(f.limit, 5);
        for bad in [
            ListQuery {
                status: Some("closed".into()),
                ..ListQuery::default()
            },
            ListQuery {
                limit: Some(0),
                ..ListQuery::default()
            },
            ListQuery {
                until: Some("yesterday".into()),
                ..ListQuery::default()
            },
            ListQuery {
                cursor: Some("nope".into()),
                ..ListQuery::default()
            },
        ] {
            assert_eq!(bad.into_filter().unwrap_err().code(), "bad_query");
        }
    }
}
