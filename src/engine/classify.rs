//! Classifies a failed call: HTTP status, the provider's error body and a
//! Retry-After (already read, by the caller who has the clock) become one
//! typed `Error`, through the spec's error table. An error event inside a
//! 200 stream goes through the same table, so it gets the same kind, code and
//! message as the same error sent as a response. Unknown shapes still map,
//! by status. Pure.

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::spec::compile::{ErrorRule, ErrorTable};

/// Classifies an error body. `status` is None for an error event inside a
/// 200 stream.
pub(crate) fn classify(
    table: &ErrorTable,
    status: Option<u16>,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Error {
    classify_with_code(table, status, retry_after, body, None)
}

/// Classifies an error event inside a 200 stream. The event's name (an SSE
/// `event:` field, an AWS event-stream exception type) stands for the error
/// code when the body names none, so `code` rules match it.
///
/// An event has no HTTP status of its own, so a rule's `status` list does
/// not keep it from matching when the rule has another condition (a code, a
/// message, a body text) that does; a rule whose only condition is a status
/// never matches an event. When no rule matches, a code that is an HTTP
/// error status (some APIs put `"code": 429` in the body) stands for the
/// status, as it would for a response.
pub(crate) fn classify_event(table: &ErrorTable, event: Option<&str>, body: &[u8]) -> Error {
    classify_with_code(table, None, None, body, event)
}

fn classify_with_code(
    table: &ErrorTable,
    status: Option<u16>,
    retry_after: Option<Duration>,
    body: &[u8],
    fallback_code: Option<&str>,
) -> Error {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // Some APIs wrap the error object in a one-element list.
    let json = match &parsed {
        Some(Value::Array(items)) => items.first(),
        other => other.as_ref(),
    };
    let message = json
        .and_then(|j| table.message.as_ref()?.first(j))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| fallback_message(&text, status));
    let code = json
        .and_then(|j| table.code.as_ref()?.first(j))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .or_else(|| fallback_code.map(str::to_string));
    let status_matches = |r: &ErrorRule| match status {
        Some(s) => r.status.is_empty() || r.status.contains(&s),
        None => r.code.is_some() || r.message.is_some() || r.body_contains.is_some(),
    };
    let kind = table
        .rules
        .iter()
        .find(|r| {
            status_matches(r)
                && r.code
                    .as_ref()
                    .is_none_or(|c| code.as_ref().is_some_and(|got| got.eq_ignore_ascii_case(c)))
                && r.message.as_ref().is_none_or(|re| re.is_match(&message))
                && r.body_contains
                    .as_ref()
                    .is_none_or(|s| text.contains(s.as_str()))
        })
        .map(|r| r.kind)
        .unwrap_or_else(|| {
            let status = status.or_else(|| {
                let n: u16 = code.as_deref()?.parse().ok()?;
                (400..600).contains(&n).then_some(n)
            });
            status.map_or(ErrorKind::Internal, ErrorKind::from_status)
        });
    let mut err = Error::new(kind, message)
        .with_retry_after(retry_after)
        .with_code(code);
    if let Some(s) = status {
        err = err.with_status(s);
    }
    err
}

fn fallback_message(text: &str, status: Option<u16>) -> String {
    let t = text.trim();
    if t.is_empty() {
        return match status {
            Some(s) => format!("HTTP {s} with an empty body"),
            None => "error event with an empty body".to_string(),
        };
    }
    let mut cut: String = t.chars().take(500).collect();
    if cut.len() < t.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::compile::compile;
    use crate::spec::raw::RawSpec;

    fn table() -> ErrorTable {
        let raw: RawSpec = toml::from_str(
            r#"
            base-url = "https://example.com"
            auth = { scheme = "none" }
            [chat]
            path = "/x"
            body = { a = "{{model}}" }
            response = { content = "$.a" }
            [errors]
            message = "$.message"
            code = "$.code"
            rules = [
              { code = "ThrottlingException", kind = "rate_limit" },
              { code = "invalid_request_error", status = [400], kind = "bad_request" },
              { status = [418], kind = "content_policy" },
            ]
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        compile("x", &raw)
            .unwrap_or_else(|f| panic!("{f:?}"))
            .errors
    }

    #[test]
    fn a_stream_error_event_is_classified_by_its_name() {
        let e = classify_event(
            &table(),
            Some("throttlingException"),
            br#"{"message":"Too many requests"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimit);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn a_code_in_the_body_wins_over_the_event_name() {
        let body = br#"{"message":"x","code":"SomethingElse"}"#;
        let e = classify_event(&table(), Some("throttlingException"), body);
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn an_unnamed_error_event_falls_back_to_internal() {
        let e = classify_event(&table(), None, br#"{"message":"x"}"#);
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn an_error_event_matches_the_rule_the_same_response_would() {
        let body = br#"{"message":"bad field","code":"invalid_request_error"}"#;
        let response = classify(&table(), Some(400), None, body);
        let event = classify_event(&table(), Some("error"), body);
        assert_eq!(response.kind(), ErrorKind::BadRequest);
        assert_eq!(event.kind(), response.kind());
        assert_eq!(event.message(), response.message());
        assert_eq!(event.code(), Some("invalid_request_error"));
    }

    #[test]
    fn a_rule_on_status_alone_never_matches_an_event() {
        let e = classify_event(&table(), None, br#"{"message":"x"}"#);
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(
            classify(&table(), Some(418), None, b"{}").kind(),
            ErrorKind::ContentPolicy
        );
    }

    #[test]
    fn an_events_numeric_code_stands_for_its_status() {
        let e = classify_event(&table(), None, br#"{"message":"slow down","code":429}"#);
        assert_eq!(e.kind(), ErrorKind::RateLimit);
        assert_eq!(e.message(), "slow down");
        let e = classify_event(&table(), None, br#"{"message":"x","code":7}"#);
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn a_retry_after_read_by_the_caller_is_carried() {
        let e = classify(&table(), Some(429), Some(Duration::from_secs(3)), b"");
        assert_eq!(e.kind(), ErrorKind::RateLimit);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.message(), "HTTP 429 with an empty body");
    }
}
