//! The one public error. `ErrorKind` decides the OpenAI error type, the HTTP
//! status the proxy answers with, whether a retry may help and whether a
//! failure counts against the deployment that gave it. Knows no provider.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::redact::Redactor;

/// The unified kind every provider failure maps to. More kinds may come:
/// match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    Authentication,
    PermissionDenied,
    NotFound,
    RateLimit,
    ContextWindowExceeded,
    ContentPolicy,
    BadRequest,
    Timeout,
    Connection,
    ServiceUnavailable,
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Authentication,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::RateLimit,
        ErrorKind::ContextWindowExceeded,
        ErrorKind::ContentPolicy,
        ErrorKind::BadRequest,
        ErrorKind::Timeout,
        ErrorKind::Connection,
        ErrorKind::ServiceUnavailable,
        ErrorKind::Internal,
    ];

    /// The snake_case name used in specs and error JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimit => "rate_limit",
            ErrorKind::ContextWindowExceeded => "context_window_exceeded",
            ErrorKind::ContentPolicy => "content_policy",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::ServiceUnavailable => "service_unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The `type` field of an OpenAI error object.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::ContextWindowExceeded | ErrorKind::ContentPolicy | ErrorKind::BadRequest => {
                "invalid_request_error"
            }
            ErrorKind::Timeout => "timeout_error",
            ErrorKind::Connection => "api_connection_error",
            ErrorKind::ServiceUnavailable => "service_unavailable_error",
            ErrorKind::Internal => "api_error",
        }
    }

    /// The HTTP status an OpenAI-compatible server answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Authentication => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RateLimit => 429,
            ErrorKind::ContextWindowExceeded | ErrorKind::ContentPolicy | ErrorKind::BadRequest => {
                400
            }
            // The upstream did not answer in time: the gateway's timeout.
            ErrorKind::Timeout => 504,
            // No usable answer: refused, reset, cut, or not the shape promised.
            ErrorKind::Connection => 502,
            ErrorKind::ServiceUnavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// Whether trying again (later, or elsewhere) may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimit
                | ErrorKind::Timeout
                | ErrorKind::Connection
                | ErrorKind::ServiceUnavailable
                | ErrorKind::Internal
        )
    }

    /// Whether a failure of this kind is the deployment's own (its key, its
    /// limits, its health), so it counts against that deployment and another
    /// deployment may succeed; otherwise the request itself is at fault and
    /// no other deployment would do better.
    pub fn is_deployment_fault(self) -> bool {
        self.is_retryable()
            || matches!(
                self,
                ErrorKind::Authentication | ErrorKind::PermissionDenied | ErrorKind::NotFound
            )
    }

    /// The kind an HTTP status means when nothing more specific is known.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            429 => ErrorKind::RateLimit,
            502..=504 | 529 => ErrorKind::ServiceUnavailable,
            400..=499 => ErrorKind::BadRequest,
            _ => ErrorKind::Internal,
        }
    }

    pub fn parse(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every failure Switchboard returns. Small to move around (one box).
#[derive(Debug, Clone, PartialEq)]
pub struct Error(Box<ErrorDetails>);

/// What an [`Error`] carries, read through accessors so it can grow.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDetails {
    kind: ErrorKind,
    /// The provider's own message, or ours when the failure is local.
    message: String,
    /// The provider's HTTP status, when a response arrived.
    status: Option<u16>,
    provider: Option<String>,
    model: Option<String>,
    retry_after: Option<Duration>,
    /// The provider's own error code or type, when its body names one.
    code: Option<String>,
    /// Every attempt a Router made before giving up (empty for a single call).
    attempts: Vec<Attempt>,
    /// The request parameter at fault, as OpenAI's `param` names it.
    param: Option<String>,
}

impl ErrorDetails {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The provider's own message, or ours when the failure is local.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The provider's HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// How long the provider asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The provider's own error code or type, when its body names one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Every attempt a Router made before giving up (empty for a single call).
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The request parameter at fault (an unsupported one), as OpenAI's `param` names it.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }
}

