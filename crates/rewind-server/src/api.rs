//! The HTTP API: `/api/v1/…`, `/healthz`, `/readyz`, `/metrics` and
//! `/api/openapi.json`, one module per resource.
//!
//! Routes are registered through `utoipa-axum`, so the OpenAPI document is
//! generated from the same handler annotations that route requests: a route
//! cannot exist without being documented. Each handler says which token it
//! needs by taking an extractor from [`crate::auth`], and says the same in
//! its `security(("token" = [role]))` annotation; a test walks the document
//! and checks both agree for every route.

mod bundles;
mod deploys;
mod devices;
mod health;
mod incidents;
mod regression;
mod samples;
mod session;
mod stream;
mod tokens;

use axum::{
    Json, Router,
    extract::State,
    http::{Method, StatusCode, Uri, header},
    response::IntoResponse,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{ApiError, AppState, auth::Viewer};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rewind server API",
        description = "Incidents, bundles, deploys, devices and tokens. Every route but \
                       /healthz, /readyz and the sign-in POST /api/v1/session needs \
                       `Authorization: Bearer rwd_…`; the scope \
                       listed under each operation's security is the least role it needs \
                       (`device` means a device token for the device concerned, or an admin).",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&BearerToken),
    components(schemas(rewind_model::ApiErrorBody, rewind_model::LiveEvent))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rwd_…")
                    .description(Some(
                        "A token from `rewind token create`; the dashboard sends it as the \
                         rewind_token cookie instead",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every API route, and the OpenAPI document describing them.
pub(crate) fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(bundles::routes())
        .merge(incidents::routes())
        .merge(deploys::routes())
        .merge(devices::routes())
        .merge(samples::routes())
        .merge(regression::routes())
        .merge(crate::regress::otlp::routes())
        .merge(session::routes())
        .merge(stream::routes())
        .merge(tokens::routes())
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .split_for_parts();
    let _ = DOCUMENT.set(doc.clone());
    (router, doc)
}

/// The generated document, kept for `GET /api/openapi.json`.
static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();

/// The OpenAPI document describing the API.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    DOCUMENT.get().cloned().unwrap_or_else(|| router().1)
}

/// The OpenAPI document (generated from the handlers).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    security(("token" = ["viewer"])),
    responses((status = 200, description = "This document"), (status = 401, body = rewind_model::ApiErrorBody))
)]
async fn openapi_json(_: Viewer) -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// The server's metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("token" = ["viewer"])),
    responses(
        (status = 200, description = "Prometheus text exposition", content_type = "text/plain"),
        (status = 401, body = rewind_model::ApiErrorBody)
    )
)]
async fn metrics(_: Viewer, State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().render(),
    )
}

/// A route that exists, called with a method it does not take.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
    .hint("see /api/openapi.json or docs/api.md for the methods each route takes")
}

/// Reads a JSON body with a clear 400/413/415/422 instead of axum's plain text.
pub(crate) fn json_body<T>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    use axum::extract::rejection::JsonRejection as R;
    match body {
        Ok(Json(v)) => Ok(v),
        Err(R::JsonDataError(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            e.body_text(),
        )
        .hint("see /api/openapi.json for the fields this route takes")),
        Err(R::MissingJsonContentType(e)) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            e.body_text(),
        )
        .hint("send Content-Type: application/json")),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this server accepts for JSON",
        )
        .hint("raise --max-json-bytes, or send fewer items per request")),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            e.body_text(),
        )),
    }
}
