//! The admin API's error answers: `{"error": code, "field": name, "message": text}`, with the
//! field named whenever one value is to blame, so a caller can point at it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::log::ErrorCause;
use crate::service::ServiceError;

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `invalid_request` (the request or a value in it is refused), `not_found`, `conflict`,
    /// `server_error`.
    pub error: &'static str,
    /// The refused field (a body or query field, `resources`, `scopes[1].name`, …) when one is
    /// to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) body: ErrorBody,
    /// The real cause of a 500: logged by the access log, never sent.
    cause: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                field: None,
                message: message.into(),
            },
            cause: None,
        }
    }

    /// A value the caller sent is refused: 422 naming it.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message);
        e.body.field = Some(field.into());
        e
    }

    /// A value is refused but no single field is to blame.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    /// The request cannot be read at all (malformed JSON, wrong media type, too large).
    pub fn bad_request(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal error",
        );
        e.cause = Some(cause.to_string());
        e
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => Self::invalid(field, message),
            ServiceError::NotFound(what) => Self::not_found(format!("{what} not found")),
            ServiceError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::Internal(cause) => Self::internal(cause),
        }
    }
}

/// The error code and field of an error answer, for the audit line of a refused change (the
/// body is already encoded by then).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: &'static str,
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let refusal = Refusal {
            error: self.body.error,
            field: self.body.field.clone(),
        };
        let mut response = (self.status, Json(self.body)).into_response();
        response.extensions_mut().insert(refusal);
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn service_errors_map_to_statuses() {
        let cases = [
            (
                ServiceError::Invalid {
                    field: "name",
                    message: "bad".into(),
                },
                422,
            ),
            (ServiceError::NotFound("client c_1".into()), 404),
            (ServiceError::Conflict("taken".into()), 409),
            (
                ServiceError::Internal(AppError::Startup("secret detail".into())),
                500,
            ),
        ];
        for (error, status) in cases {
            let r = ApiError::from(error).into_response();
            assert_eq!(r.status().as_u16(), status);
        }
    }

    #[test]
    fn internal_cause_is_logged_not_sent() {
        let e = ApiError::internal("db password=hunter2");
        assert_eq!(e.body.message, "internal error");
        let r = e.into_response();
        assert!(r.extensions().get::<ErrorCause>().is_some());
    }
}
