//! Deploys: `POST /api/v1/deploys` records one (from CI, a deploy hook or
//! `rewind deploy notify`), `GET /api/v1/deploys` lists them, newest first.
//!
//! A deploy is published on the live stream as it is recorded, so the
//! dashboard can mark it on charts and offer to link it to an incident.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::StatusCode,
};
use rewind_model::{CheckState, Deploy, DeployCheck, DeployId, LiveEvent, NewDeploy, Timestamp};
use rewind_store::DeployFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json_body;
use crate::{
    ApiError, AppState,
    auth::{Responder, Viewer},
};

/// Most deploys one list answers.
const MAX_LIMIT: u32 = 1000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record, list))
        .routes(routes!(check))
}

/// Record a deploy.
///
/// `environment` defaults to `production` and `at` to the server's clock.
/// Every text field is 1 to 256 bytes without control characters.
#[utoipa::path(
    post,
    path = "/api/v1/deploys",
    tag = "deploys",
    security(("token" = ["responder"])),
    request_body = NewDeploy,
    responses(
        (status = 201, body = Deploy, description = "Recorded"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 413, body = rewind_model::ApiErrorBody),
        (status = 415, body = rewind_model::ApiErrorBody),
        (status = 422, body = rewind_model::ApiErrorBody, description = "A field is missing, empty, too long or has control characters; the message names it"),
        (status = 429, body = rewind_model::ApiErrorBody),
    )
)]
async fn record(
    Responder(caller): Responder,
    State(state): State<AppState>,
    body: Result<Json<NewDeploy>, JsonRejection>,
) -> Result<(StatusCode, Json<Deploy>), ApiError> {
    let mut new = json_body(body)?;
    if new.actor.is_none() {
        // Who deployed, when the caller does not say: the token's owner.
        new.actor = Some(caller.actor());
    }
    new.validate().map_err(|message| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message).hint(
            "service and version are required; environment, commit, actor and at are optional; \
             text fields are 1 to 256 bytes without control characters",
        )
    })?;
    let deploy = state.store().insert_deploy(&new, Timestamp::now()).await?;
    tracing::info!(
        deploy = %deploy.id,
        service = %deploy.service,
        version = %deploy.version,
        environment = %deploy.environment,
        "deploy recorded"
    );
    state.metrics().deploys.inc();
    state.publish(LiveEvent::Deploy {
        deploy: deploy.clone(),
    });
    state.feed().deploy(deploy.clone()).await;
    Ok((StatusCode::CREATED, Json(deploy)))
}

/// Query parameters of the deploy list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeployQuery {
    /// Only this service's deploys.
    service: Option<String>,
    /// Only this environment's deploys.
    environment: Option<String>,
    /// Deployed at or after this time (RFC 3339).
    since: Option<String>,
    /// Deployed before this time (RFC 3339).
    until: Option<String>,
    /// At most this many (1..=1000, default 200).
    limit: Option<String>,
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message)
        .hint("parameters: service, environment, since, until (RFC 3339), limit (1..=1000)")
}

fn text_param(name: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(v) if v.len() > NewDeploy::MAX_FIELD => Err(bad_query(format!(
            "`{name}` is longer than {} bytes",
            NewDeploy::MAX_FIELD
        ))),
        Some(v) if v.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn time_param(name: &str, v: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| {
            Timestamp::parse_rfc3339(s.trim()).map_err(|e| {
                bad_query(format!(
                    "`{name}` is not an RFC 3339 time ({e}); e.g. 2026-05-13T14:30:00Z"
                ))
            })
        })
        .transpose()
}

impl DeployQuery {
    fn into_filter(self) -> Result<DeployFilter, ApiError> {
        let mut filter = DeployFilter {
            service: text_param("service", self.service)?,
            environment: text_param("environment", self.environment)?,
            since: time_param("since", self.since)?,
            until: time_param("until", self.until)?,
            ..DeployFilter::default()
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since >= until
        {
            return Err(bad_query("`since` must be before `until`"));
        }
        if let Some(limit) = self.limit {
            let n = limit
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    bad_query(format!(
                        "`limit` {limit:?} is not a number in 1..={MAX_LIMIT}"
                    ))
                })?;
            filter.limit = n;
        }
        Ok(filter)
    }
}

