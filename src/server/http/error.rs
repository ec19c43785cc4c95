//! Failures as the OpenAI API answers them: `{"error":{message, type, code,
//! param, …}}` with the HTTP status of the error's kind (so the OpenAI SDKs
//! raise their usual exception classes) and `retry-after` when known.
//!
//! An [`ApiError`] becomes a response in two steps, so that no error body
//! leaves the process unscrubbed: [`IntoResponse`] sets the status and
//! headers and carries the error along (a [`Failure`] extension); the
//! [boundary](super::boundary), which knows the configured secrets and the
//! key the request presented, writes the JSON body through [`Scrub`].
//! Knows no route and no handler.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorKind};
use crate::redact::Redactor;

/// An error on its way to the client.
#[derive(Debug, Clone)]
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

    pub(crate) fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// The Router's attempts behind the error (none for a refusal).
    pub(crate) fn attempts(&self) -> &[crate::error::Attempt] {
        self.error.attempts()
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.error.kind().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    /// The OpenAI error JSON, credential-looking text already replaced;
    /// [`Scrub::body`] also replaces the secrets this process knows.
    pub(crate) fn body(&self) -> serde_json::Value {
        Scrub::default().body(self)
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

/// An error response whose body the boundary has still to write.
#[derive(Clone, Debug)]
pub(crate) struct Failure(pub(crate) ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = self.status().into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(after) = self.error.retry_after() {
            let secs = after.as_secs_f64().ceil() as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(Failure(self));
        resp
    }
}

/// What must not leave the process in an error: the secrets it was
/// configured with and the key the request presented (both replaced by
/// content), and anything shaped like a credential (replaced by shape).
#[derive(Clone, Default)]
pub(crate) struct Scrub {
    redactor: Redactor,
    /// The header the request's key came in (`Bearer sk-…`, or the bare key).
    presented: Option<HeaderValue>,
}

impl Scrub {
    pub(crate) fn new(redactor: Redactor, presented: Option<HeaderValue>) -> Self {
        Scrub {
            redactor,
            presented,
        }
    }

    /// `text` with every secret replaced.
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let key = self
            .presented
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(super::key::key_of);
        match key {
            // Rare (an error): a redactor with this one more secret.
            Some(k) if text.contains(k) => Cow::Owned(
                self.redactor
                    .with([k])
                    .redact(text)
                    .replace(k, crate::redact::REDACTED),
            ),
            _ => self.redactor.redact(text),
        }
    }

    /// The OpenAI error JSON of `e`, scrubbed.
    pub(crate) fn body(&self, e: &ApiError) -> serde_json::Value {
        let mut body = e.error.to_openai_json();
        if let Some(err) = body.get_mut("error").and_then(|e| e.as_object_mut()) {
            if let Some(p) = &e.param {
                err.insert("param".into(), p.clone().into());
            }
            if let Some(c) = e.code {
                err.insert("code".into(), c.into());
            }
            for field in ["message", "code", "param"] {
                if let Some(serde_json::Value::String(s)) = err.get_mut(field)
                    && let Cow::Owned(clean) = self.text(s)
                {
                    *s = clean;
                }
            }
        }
        body
    }

    /// A stream's error event (`data: {"error":…}`), scrubbed.
    pub(crate) fn event(&self, e: &Error) -> bytes::Bytes {
        let body = self.body(&ApiError::from(e.clone()));
        bytes::Bytes::from(format!("data: {body}\n\n"))
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

/// 408 for a request whose head or body did not arrive in time.
pub(crate) fn too_slow(what: &str, limit: std::time::Duration) -> ApiError {
    ApiError::invalid(
        format!(
            "the request {what} did not arrive within {} s",
            limit.as_secs_f64()
        ),
        None,
    )
    .with_status(StatusCode::REQUEST_TIMEOUT)
    .with_code("request_timeout")
}

/// 500 for a request whose handling panicked (a bug, logged).
pub(crate) fn panicked() -> ApiError {
    ApiError::from(Error::new(
        ErrorKind::Internal,
        "the server failed while handling this request (a bug; it has been logged)",
    ))
    .with_code("internal_error")
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
        assert!(resp.extensions().get::<Failure>().is_some());
    }

    #[test]
    fn invalid_request_names_the_field() {
        let e = ApiError::invalid("wrong type", Some("temperature".into()));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let body = e.body();
        assert_eq!(body["error"]["param"], "temperature");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn known_secrets_the_presented_key_and_credential_shapes_are_scrubbed() {
        let scrub = Scrub::new(
            Redactor::new(["prov-secret-123456"]),
            Some(HeaderValue::from_static("Bearer my-virtual-key-42")),
        );
        let e = ApiError::from(Error::new(
            ErrorKind::BadRequest,
            "echo: prov-secret-123456 / my-virtual-key-42 / Authorization: Bearer abcdefghijkl",
        ));
        let text = scrub.body(&e).to_string();
        for secret in ["prov-secret-123456", "my-virtual-key-42", "abcdefghijkl"] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(text.contains("[REDACTED]"), "{text}");
        let event = scrub.event(&Error::new(ErrorKind::Internal, "key prov-secret-123456"));
        let event = String::from_utf8(event.to_vec()).unwrap();
        assert!(event.starts_with("data: {\"error\""), "{event}");
        assert!(!event.contains("prov-secret"), "{event}");
    }
}
