//! Reads a request body within the size and time limits and parses it:
//! valid UTF-8, then JSON, then an object, then the typed request. Each
//! failure is a 4xx that says what is wrong and, for a typed field, names
//! it. Knows no route and no model.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{ApiError, too_slow};

/// How much of a body is read, and for how long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_bytes: usize,
    /// From the first read to the last byte.
    pub(crate) timeout: Duration,
}

/// The body's bytes; 413 once it passes `limits.max_bytes`, 408 when it
/// has not arrived whole within `limits.timeout`.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    limits: Limits,
) -> Result<Bytes, ApiError> {
    let mut reading = std::pin::pin!(read_all(headers, body, limits.max_bytes));
    // Most bodies are already here: no timer for them.
    if let std::task::Poll::Ready(read) = futures::poll!(reading.as_mut()) {
        return read;
    }
    tokio::time::timeout(limits.timeout, reading)
        .await
        .unwrap_or_else(|_| Err(too_slow("body", limits.timeout)))
}

async fn read_all(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::invalid(
            format!("the request body is larger than this server accepts ({limit} bytes)"),
            None,
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        .with_code("request_too_large")
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut out = BytesMut::new();
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| {
            ApiError::invalid(format!("the request body could not be read: {e}"), None)
        })?;
        if out.len() + piece.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&piece);
    }
    Ok(out.freeze())
}

/// A JSON object body, before typing: lets a handler take out fields the
/// typed request would pass through (`api_base`).
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ApiError::invalid(
            format!(
                "the request body is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
            None,
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "the request body is empty; send a JSON object",
            None,
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}"), None))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(
            format!(
                "the request body must be a JSON object, not {}",
                kind_of(&other)
            ),
            None,
        )),
    }
}

/// The typed request; a failure names the field (`messages[0].role`).
pub(crate) fn typed<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        let missing = inner
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let param = match (path.as_str(), missing) {
            (".", Some(field)) => Some(field.to_string()),
            (".", None) => None,
            (p, Some(field)) => Some(format!("{p}.{field}")),
            (p, None) => Some(p.to_string()),
        };
        let message = match &param {
            Some(p) if missing.is_some() => format!("missing required field {p}"),
            Some(p) => format!("{p}: {inner}"),
            None => inner,
        };
        ApiError::invalid(message, param)
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChatRequest;

    fn chat(text: &str) -> Result<ChatRequest, ApiError> {
        typed(object(text.as_bytes())?)
    }

    fn param(e: &ApiError) -> Value {
        e.body()["error"]["param"].clone()
    }

    #[test]
    fn missing_messages_is_named() {
        let e = chat(r#"{"model":"m"}"#).unwrap_err();
        assert_eq!(param(&e), "messages");
        assert!(
            e.body()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing required field messages")
        );
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let e = chat(
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#,
        )
        .unwrap_err();
        assert_eq!(param(&e), "temperature");
        let e = chat(r#"{"model":"m","messages":[{"role":"wizard","content":"hi"}]}"#).unwrap_err();
        assert_eq!(param(&e), "messages[0].role");
    }

    #[test]
    fn invalid_utf8_and_non_objects_are_refused() {
        let e = object(b"{\"model\":\"\xff\"}").unwrap_err();
        assert!(
            e.body()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("UTF-8")
        );
        let e = object(b"[1]").unwrap_err();
        assert!(
            e.body()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not an array")
        );
    }
}
