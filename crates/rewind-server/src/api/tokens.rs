//! API tokens (admin only): create (the secret is shown once), list, revoke.
//!
//! The same operations exist as `rewind token create|list|revoke`, which
//! work on the database directly, so the first admin token can be made
//! before any token exists. Both make secrets through [`auth::mint_token`].

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use rewind_model::{DeviceId, Role, Timestamp, TokenId, TokenInfo, TokenScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{incidents::parse_id, json_body};
use crate::{
    ApiError, AppState,
    auth::{self, Admin},
};

/// Longest lifetime a token may be given, in days (ten years).
pub(crate) const MAX_EXPIRES_IN_DAYS: u32 = 3650;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
}

/// Body of `POST /api/v1/tokens`: a user token (`role`, viewer when absent)
/// or a device token (`device_id`), not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    /// A name for people, 1 to 64 characters (`alice`, `ci-deploys`);
    /// recorded as the actor of what the token does.
    name: String,
    /// The role of a user token (default: viewer).
    #[serde(default)]
    role: Option<Role>,
    /// Makes a device token for this device instead: it may only ingest for it.
    #[serde(default)]
    device_id: Option<String>,
    /// Days until the token stops working (1 to 3650); never when absent.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// A token just made: everything listed about it, plus its secret, shown
/// this once and never again (only its hash is stored).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// The token as it will be listed.
    #[serde(flatten)]
    token: TokenInfo,
    /// The secret to send as `Authorization: Bearer …`. Store it now.
    secret: String,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        format!("`{field}`: {message}"),
    )
    .details(serde_json::json!({ "field": field }))
}

impl CreateToken {
    /// Checks the request; a 422 names the field at fault.
    fn check(self, now: Timestamp) -> Result<(String, TokenScope, Option<Timestamp>), ApiError> {
        auth::check_token_name(&self.name).map_err(|e| invalid("name", e))?;
        let scope = match (self.role, self.device_id) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "device_id",
                    "give either `role` (a user token) or `device_id` (a device token), not both",
                ));
            }
            (role, None) => TokenScope::User {
                role: role.unwrap_or(Role::Viewer),
            },
            (None, Some(device)) => TokenScope::Device {
                device_id: DeviceId::new(device).map_err(|e| invalid("device_id", e))?,
            },
        };
        let expires_at = match self.expires_in_days {
            None => None,
            Some(days) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => {
                Some(auth::days_from(now, days))
            }
            Some(days) => {
                return Err(invalid(
                    "expires_in_days",
                    format!(
                        "{days} is out of range 1..={MAX_EXPIRES_IN_DAYS}; \
                         leave it out for a token that never expires"
                    ),
                ));
            }
        };
        Ok((self.name, scope, expires_at))
    }
}

/// Create a token. The answer carries its secret, which is never shown again.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("token" = ["admin"])),
    request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken, description = "Created; `secret` is shown this once"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 422, body = rewind_model::ApiErrorBody, description = "A field is invalid; `details.field` names it"),
    )
)]
async fn create(
    Admin(caller): Admin,
    State(state): State<AppState>,
    body: Result<Json<CreateToken>, JsonRejection>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let (name, scope, expires_at) = json_body(body)?.check(now)?;
    let (secret, new) = auth::mint_token(&name, scope, now, expires_at);
    let token = state.store().create_token(&new).await?;
    tracing::info!(token = %token.name, id = %token.id, by = %caller.actor(), "token created");
    let location = format!("/api/v1/tokens/{}", token.id);
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(CreatedToken { token, secret }),
    )
        .into_response())
}

/// Every token, newest first, revoked and expired ones included (never their secrets).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("token" = ["admin"])),
    responses(
        (status = 200, body = Vec<TokenInfo>),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
    )
)]
async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(state.store().list_tokens().await?))
}

/// Revoke a token: it stops working at once. Revoking twice keeps the first time.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    security(("token" = ["admin"])),
    params(("id" = TokenId, Path, description = "The token's id (from the list, not its secret)")),
    responses(
        (status = 200, body = TokenInfo, description = "Revoked"),
        (status = 400, body = rewind_model::ApiErrorBody),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 404, body = rewind_model::ApiErrorBody),
    )
)]
async fn revoke(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TokenInfo>, ApiError> {
    let id: TokenId = parse_id(&id)?;
    let token = state
        .store()
        .revoke_token(id, Timestamp::now())
        .await
        .map_err(|e| match e {
            rewind_store::Error::NotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("token {id} not found"),
            )
            .hint("GET /api/v1/tokens (or `rewind token list`) lists the tokens and their ids"),
            other => other.into(),
        })?;
    tracing::info!(token = %token.name, id = %token.id, by = %caller.actor(), "token revoked");
    state.token_revoked(token.id);
    Ok(Json(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> CreateToken {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn requests_become_scopes_or_name_the_bad_field() {
        let now = Timestamp::from_unix_millis(0);
        let (_, scope, exp) = req(serde_json::json!({"name": "a"})).check(now).unwrap();
        assert_eq!(scope, TokenScope::User { role: Role::Viewer });
        assert!(exp.is_none());
        let (_, scope, exp) =
            req(serde_json::json!({"name": "r", "device_id": "robot-7", "expires_in_days": 2}))
                .check(now)
                .unwrap();
        assert!(matches!(scope, TokenScope::Device { .. }));
        assert_eq!(exp, Some(Timestamp::from_unix_millis(2 * 86_400_000)));
        for body in [
            serde_json::json!({"name": ""}),
            serde_json::json!({"name": "a\u{7}"}),
            serde_json::json!({"name": "x".repeat(65)}),
            serde_json::json!({"name": "a", "role": "admin", "device_id": "d"}),
            serde_json::json!({"name": "a", "device_id": "a/b"}),
            serde_json::json!({"name": "a", "expires_in_days": 0}),
        ] {
            let err = req(body.clone()).check(now).unwrap_err();
            assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(err.code(), "invalid_body");
        }
    }
}
