//! JSON bodies and query strings read into typed requests, whose refusals name the field; list
//! envelopes and keyset cursors.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::http::extract::{BODY_LIMIT, BodyFailure};

/// A JSON request body. An empty body reads as `{}`, so optional bodies need no special case
/// and a missing required field is reported by name.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let body = to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|e| {
            let failure = BodyFailure::of(&e);
            let status = StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::BAD_REQUEST);
            ApiError::bad_request(status, failure.message())
        })?;
        if body.is_empty() {
            return parse_json(b"{}").map(ApiJson);
        }
        if !json {
            return Err(ApiError::bad_request(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be application/json",
            ));
        }
        parse_json(&body).map(ApiJson)
    }
}

/// Syntax errors are 400 (nothing could be read); values of the wrong type, unknown and
/// missing fields are 422 naming the field.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let not_json = |e: serde_json::Error| {
        ApiError::bad_request(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            refused(&path, &inner.to_string())
        } else {
            not_json(inner)
        }
    })?;
    de.end().map_err(not_json)?;
    Ok(value)
}

/// The refused field: the path where deserialisation failed, plus for a missing field (which
/// serde reports at its parent) the field's own name from serde's message, whose wording
/// (`missing field `x``) is serde's stable `de::Error::missing_field` text.
fn refused(path: &str, message: &str) -> ApiError {
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let parent = (path != "." && !path.is_empty()).then_some(path);
    let field = match (parent, named) {
        (Some(p), Some(n)) => Some(format!("{p}.{n}")),
        (Some(p), None) => Some(p.to_owned()),
        (None, Some(n)) => Some(n.to_owned()),
        (None, None) => None,
    };
    match field {
        Some(f) => ApiError::invalid(f, message),
        None => ApiError::unprocessable(message),
    }
}

/// A query string read into `T`; unknown and repeated parameters are refused.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(raw.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                refused(&path, &e.into_inner().to_string())
            })
    }
}

/// Path parameters (percent-decoded); a refusal is JSON like every other.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|e| ApiError::bad_request(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// `null` and absent told apart in a partial update: absent leaves a value as it is (outer
/// `None`), `null` clears it (`Some(None)`). Use with `#[serde(default)]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Search and keyset pagination of clients and users.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Case-insensitive prefix of a name, id, username or email.
    pub q: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
    /// `next.after` of the previous page.
    pub after: Option<String>,
    /// `next.after_id` of the previous page.
    pub after_id: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(limit)
    }

    pub fn prefix(&self) -> Option<&str> {
        self.q.as_deref().filter(|q| !q.is_empty())
    }

    /// The last row of the previous page, as (sort key, id).
    pub fn after(&self) -> Result<Option<(&str, &str)>, ApiError> {
        match (&self.after, &self.after_id) {
            (Some(a), Some(id)) => Ok(Some((a, id))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ApiError::invalid(
                "after_id",
                "after and after_id come together (both from next)",
            )),
            (None, Some(_)) => Err(ApiError::invalid(
                "after",
                "after and after_id come together (both from next)",
            )),
        }
    }
}

/// Where the next page starts: pass both values back as query parameters.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cursor {
    pub after: String,
    pub after_id: String,
}

/// One page of a list. `next` is null when the page is not full; a full page's `next` may lead
/// to an empty one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T: ToSchema> Page<T> {
    /// A full page may have a successor; `cursor` gives the (sort key, id) of its last row.
    pub fn of(items: Vec<T>, limit: i64, cursor: impl Fn(&T) -> Cursor) -> Self {
        let full = i64::try_from(items.len()).is_ok_and(|n| n >= limit);
        let next = items.last().filter(|_| full).map(cursor);
        Self { items, next }
    }
}

/// A whole (short) list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        ttl: Option<i64>,
        scopes: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    fn field_of(raw: &str) -> (u16, Option<String>) {
        let e = parse_json::<Body>(raw.as_bytes()).expect_err(raw);
        (e.status.as_u16(), e.body.field)
    }

    #[test]
    fn refusals_name_the_field() {
        assert_eq!(field_of(r#"{"scopes": []}"#), (422, Some("name".into())));
        assert_eq!(
            field_of(r#"{"name": "a", "scopes": [], "nmae": 1}"#),
            (422, Some("nmae".into()))
        );
        assert_eq!(
            field_of(r#"{"name": "a", "ttl": "ten", "scopes": []}"#),
            (422, Some("ttl".into()))
        );
        assert_eq!(
            field_of(r#"{"name": "a", "scopes": [{"name": "x"}, {"nam": "y"}]}"#),
            (422, Some("scopes[1].nam".into()))
        );
        assert_eq!(field_of(r#"{"name": "a""#), (400, None));
        assert_eq!(field_of(r#"{"name": "a", "scopes": []} x"#), (400, None));
        assert_eq!(field_of("\"a string\""), (422, None));
    }
}
