//! Failures as the OpenAI API answers them: `{"error":{message, type, code,
//! param, …}}` with the HTTP status of the error's kind (so the OpenAI SDKs
//! raise their usual exception classes) and `retry-after` when known.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorKind};

/// An error on its way to the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    error: Error,
    /// Replaces the kind's status (413, 405: no kind of their own).
    status: Option<StatusCode>,
    /// The request field at fault (`messages[0].content`).
    param: Option<String>,
    /// Replaces the error's code.
    code: Option<&'static str>,
}

impl ApiError {
    /// A 400 `invalid_request_error` about the request itself.
    pub(crate) fn invalid(message: impl Into<String>, param: Option<String>) -> Self {
        ApiError {
            error: Error::bad_request(message),
            status: None,
            param,
            code: Some("invalid_request_error"),
        }
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub(crate) fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.error.kind().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    /// The OpenAI error JSON.
    pub(crate) fn body(&self) -> serde_json::Value {
        let mut body = self.error.to_openai_json();
        if let Some(err) = body.get_mut("error").and_then(|e| e.as_object_mut()) {
            if let Some(p) = &self.param {
                err.insert("param".into(), p.clone().into());
            }
            if let Some(c) = self.code {
                err.insert("code".into(), c.into());
            }
        }
        body
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError {
            error,
            status: None,
            param: None,
            code: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        // For the metrics layer: the unified kind behind the status.
        resp.extensions_mut().insert(self.error.kind());
        if let Some(after) = self.error.retry_after() {
            let secs = after.as_secs_f64().ceil() as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// 401 for a missing or wrong master key.
pub(crate) fn unauthorized(message: &str) -> ApiError {
    ApiError::from(Error::new(ErrorKind::Authentication, message)).with_code("invalid_api_key")
}

/// 404 for a path the server does not have.
pub(crate) fn no_route(method: &str, path: &str) -> ApiError {
    ApiError::from(Error::new(
        ErrorKind::NotFound,
        format!("no route {method} {path}"),
    ))
    .with_code("not_found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_limit_keeps_429_and_rounds_retry_after_up() {
        let e = Error::new(ErrorKind::RateLimit, "slow down")
            .with_retry_after(Some(Duration::from_millis(1500)));
        let resp = ApiError::from(e).into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn invalid_request_names_the_field() {
        let e = ApiError::invalid("wrong type", Some("temperature".into()));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let body = e.body();
        assert_eq!(body["error"]["param"], "temperature");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
}
