//! Every route in the OpenAPI document refuses a missing token and a token
//! one step too weak for it; the document and the code cannot drift apart.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::Value;

use crate::TestServer;

/// Routes anyone may call (the sign-in takes its token in the body).
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/session"),
];

/// The least role each security scope means, and a token just below it.
fn weaker(server: &TestServer, scope: &str) -> Option<(&'static str, String)> {
    match scope {
        "viewer" => Some(("a device token", server.device.clone())),
        "responder" => Some(("a viewer token", server.viewer.clone())),
        "admin" => Some(("a responder token", server.responder.clone())),
        "device" => Some(("a responder token", server.responder.clone())),
        _ => None,
    }
}

fn concrete(path: &str) -> String {
    // Any path parameter becomes a syntactically valid id.
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str("0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f");
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_documented_route_refuses_missing_and_too_weak_tokens() {
    let server = TestServer::new(1 << 20).await;
    let (status, doc) = server.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        paths.len() >= 15,
        "the document lists the routes: {}",
        paths.len()
    );
    let mut checked = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let uri = concrete(path);
            let call = |token: String| {
                let mut req = Request::builder().method(m.clone()).uri(&uri);
                if !token.is_empty() {
                    req = req.header("authorization", format!("Bearer {token}"));
                }
                req.header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap()
            };
            let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
            let scopes: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["token"].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if public {
                assert!(
                    scopes.is_empty(),
                    "{method} {path} is public but documents a scope"
                );
                continue;
            }
            assert_eq!(
                scopes.len(),
                1,
                "{method} {path} must document exactly one scope"
            );
            let (status, body) = server.request_as("", call(String::new())).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token: {body}"
            );
            assert_eq!(body["error"]["code"], "unauthorized");
            let (status, body) = server.request_as("rwd_0000", call(String::new())).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with a bad token: {body}"
            );
            let (what, token) = weaker(&server, scopes[0])
                .unwrap_or_else(|| panic!("{method} {path}: unknown scope {}", scopes[0]));
            let (status, body) = server.request_as(&token, call(String::new())).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} with {what}: {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} routes checked");
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused() {
    let server = TestServer::new(1 << 20).await;
    let tokens = server.store.list_tokens().await.unwrap();
    let victor = tokens.iter().find(|t| t.name == "victor").unwrap();
    server
        .store
        .revoke_token(victor.id, rewind_model::Timestamp::now())
        .await
        .unwrap();
    let (status, body) = server.get("/api/v1/incidents").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );
}

#[tokio::test]
async fn the_session_cookie_works_but_writes_through_it_need_the_csrf_header() {
    let server = TestServer::new(1 << 20).await;
    let cookie = format!("rewind_token={}", server.responder);
    let req = Request::get("/api/v1/incidents")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _) = server.request_as("", req).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.upload(crate::bundle(5)).await;
    assert_eq!(status, StatusCode::CREATED);
    let uri = format!("/api/v1/incidents/{}/notes", body["id"].as_str().unwrap());
    let note = |csrf: bool| {
        let mut req = Request::post(&uri)
            .header("cookie", &cookie)
            .header("content-type", "application/json");
        if csrf {
            req = req.header("x-rewind-csrf", "1");
        }
        req.body(Body::from(r#"{"text":"hi"}"#)).unwrap()
    };
    let (status, body) = server.request_as("", note(false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "csrf");
    let (status, _) = server.request_as("", note(true)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = rewind_server::ServerConfig::new(dir.path().to_path_buf());
    config.rate_limit_per_second = 1;
    config.rate_limit_burst = 3;
    let state = rewind_server::AppState::open(&config).await.unwrap();
    let token = crate::make_token(
        &**state.store(),
        "busy",
        rewind_model::TokenScope::User {
            role: rewind_model::Role::Viewer,
        },
    )
    .await;
    let app = rewind_server::router(state);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let req = Request::get("/api/v1/incidents")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
        }
        statuses.push(res.status());
    }
    assert_eq!(&statuses[..3], [StatusCode::OK; 3], "the burst passes");
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
}
