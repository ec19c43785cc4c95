//! Classifies a failed call: HTTP status, the provider's error body and a
//! Retry-After header become one typed `Error`, through the spec's error
//! table. Unknown shapes still map, by status. Pure.

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::spec::compile::ErrorTable;

/// Classifies an error body. `status` is None for an error event inside a
/// 200 stream.
pub(crate) fn classify(
    table: &ErrorTable,
    status: Option<u16>,
    retry_after: Option<&str>,
    body: &[u8],
) -> Error {
    classify_with_code(table, status, retry_after, body, None)
}

/// Classifies an error event inside a 200 stream. The event's name (an SSE
/// `event:` field, an AWS event-stream exception type) stands for the error
/// code when the body names none, so `code` rules match it.
pub(crate) fn classify_event(table: &ErrorTable, event: Option<&str>, body: &[u8]) -> Error {
    classify_with_code(table, None, None, body, event)
}

fn classify_with_code(
    table: &ErrorTable,
    status: Option<u16>,
    retry_after: Option<&str>,
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
    let kind = table
        .rules
        .iter()
        .find(|r| {
            (r.status.is_empty() || status.is_some_and(|s| r.status.contains(&s)))
                && r.code
                    .as_ref()
                    .is_none_or(|c| code.as_ref().is_some_and(|got| got.eq_ignore_ascii_case(c)))
                && r.message.as_ref().is_none_or(|re| re.is_match(&message))
                && r.body_contains
                    .as_ref()
                    .is_none_or(|s| text.contains(s.as_str()))
        })
        .map(|r| r.kind)
        .unwrap_or_else(|| status.map_or(ErrorKind::Internal, ErrorKind::from_status));
    let mut err = Error::new(kind, message)
        .with_retry_after(retry_after.and_then(parse_retry_after))
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

/// Seconds (possibly fractional). HTTP dates need a clock and are left to the caller.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
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
            rules = [{ code = "ThrottlingException", kind = "rate_limit" }]
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
}