/// List deploys, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/deploys",
    tag = "deploys",
    security(("token" = ["viewer"])),
    params(DeployQuery),
    responses(
        (status = 200, body = Vec<Deploy>),
        (status = 400, body = rewind_model::ApiErrorBody, description = "A bad parameter; the message names it"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
    )
)]
async fn list(
    _: Viewer,
    State(state): State<AppState>,
    query: Result<Query<DeployQuery>, QueryRejection>,
) -> Result<Json<Vec<Deploy>>, ApiError> {
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    Ok(Json(
        state.store().list_deploys(&query.into_filter()?).await?,
    ))
}

/// Did this deploy make things worse?
///
/// While the deploy's window is open the verdict is partial (`state:
/// watching`); once it has passed it is final (`decided`), with the
/// evidence and, for a regression, the incident it opened. A deploy the
/// server did not watch (recorded before it started, or whose window
/// passed during a restart) is `not_watched`.
#[utoipa::path(
    get,
    path = "/api/v1/deploys/{id}/check",
    tag = "deploys",
    security(("token" = ["viewer"])),
    params(("id" = String, Path, description = "The deploy's id")),
    responses(
        (status = 200, body = DeployCheck),
        (status = 400, body = rewind_model::ApiErrorBody, description = "The id is not a deploy id"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody, description = "No such deploy"),
    )
)]
async fn check(
    _: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DeployCheck>, ApiError> {
    let id: DeployId = id.trim().parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_id",
            format!("{id:?} is not a deploy id"),
        )
        .hint("deploy ids are UUIDs, as `rewind deploy notify` and GET /api/v1/deploys print them")
    })?;
    let deploy = state.store().get_deploy(id).await?;
    if let Some(stored) = state.store().get_check(id).await? {
        return Ok(Json(crate::regress::decided(deploy, stored)));
    }
    if let Some(watching) = state.feed().check(id).await {
        return Ok(Json(watching));
    }
    Ok(Json(DeployCheck {
        deploy,
        state: CheckState::NotWatched,
        verdict: None,
        summary: None,
        window_end: None,
        incident_id: None,
        decided_at: None,
        evidence: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_filters_or_name_the_bad_parameter() {
        let f = DeployQuery {
            service: Some("planner".into()),
            environment: Some(" ".into()),
            since: Some("2026-01-01T00:00:00Z".into()),
            limit: Some("5".into()),
            ..DeployQuery::default()
        }
        .into_filter()
        .unwrap();
        assert_eq!(f.service.as_deref(), Some("planner"));
        assert!(f.environment.is_none() && f.since.is_some() && f.until.is_none());
        assert_eq!(f.limit, 5);
        assert_eq!(DeployQuery::default().into_filter().unwrap().limit, 200);
        let cases = [
            (
                DeployQuery {
                    limit: Some("0".into()),
                    ..DeployQuery::default()
                },
                "`limit`",
            ),
            (
                DeployQuery {
                    limit: Some("many".into()),
                    ..DeployQuery::default()
                },
                "`limit`",
            ),
            (
                DeployQuery {
                    since: Some("yesterday".into()),
                    ..DeployQuery::default()
                },
                "`since`",
            ),
            (
                DeployQuery {
                    since: Some("2026-02-01T00:00:00Z".into()),
                    until: Some("2026-01-01T00:00:00Z".into()),
                    ..DeployQuery::default()
                },
                "`since` must be before",
            ),
            (
                DeployQuery {
                    service: Some("x".repeat(300)),
                    ..DeployQuery::default()
                },
                "`service`",
            ),
        ];
        for (q, want) in cases {
            let e = q.into_filter().unwrap_err();
            assert_eq!(e.code(), "bad_query");
            let body = format!("{e:?}");
            assert!(body.contains(want), "{body} lacks {want}");
        }
    }
}
