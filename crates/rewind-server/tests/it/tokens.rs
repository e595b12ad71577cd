//! `/api/v1/tokens`: admins create (the secret shown once), list and revoke
//! tokens; everyone else is refused.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use rewind_model::{DeviceId, Role, Timestamp, TokenScope};
use rewind_server::{AppState, ServerConfig, auth};
use serde_json::{Value, json};

use crate::send;

/// A router over a fresh state directory, with its state to make tokens in.
pub(crate) struct Authed {
    pub app: Router,
    pub state: AppState,
    pub _dir: tempfile::TempDir,
}

impl Authed {
    pub(crate) async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig::new(dir.path().to_path_buf());
        let state = AppState::open(&config).await.unwrap();
        Self {
            app: rewind_server::router(state.clone()),
            state,
            _dir: dir,
        }
    }

    /// Stores a token straight in the database; returns its secret.
    pub(crate) async fn token(&self, name: &str, scope: TokenScope) -> String {
        mint(&self.state, name, scope, None).await
    }

    pub(crate) async fn user(&self, role: Role) -> String {
        self.token(role.as_str(), TokenScope::User { role }).await
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        uri: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        send(self.app.clone(), request(method, uri, bearer, body)).await
    }
}

pub(crate) async fn mint(
    state: &AppState,
    name: &str,
    scope: TokenScope,
    expires_at: Option<Timestamp>,
) -> String {
    let (secret, new) = auth::mint_token(name, scope, Timestamp::now(), expires_at);
    state.store().create_token(&new).await.unwrap();
    secret
}

pub(crate) fn request(
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(secret) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {secret}"));
    }
    match body {
        Some(body) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn an_admin_creates_lists_and_revokes_tokens_and_the_secret_is_shown_once() {
    let s = Authed::new().await;
    let admin = s.user(Role::Admin).await;

    let (status, made) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "alice", "role": "responder", "expires_in_days": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rwd_"), "{made}");
    assert_eq!(made["name"], "alice");
    assert_eq!(made["scope"], json!({"kind": "user", "role": "responder"}));
    assert!(secret.starts_with(made["prefix"].as_str().unwrap()));
    assert!(made["expires_at"].is_string());
    let id = made["id"].as_str().unwrap().to_owned();

    // The new token works, with its role.
    let (status, _) = s
        .call("GET", "/api/v1/incidents", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.call("GET", "/api/v1/tokens", Some(&secret), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a responder may not list tokens"
    );

    // Listed without secrets.
    let (status, list) = s.call("GET", "/api/v1/tokens", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(!list.to_string().contains(&secret), "no secret in the list");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("secret").is_none())
    );

    // Revoked: 200 with the token, then it stops working.
    let (status, revoked) = s
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (status, body) = s
        .call("GET", "/api/v1/incidents", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    // Revoking again keeps the first time; an unknown id is 404; a bad one 400.
    let (status, again) = s
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    let other = rewind_model::TokenId::new_v7();
    let (status, body) = s
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{other}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("token list")
    );
    let (status, _) = s
        .call("DELETE", "/api/v1/tokens/nope", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn device_tokens_are_made_for_one_device() {
    let s = Authed::new().await;
    let admin = s.user(Role::Admin).await;
    let (status, made) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "robot-7 agent", "device_id": "robot-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        made["scope"],
        json!({"kind": "device", "device_id": "robot-7"})
    );
    let device = made["secret"].as_str().unwrap();
    let (status, _) = s.call("GET", "/api/v1/incidents", Some(device), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a device token only ingests");
}

#[tokio::test]
async fn bad_requests_are_422_naming_the_field() {
    let s = Authed::new().await;
    let admin = s.user(Role::Admin).await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(65)}), "name"),
        (json!({"name": "tab\there"}), "name"),
        (
            json!({"name": "a", "role": "admin", "device_id": "robot-7"}),
            "device_id",
        ),
        (json!({"name": "a", "device_id": "../etc"}), "device_id"),
        (
            json!({"name": "a", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "a", "expires_in_days": 100_000}),
            "expires_in_days",
        ),
    ] {
        let (status, err) = s
            .call("POST", "/api/v1/tokens", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["details"]["field"], field, "{body}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(field),
            "{body}: {err}"
        );
    }
    // Unknown fields and wrong types: 422 from the JSON reader, naming them too.
    let (status, err) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "a", "role": "root"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("role"),
        "{err}"
    );
    let (status, list) = s.call("GET", "/api/v1/tokens", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing was stored: {list}"
    );
}

#[tokio::test]
async fn only_admins_manage_tokens() {
    let s = Authed::new().await;
    let device = s
        .token(
            "d",
            TokenScope::Device {
                device_id: DeviceId::new("robot-7").unwrap(),
            },
        )
        .await;
    let id = rewind_model::TokenId::new_v7();
    for who in [
        None,
        Some(s.user(Role::Viewer).await),
        Some(s.user(Role::Responder).await),
        Some(device),
    ] {
        let want = if who.is_none() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        for (method, uri, body) in [
            ("GET", "/api/v1/tokens".to_owned(), None),
            (
                "POST",
                "/api/v1/tokens".to_owned(),
                Some(json!({"name": "x", "role": "admin"})),
            ),
            ("DELETE", format!("/api/v1/tokens/{id}"), None),
        ] {
            let (status, _) = s.call(method, &uri, who.as_deref(), body).await;
            assert_eq!(status, want, "{method} {uri} as {who:?}");
        }
    }
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let s = Authed::new().await;
    let past = Timestamp::now().add_nanos(-1_000_000_000);
    let secret = mint(
        &s.state,
        "old",
        TokenScope::User { role: Role::Admin },
        Some(past),
    )
    .await;
    let (status, body) = s.call("GET", "/api/v1/tokens", Some(&secret), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}
