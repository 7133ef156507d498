//! The dashboard's files and the OpenAPI document, embedded in the binary: the page loads
//! nothing from anywhere else.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub(crate) const OPENAPI: &str = include_str!("../assets/openapi.json");
const INDEX: &str = include_str!("../assets/index.html");

/// The files under `/assets/`: name, type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../assets/icon.svg"),
    ),
];

/// A short hash of the content, so a browser revalidates cheaply and never keeps a file of
/// another build.
fn etag(body: &str) -> String {
    // FNV-1a: not for security, only to tell versions apart.
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

fn serve(headers: &HeaderMap, content_type: &'static str, body: &'static str) -> Response {
    let tag = etag(body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, tag);
    }
    response
}

/// `GET /`: the dashboard.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve(&headers, "text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`.
pub(crate) async fn file(
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let name = path.map(|Path(p)| p).unwrap_or_default();
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => serve(&headers, content_type, body),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no asset {name:?}"),
            "the dashboard is at /",
        )
        .into_response(),
    }
}

/// `GET /api/openapi.json`.
pub(crate) async fn openapi(headers: HeaderMap) -> Response {
    serve(&headers, "application/json", OPENAPI)
}
