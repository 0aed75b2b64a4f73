//! The few static files the pages use, embedded in the binary.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    (
        "tessera.css",
        "text/css; charset=utf-8",
        include_str!("../../../static/tessera.css"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_str!("../../../static/admin.css"),
    ),
    (
        "form_post.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/form_post.js"),
    ),
];

pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
