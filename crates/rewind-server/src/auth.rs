//! Who is calling, and may they: bearer tokens (or the dashboard's cookie),
//! checked against the store on every request.
//!
//! Handlers say what they need by taking one of the extractors [`Viewer`],
//! [`Responder`], [`Admin`] or [`Ingest`]; a handler without one is public,
//! and only `/healthz`, `/readyz` and the sign-in `POST /api/v1/session`
//! (which takes its token in the body) are (a test walks the OpenAPI
//! document and checks every other route refuses a missing or too weak
//! token).
//!
//! Secrets look like `rwd_` + 40 hex characters. Only their SHA-256 is
//! stored: a plain hash is enough because the secret carries 160 random bits
//! (a slow password hash protects guessable passwords, which these are not).

use std::fmt;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
};
use rewind_model::{DeviceId, Role, Timestamp, TokenInfo, TokenScope};
use sha2::{Digest as _, Sha256};

use crate::{ApiError, AppState};

/// The cookie the dashboard's session lives in.
pub(crate) const SESSION_COOKIE: &str = "rewind_token";

/// The header a cookie-authenticated write must carry. Browsers only send
/// custom headers cross-origin after a CORS preflight, which this server
/// never grants, so a forged form post from another site cannot carry it.
pub(crate) const CSRF_HEADER: &str = "x-rewind-csrf";

/// What every secret starts with, so leaked ones are easy to grep for.
pub const SECRET_PREFIX: &str = "rwd_";

/// A new random token secret.
#[must_use]
pub fn new_secret() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    // 2 × 122 random bits; 40 hex characters keep 160 of them.
    let hex = format!("{}{}", a.simple(), b.simple());
    format!("{SECRET_PREFIX}{}", &hex[..40])
}

/// The stored form of a secret: SHA-256, lowercase hex.
#[must_use]
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a secret shown in listings (`rwd_ab12cd`).
#[must_use]
pub fn secret_prefix(secret: &str) -> String {
    secret.chars().take(SECRET_PREFIX.len() + 6).collect()
}

/// Longest token name accepted, in characters.
pub const MAX_TOKEN_NAME: usize = 64;

/// Checks a token name: 1 to [`MAX_TOKEN_NAME`] characters, no control
/// characters, not only spaces.
///
/// # Errors
/// A message saying what is wrong with it.
pub fn check_token_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        return Err(
            "the name is empty: give a name for people, such as `alice` or `ci-deploys`".into(),
        );
    }
    if chars > MAX_TOKEN_NAME {
        return Err(format!(
            "the name is {chars} characters long; at most {MAX_TOKEN_NAME} are allowed"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains a control character (a newline, a tab, …)".into());
    }
    Ok(())
}

/// Makes a new token: its secret (to show once, never stored) and the
/// record to store (the secret's hash and prefix). The one place secrets
/// are made, for the API and for `rewind token create` alike.
#[must_use]
pub fn mint_token(
    name: &str,
    scope: TokenScope,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
) -> (String, rewind_store::NewToken) {
    let secret = new_secret();
    let new = rewind_store::NewToken {
        name: name.to_owned(),
        scope,
        secret_hash: hash_secret(&secret),
        prefix: secret_prefix(&secret),
        created_at,
        expires_at,
    };
    (secret, new)
}

/// `now` plus `days` days, for `expires_in_days`.
#[must_use]
pub fn days_from(now: Timestamp, days: u32) -> Timestamp {
    now.add_nanos(i64::from(days).saturating_mul(86_400 * 1_000_000_000))
}

/// An authenticated caller.
#[derive(Clone)]
pub struct Caller {
    /// The token used.
    pub token: TokenInfo,
    /// Whether it came from the session cookie rather than a header.
    pub via_cookie: bool,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("token", &self.token.name)
            .field("via_cookie", &self.via_cookie)
            .finish()
    }
}

impl Caller {
    /// The name recorded on timelines.
    #[must_use]
    pub fn actor(&self) -> String {
        self.token.actor()
    }

