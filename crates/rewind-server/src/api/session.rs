//! The dashboard's session: sign in with a user token (kept in an HttpOnly
//! cookie, so page scripts never see it), ask who is signed in, sign out.
//!
//! `POST /api/v1/session` is the one public route besides `/healthz` and
//! `/readyz`: it takes the token in its body, checks it exactly as
//! [`auth::lookup`] checks a header, and only then sets the cookie. A
//! cross-site form cannot call it (it needs `Content-Type: application/json`,
//! which browsers only send cross-origin after a CORS preflight this server
//! never grants), and the cookie is `SameSite=Strict`.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use rewind_model::{Role, Timestamp, TokenInfo, TokenScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json_body;
use crate::{
    ApiError, AppState,
    auth::{self, SESSION_COOKIE, Viewer},
};

/// Longest a session cookie lives, in seconds (30 days); less when the
/// token expires sooner. Signing in again starts a new one.
pub(crate) const MAX_SESSION_SECS: i64 = 30 * 24 * 3600;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_in, who_am_i, sign_out))
}

/// Body of `POST /api/v1/session`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    /// A user token's secret (`rwd_…`), from `rewind token create`.
    token: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").finish_non_exhaustive()
    }
}

/// Who is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionInfo {
    /// The token's name.
    name: String,
    /// Its role.
    role: Role,
    /// When the token stops working, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
}

fn user_session(token: &TokenInfo) -> Result<SessionInfo, ApiError> {
    match &token.scope {
        TokenScope::User { role } => Ok(SessionInfo {
            name: token.name.clone(),
            role: *role,
            expires_at: token.expires_at,
        }),
        TokenScope::Device { device_id } => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "token `{}` is a device token for {device_id}; it cannot sign in to the dashboard",
                token.name
            ),
        )
        .hint("sign in with a user token: rewind token create --name you --role viewer")),
    }
}

/// The `Set-Cookie` value of a session for `secret`, living `max_age` seconds.
fn session_cookie(secret: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    )
}

/// Seconds a session for `token` may live from `now`.
fn session_secs(token: &TokenInfo, now: Timestamp) -> i64 {
    let left = token
        .expires_at
        .map_or(MAX_SESSION_SECS, |e| e.nanos_since(now) / 1_000_000_000);
    left.clamp(1, MAX_SESSION_SECS)
}

fn with_cookie(body: impl IntoResponse, cookie: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::from_str(cookie)
        .map_err(|e| ApiError::internal("building the session cookie", &e))?;
    let mut res = body.into_response();
    res.headers_mut().insert(header::SET_COOKIE, value);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Sign in to the dashboard: checks the user token in the body and sets it as
/// the HttpOnly `rewind_token` cookie. Public: the token is in the body.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    security(()),
    request_body = SignIn,
    responses(
        (status = 200, body = SessionInfo, description = "Signed in; `Set-Cookie: rewind_token=…; HttpOnly; SameSite=Strict`"),
        (status = 401, body = rewind_model::ApiErrorBody, description = "Not a Rewind token, or unknown, revoked or expired"),
        (status = 403, body = rewind_model::ApiErrorBody, description = "A device token"),
        (status = 415, body = rewind_model::ApiErrorBody),
        (status = 422, body = rewind_model::ApiErrorBody),
        (status = 429, body = rewind_model::ApiErrorBody),
    )
)]
async fn sign_in(
    State(state): State<AppState>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    let secret = json_body(body)?.token.trim().to_owned();
    let token = auth::lookup(&state, &secret).await.map_err(|e| {
        if e.status() == StatusCode::UNAUTHORIZED {
            e.hint(
                "paste the whole secret (rwd_ and 40 hex characters) that `rewind token create` \
                 printed; `rewind token list` shows which tokens exist and which are revoked or expired",
            )
        } else {
            e
        }
    })?;
    let info = user_session(&token)?;
    state.rate_limit(&token)?;
    let cookie = session_cookie(
        &secret,
        session_secs(&token, Timestamp::now()),
        state.secure_cookies(),
    );
    tracing::info!(token = %token.name, "dashboard sign-in");
    with_cookie(Json(info), &cookie)
}

/// Who is signed in (or whose token the request carries).
#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "session",
    security(("token" = ["viewer"])),
    responses(
        (status = 200, body = SessionInfo),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
    )
)]
async fn who_am_i(Viewer(caller): Viewer) -> Result<Json<SessionInfo>, ApiError> {
    Ok(Json(user_session(&caller.token)?))
}

/// Sign out: clears the session cookie. The token itself stays valid (revoke
/// it with `DELETE /api/v1/tokens/{id}` to stop it everywhere).
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    security(("token" = ["viewer"])),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody, description = "A cookie-authenticated call without the x-rewind-csrf header"),
    )
)]
async fn sign_out(_: Viewer, State(state): State<AppState>) -> Result<Response, ApiError> {
    with_cookie(
        StatusCode::NO_CONTENT,
        &session_cookie("", 0, state.secure_cookies()),
    )
}

#[cfg(test)]
mod tests {
    use rewind_model::{DeviceId, TokenId};

    use super::*;

    fn token(expires_at: Option<Timestamp>) -> TokenInfo {
        TokenInfo {
            id: TokenId::new_v7(),
            name: "alice".into(),
            scope: TokenScope::User { role: Role::Viewer },
            prefix: "rwd_abcdef".into(),
            created_at: Timestamp::from_unix_millis(0),
            expires_at,
            revoked_at: None,
        }
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_tls() {
        let c = session_cookie("rwd_x", 60, false);
        assert_eq!(
            c,
            "rewind_token=rwd_x; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert!(session_cookie("rwd_x", 60, true).ends_with("; Secure"));
    }

    #[test]
    fn sessions_end_with_the_token_or_after_30_days() {
        let now = Timestamp::from_unix_millis(0);
        assert_eq!(session_secs(&token(None), now), MAX_SESSION_SECS);
        let soon = Some(Timestamp::from_unix_millis(90_000));
        assert_eq!(session_secs(&token(soon), now), 90);
        let past = Some(Timestamp::from_unix_millis(-1));
        assert_eq!(session_secs(&token(past), now), 1);
    }

    #[test]
    fn device_tokens_cannot_sign_in() {
        let mut t = token(None);
        assert!(user_session(&t).is_ok());
        t.scope = TokenScope::Device {
            device_id: DeviceId::new("robot-7").unwrap(),
        };
        assert_eq!(
            user_session(&t).unwrap_err().status(),
            StatusCode::FORBIDDEN
        );
    }
}
