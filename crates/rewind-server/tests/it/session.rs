//! `/api/v1/session`: the dashboard signs in with a user token in the body
//! and gets it back as an HttpOnly cookie; cookie writes need the CSRF header.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt as _;
use rewind_model::{DeviceId, Role, TokenScope};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::tokens::{Authed, request};

/// Sends `req`; returns the status, the `Set-Cookie` header and the JSON body.
async fn send_full(s: &Authed, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let res = s.app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, cookie, body)
}

fn with_cookie(method: &str, uri: &str, secret: &str, csrf: bool) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, format!("other=1; rewind_token={secret}"));
    if csrf {
        req = req.header("x-rewind-csrf", "1");
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn signing_in_sets_an_http_only_cookie_that_then_authenticates() {
    let s = Authed::new().await;
    let secret = s.user(Role::Responder).await;

    let (status, cookie, body) = send_full(
        &s,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"token": secret})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "responder");
    assert_eq!(body["role"], "responder");
    let cookie = cookie.expect("a Set-Cookie header");
    assert!(
        cookie.starts_with(&format!("rewind_token={secret};")),
        "{cookie}"
    );
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure flag: {cookie}"
    );

    // The cookie is the session: who am I, and reads.
    let (status, _, me) =
        send_full(&s, with_cookie("GET", "/api/v1/session", &secret, false)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"name": "responder", "role": "responder"}));
    let (status, _, _) =
        send_full(&s, with_cookie("GET", "/api/v1/incidents", &secret, false)).await;
    assert_eq!(status, StatusCode::OK);

    // Writes with the cookie need the CSRF header; signing out is one.
    let (status, cookie, err) =
        send_full(&s, with_cookie("DELETE", "/api/v1/session", &secret, false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["code"], "csrf");
    assert!(cookie.is_none());
    let (status, cookie, _) =
        send_full(&s, with_cookie("DELETE", "/api/v1/session", &secret, true)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cookie = cookie.expect("the cookie is cleared");
    assert!(
        cookie.starts_with("rewind_token=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}

#[tokio::test]
async fn bad_tokens_cannot_sign_in() {
    let s = Authed::new().await;
    let device = s
        .token(
            "robot-7 agent",
            TokenScope::Device {
                device_id: DeviceId::new("robot-7").unwrap(),
            },
        )
        .await;
    let cases = [
        (
            json!({"token": "rwd_0000000000000000000000000000000000000000"}),
            StatusCode::UNAUTHORIZED,
            "unknown",
        ),
        (
            json!({"token": "hunter2"}),
            StatusCode::UNAUTHORIZED,
            "not a Rewind token",
        ),
        (
            json!({"token": device}),
            StatusCode::FORBIDDEN,
            "device token",
        ),
        (
            json!({"secret": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "token",
        ),
    ];
    for (body, want, says) in cases {
        let (status, cookie, err) = send_full(
            &s,
            request("POST", "/api/v1/session", None, Some(body.clone())),
        )
        .await;
        assert_eq!(status, want, "{body}: {err}");
        assert!(cookie.is_none(), "{body}: no cookie on failure");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(says),
            "{body}: {err}"
        );
    }
    // A form post (what another site could forge) is not JSON: refused.
    let form = Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("token=rwd_x"))
        .unwrap();
    let (status, cookie, _) = send_full(&s, form).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(cookie.is_none());
    // Revoked tokens cannot sign in either.
    let admin = s.user(Role::Admin).await;
    let viewer = s.user(Role::Viewer).await;
    let (_, list) = s.call("GET", "/api/v1/tokens", Some(&admin), None).await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "viewer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&admin),
        None,
    )
    .await;
    let (status, _, err) = send_full(
        &s,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"token": viewer})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
}

#[tokio::test]
async fn who_am_i_needs_a_user_token() {
    let s = Authed::new().await;
    let (status, _) = s.call("GET", "/api/v1/session", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.call("DELETE", "/api/v1/session", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let viewer = s.user(Role::Viewer).await;
    let (status, me) = s.call("GET", "/api/v1/session", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "viewer");
}

#[tokio::test]
async fn the_openapi_document_marks_exactly_the_public_routes() {
    // Public: no security requirement, or an empty one (`security(())`).
    let doc = serde_json::to_value(rewind_server::openapi()).unwrap();
    let mut public = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let reqs = op.get("security").and_then(Value::as_array);
            let open = match reqs {
                None => true,
                Some(list) => list
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty())),
            };
            if open {
                public.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    public.sort();
    assert_eq!(
        public,
        ["GET /healthz", "GET /readyz", "POST /api/v1/session"],
        "{public:?}"
    );
}