/// One try of one deployment, as the Router reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub deployment: String,
    pub model: String,
    /// None when the attempt succeeded.
    pub kind: Option<ErrorKind>,
    pub status: Option<u16>,
    pub duration: Duration,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorDetails {
            kind,
            message: message.into(),
            status: None,
            provider: None,
            model: None,
            retry_after: None,
            code: None,
            attempts: Vec::new(),
            param: None,
        }))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadRequest, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    pub fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        self.0.attempts = attempts;
        self
    }

    /// Every attempt a Router made (empty for a single call).
    pub fn attempts(&self) -> &[Attempt] {
        &self.0.attempts
    }

    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.0.code = code;
        self
    }

    /// The request parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.0.param = Some(param.into());
        self
    }

    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.0.retry_after = after;
        self
    }

    /// Names the provider, unless already named.
    pub fn for_provider(mut self, provider: &str) -> Self {
        self.0.provider.get_or_insert_with(|| provider.to_string());
        self
    }

    /// Names the provider and model, unless already named.
    pub fn at(mut self, provider: &str, model: &str) -> Self {
        self.0.provider.get_or_insert_with(|| provider.to_string());
        self.0.model.get_or_insert_with(|| model.to_string());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    pub fn details(&self) -> &ErrorDetails {
        &self.0
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The provider's own error code or type, when its body names one.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// The same error with every secret `redactor` knows, and every
    /// credential-looking value, taken out of its message and code.
    pub fn redacted(mut self, redactor: &Redactor) -> Self {
        if let Cow::Owned(m) = redactor.redact(&self.0.message) {
            self.0.message = m;
        }
        if let Some(code) = &self.0.code
            && let Cow::Owned(c) = redactor.redact(code)
        {
            self.0.code = Some(c);
        }
        self
    }

    /// The OpenAI error JSON: `{"error":{"message","type","kind","status",…}}`.
    pub fn to_openai_json(&self) -> serde_json::Value {
        let d = &self.0;
        let mut err = serde_json::json!({
            "message": self.to_string(),
            "type": d.kind.openai_type(),
            "kind": d.kind.as_str(),
            "status": d.status,
            "code": d.code.as_deref().unwrap_or(d.kind.as_str()),
            "param": d.param,
        });
        if let Some(map) = err.as_object_mut() {
            if let Some(p) = &d.provider {
                map.insert("provider".into(), p.clone().into());
            }
            if let Some(m) = &d.model {
                map.insert("model".into(), m.clone().into());
            }
            if let Some(ra) = d.retry_after {
                map.insert("retry_after".into(), ra.as_secs_f64().into());
            }
            if !d.attempts.is_empty() {
                let attempts: Vec<serde_json::Value> = d
                    .attempts
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "deployment": a.deployment, "model": a.model,
                            "kind": a.kind.map(ErrorKind::as_str), "status": a.status,
                            "ms": a.duration.as_millis() as u64,
                        })
                    })
                    .collect();
                map.insert("attempts".into(), attempts.into());
            }
        }
        serde_json::json!({ "error": err })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        let what = match d.kind {
            ErrorKind::Authentication => "authentication failed",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::RateLimit => "rate limit exceeded",
            ErrorKind::ContextWindowExceeded => "context window exceeded",
            ErrorKind::ContentPolicy => "blocked by content policy",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connection => "connection failed",
            ErrorKind::ServiceUnavailable => "service unavailable",
            ErrorKind::Internal => "internal error",
        };
        f.write_str(what)?;
        match (&d.provider, &d.model) {
            (Some(p), Some(m)) => write!(f, " for {p}/{m}")?,
            (Some(p), None) => write!(f, " for {p}")?,
            _ => {}
        }
        let mut extra = Vec::new();
        if let Some(s) = d.status {
            extra.push(s.to_string());
        }
        if let Some(ra) = d.retry_after {
            extra.push(format!("retry after {}s", ra.as_secs_f64()));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        write!(f, ": {}", d.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_provider_model_status_and_retry() {
        let e = Error::new(ErrorKind::RateLimit, "slow down")
            .with_status(429)
            .with_retry_after(Some(Duration::from_secs(2)))
            .at("acme", "m-1");
        assert_eq!(
            e.to_string(),
            "rate limit exceeded for acme/m-1 (429, retry after 2s): slow down"
        );
        assert_eq!(e.to_openai_json()["error"]["type"], "rate_limit_error");
    }

    #[test]
    fn an_upstream_timeout_is_a_gateway_timeout() {
        assert_eq!(ErrorKind::Timeout.http_status(), 504);
        assert_eq!(ErrorKind::Connection.http_status(), 502);
    }

    #[test]
    fn the_deployments_faults_are_the_retryable_kinds_and_its_credentials() {
        let faults: Vec<ErrorKind> = ErrorKind::ALL
            .into_iter()
            .filter(|k| k.is_deployment_fault())
            .collect();
        assert_eq!(
            faults,
            [
                ErrorKind::Authentication,
                ErrorKind::PermissionDenied,
                ErrorKind::NotFound,
                ErrorKind::RateLimit,
                ErrorKind::Timeout,
                ErrorKind::Connection,
                ErrorKind::ServiceUnavailable,
                ErrorKind::Internal,
            ]
        );
    }

    #[test]
    fn a_redacted_error_keeps_no_secret_in_message_or_code() {
        let e = Error::new(
            ErrorKind::Authentication,
            r#"bad key prov-secret-123 in {"authorization": "Bearer abcdefgh1234"}"#,
        )
        .with_code(Some("prov-secret-123".into()))
        .redacted(&Redactor::new(["prov-secret-123"]));
        assert!(!e.message().contains("prov-secret-123"), "{e}");
        assert!(!e.message().contains("abcdefgh1234"), "{e}");
        assert_eq!(e.code(), Some(crate::redact::REDACTED));
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
        }
    }
}