    /// The user role, or `None` for a device token.
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        match &self.token.scope {
            TokenScope::User { role } => Some(*role),
            TokenScope::Device { .. } => None,
        }
    }

    fn require_role(&self, need: Role) -> Result<(), ApiError> {
        match self.role() {
            Some(role) if role >= need => Ok(()),
            Some(role) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this needs the {need} role; token `{}` is {role}",
                    self.token.name
                ),
            )
            .hint("ask an admin for a token with that role (rewind token create --role …)")),
            None => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "device token `{}` may only upload bundles and samples for its device",
                    self.token.name
                ),
            )
            .hint("use a user token (viewer, responder or admin) for this")),
        }
    }

    /// Whether this caller may ingest for `device`: its own device token, or
    /// an admin (uploading a bundle by hand).
    ///
    /// # Errors
    /// 403 naming the device the token is for.
    pub fn may_ingest_for(&self, device: &DeviceId) -> Result<(), ApiError> {
        match &self.token.scope {
            TokenScope::Device { device_id } if device_id == device => Ok(()),
            TokenScope::Device { device_id } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_device",
                format!(
                    "token `{}` is for device {device_id}, not {device}",
                    self.token.name
                ),
            )
            .hint("each agent needs its own device token: rewind token create --device ID")),
            TokenScope::User { role: Role::Admin } => Ok(()),
            TokenScope::User { .. } => self.require_role(Role::Admin),
        }
    }
}

/// Reads the secret from `Authorization: Bearer …`, or else the session cookie.
fn secret_from(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v);
        return Some((token.trim().to_owned(), false));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| (v.to_owned(), true))
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).hint(
        "send `Authorization: Bearer rwd_…` with a token from `rewind token create`, \
         or sign in to the dashboard",
    )
}

/// The stored token a secret names, if it may be used now: 401 for
/// something that is not a Rewind secret, an unknown, revoked or expired token.
pub(crate) async fn lookup(state: &AppState, secret: &str) -> Result<TokenInfo, ApiError> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 128 {
        return Err(unauthorized("that is not a Rewind token"));
    }
    let token = state
        .store()
        .token_by_hash(&hash_secret(secret))
        .await?
        .ok_or_else(|| unauthorized("unknown token"))?;
    if token.revoked_at.is_some() {
        return Err(unauthorized("this token was revoked"));
    }
    if !token.is_usable(Timestamp::now()) {
        return Err(unauthorized("this token has expired"));
    }
    Ok(token)
}

/// Authenticates the request and applies the caller's rate limit.
pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let Some((secret, via_cookie)) = secret_from(&parts.headers) else {
        return Err(unauthorized("this route needs a token"));
    };
    let token = lookup(state, &secret).await?;
    let writes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if via_cookie && writes && !parts.headers.contains_key(CSRF_HEADER) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("a change made with the session cookie must carry the {CSRF_HEADER} header"),
        )
        .hint("the dashboard sends it; scripts should use Authorization: Bearer instead"));
    }
    state.rate_limit(&token)?;
    Ok(Caller { token, via_cookie })
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let caller = authenticate(parts, state).await?;
                caller.require_role($role)?;
                Ok(Self(caller))
            }
        }
    };
}

role_extractor!(
    /// A user token with at least the viewer role.
    Viewer,
    Role::Viewer
);
role_extractor!(
    /// A user token with at least the responder role.
    Responder,
    Role::Responder
);
role_extractor!(
    /// A user token with the admin role.
    Admin,
    Role::Admin
);

/// A device token, or an admin's: the handler then checks
/// [`Caller::may_ingest_for`] with the device the data claims to come from.
#[derive(Debug, Clone)]
pub struct Ingest(pub Caller);

impl FromRequestParts<AppState> for Ingest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state).await?;
        if caller.role().is_some() {
            caller.require_role(Role::Admin)?;
        }
        Ok(Self(caller))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_hash_stably() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 40);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
        assert_eq!(secret_prefix(&a).len(), 10);
    }

    #[test]
    fn token_names_are_checked() {
        assert!(check_token_name("alice").is_ok());
        assert!(check_token_name(&"é".repeat(64)).is_ok());
        assert!(
            check_token_name(&"x".repeat(65))
                .unwrap_err()
                .contains("65")
        );
        assert!(check_token_name("  ").unwrap_err().contains("empty"));
        assert!(check_token_name("a\nb").unwrap_err().contains("control"));
    }

    #[test]
    fn minted_tokens_store_only_the_hash() {
        let now = Timestamp::from_unix_millis(0);
        let (secret, new) = mint_token("a", TokenScope::User { role: Role::Viewer }, now, None);
        assert_eq!(new.secret_hash, hash_secret(&secret));
        assert!(secret.starts_with(&new.prefix) && new.prefix.len() < secret.len());
        assert_eq!(days_from(now, 1), Timestamp::from_unix_millis(86_400_000));
    }

    #[test]
    fn the_header_wins_over_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; rewind_token=rwd_c"),
        );
        assert_eq!(secret_from(&h), Some(("rwd_c".into(), true)));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer rwd_h"),
        );
        assert_eq!(secret_from(&h), Some(("rwd_h".into(), false)));
        assert_eq!(secret_from(&HeaderMap::new()), None);
    }
}
