//! Errors: [`Error`] for starting the server, [`ApiError`] for responses.
//!
//! Every error response has the body `{"error": {"code", "message", "hint"}}`
//! with a stable `code` (catalogued in `docs/api.md`). Details of 5xx errors
//! are logged, never sent to clients.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use rewind_model::{ApiErrorBody, ApiErrorDetail};

/// Failures that stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The state directory could not be created.
    #[error("cannot create the state directory: {0}")]
    StateDir(std::io::Error),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] rewind_store::Error),
    /// The blob store could not be opened.
    #[error(transparent)]
    Blobs(#[from] crate::blobs::BlobError),
    /// The TLS certificate or key could not be loaded.
    #[error("cannot load TLS certificate {cert} / key {key}: {reason}")]
    Tls {
        /// Certificate path.
        cert: String,
        /// Key path.
        key: String,
        /// Why.
        reason: String,
    },
    /// Listening on a non-loopback address without TLS or `--insecure`.
    #[error(
        "refusing to listen on {addr} without TLS: tokens would cross the network in clear text. \
         Give --tls-cert and --tls-key, put a TLS proxy in front and listen on 127.0.0.1, \
         or pass --insecure if the network is trusted"
    )]
    InsecureListen {
        /// The address asked for.
        addr: std::net::SocketAddr,
    },
    /// Binding or serving on the socket failed.
    #[error("cannot serve HTTP: {0}")]
    Listen(std::io::Error),
}

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    hint: Option<String>,
    details: Option<serde_json::Value>,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            hint: None,
            details: None,
            retry_after: None,
        }
    }

    /// Adds facts for programs (`details` in the body).
    pub(crate) fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Sets the `Retry-After` header (429 and 503).
    pub(crate) fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Adds a hint saying what to do next.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A 500 whose details are logged here and not sent.
    pub(crate) fn internal(context: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
        .hint("the server log has the details")
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message, for people.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            error: ApiErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                hint: self.hint,
                details: self.details,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
        }
        res
    }
}

impl From<rewind_store::Error> for ApiError {
    fn from(e: rewind_store::Error) -> Self {
        match e {
            rewind_store::Error::NotFound { what } => {
                let hint = match what.split(' ').next() {
                    Some("deploy") => "check the id; GET /api/v1/deploys lists deploys",
                    Some("device") => "check the id; GET /api/v1/devices lists devices",
                    Some("token") => "check the id; GET /api/v1/tokens lists tokens",
                    _ => "check the id; GET /api/v1/incidents lists incidents",
                };
                Self::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("{what} not found"),
                )
                .hint(hint)
            }
            rewind_store::Error::Conflict { constraint } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("conflicts with an existing record ({constraint})"),
            ),
            rewind_store::Error::BundleConflict { bundle_id } => Self::new(
                StatusCode::CONFLICT,
                "bundle_conflict",
                format!("bundle {bundle_id} was stored before with different contents"),
            )
            .hint("bundle ids must be unique; an agent never reuses one"),
            rewind_store::Error::InvalidTransition { from, to, allowed } => {
                let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                let hint = if names.is_empty() {
                    "a resolved incident is final; POST …/reopen opens a new one linked to it"
                        .to_owned()
                } else {
                    format!("from {from} it may move to: {}", names.join(", "))
                };
                Self::new(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    format!("an incident cannot move from {from} to {to}"),
                )
                .hint(hint)
                .details(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            rewind_store::Error::Immutable { id } => Self::new(
                StatusCode::CONFLICT,
                "immutable",
                format!("incident {id} is resolved and can no longer change"),
            )
            .hint("POST /api/v1/incidents/{id}/reopen opens a new incident linked to it"),
            other => Self::internal("storage failed", &other),
        }
    }
}

impl From<rewind_bundle::Error> for ApiError {
    fn from(e: rewind_bundle::Error) -> Self {
        let status = match e {
            rewind_bundle::Error::TooLarge { .. }
            | rewind_bundle::Error::MemberTooLarge { .. }
            | rewind_bundle::Error::UncompressedTooLarge { .. }
            | rewind_bundle::Error::TooManyEntries { .. }
            | rewind_bundle::Error::CompressionRatio { .. }
            | rewind_bundle::Error::TooManyEvents { .. }
            | rewind_bundle::Error::AttachmentsTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, e.code(), e.to_string())
            .hint("the bundle was refused and nothing of it was stored; see docs/bundle-format.md")
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;

    use super::*;

    #[test]
    fn bundles_over_a_size_limit_are_413_and_malformed_ones_422() {
        let status = |e: rewind_bundle::Error| ApiError::from(e).into_response().status();
        let too_big = [
            rewind_bundle::Error::CompressionRatio {
                path: "m".into(),
                size: 10,
                compressed: 1,
                limit: 2,
            },
            rewind_bundle::Error::TooManyEvents { count: 3, limit: 2 },
            rewind_bundle::Error::AttachmentsTooLarge { size: 3, limit: 2 },
        ];
        for e in too_big {
            assert_eq!(status(e), StatusCode::PAYLOAD_TOO_LARGE);
        }
        let odd = rewind_bundle::Error::UnexpectedMember { path: "x".into() };
        assert_eq!(status(odd), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
