//! `GET /`: a small page saying what this server is, for whoever opens the issuer URL in a
//! browser, with the ways in: the console, the discovery document and the public keys.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::http::AppState;
use crate::http::ui::{PageError, render};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    issuer: &'a str,
}

pub async fn page(State(state): State<AppState>) -> Result<Response, PageError> {
    render(
        StatusCode::OK,
        &HomePage {
            issuer: state.issuer(),
        },
    )
}
