//! The dashboard, embedded from `web/dist` at compile time.
//!
//! A build without Node.js still compiles: `web/dist` then holds only its
//! `.gitignore`, and `/` answers with a page saying how to build the
//! dashboard. Hashed assets under `/assets/` are cached for a year;
//! `index.html` is never cached, so a new server version shows at once.

use axum::{
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{Html, IntoResponse, Response},
};
use rust_embed::RustEmbed;

use crate::ApiError;

#[derive(RustEmbed)]
#[folder = "../../web/dist/"]
#[exclude = ".gitignore"]
struct Assets;

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rewind: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Rewind</h1>
<p>The server is running, but this binary was built without the dashboard
(Node.js and npm were not available when it was compiled).</p>
<p>Build it and recompile:</p>
<pre>npm --prefix web ci &amp;&amp; npm --prefix web run build
cargo build --release</pre>
<p>The JSON API works meanwhile: <a href="/api/v1/incidents">/api/v1/incidents</a>.</p>
</body></html>"#;

/// Serves an embedded file, or `index.html` for client-side routes.
pub(crate) async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        )
        .into_response();
    }
    if path.starts_with("api/") {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no API route /{path}"),
        )
        .hint("see docs/api.md for the routes")
        .into_response();
    }
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return asset_response(path, file.data.into_owned(), cache);
    }
    let looks_like_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    if looks_like_file {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => asset_response("index.html", index.data.into_owned(), "no-cache"),
        None => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-cache")],
            Html(NOT_BUILT),
        )
            .into_response(),
    }
}

fn asset_response(path: &str, body: Vec<u8>, cache: &'static str) -> Response {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut res = body.into_response();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}
