//! The master key: every API route asks for it when one is configured
//! (`Authorization: Bearer <key>`, or an `api-key` / `x-api-key` header), and
//! compares it in constant time. Health routes stay open for probes. With a
//! [`Store`](crate::server::Store), a live virtual key is accepted too (an
//! expired one is 401 on every API route): the request then carries it (a
//! [`Caller`](crate::server::keys::Caller) extension) for the handlers'
//! budget, model and rate checks. Decides who may call; not what a call may do.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::{ApiError, unauthorized};
use crate::server::AppState;

/// Middleware: 401 unless the request carries the master key.
pub(crate) async fn require_master_key(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &state.master_key {
        match presented(req.headers()).map(str::to_owned) {
            None => {
                return unauthorized("missing API key: send it as `Authorization: Bearer <key>`")
                    .into_response();
            }
            Some(given) if !same_key(&given, expected) => {
                // Not the master key: a virtual key, or nothing.
                let found = match &state.store {
                    Some(store) => store.keys.authenticate(&given).await,
                    None => Ok(None),
                };
                match found {
                    Ok(Some(key)) => {
                        if let Err(e) = key.check_expiry() {
                            return e.into_response();
                        }
                        req.extensions_mut()
                            .insert(crate::server::keys::Caller(key));
                    }
                    Ok(None) => return unauthorized("invalid API key").into_response(),
                    Err(e) => return ApiError::from(e).into_response(),
                }
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// The headers OpenAI-style SDKs send a key in, in the order they are read.
const KEY_HEADERS: [&str; 3] = ["authorization", "api-key", "x-api-key"];

/// The key a client sent, in any of the headers OpenAI-style SDKs use.
pub(crate) fn presented(headers: &HeaderMap) -> Option<&str> {
    presented_value(headers)
        .and_then(|v| v.to_str().ok())
        .map(key_of)
}

/// The header value a client's key came in, if any.
pub(crate) fn presented_value(headers: &HeaderMap) -> Option<&HeaderValue> {
    KEY_HEADERS
        .iter()
        .filter_map(|h| headers.get(*h))
        .find(|v| v.to_str().is_ok())
}

/// The key in a header value: `Bearer <key>`, or the value itself.
pub(crate) fn key_of(value: &str) -> &str {
    let v = value.trim();
    match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => v,
    }
}

/// Compares digests, so neither the keys' contents nor their lengths
/// change how long the comparison takes.
pub(crate) fn same_key(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_api_key_headers_are_both_read() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer sk-1".parse().unwrap());
        assert_eq!(presented(&h), Some("sk-1"));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "sk-2".parse().unwrap());
        assert_eq!(presented(&h), Some("sk-2"));
        assert_eq!(presented(&HeaderMap::new()), None);
    }

    #[test]
    fn keys_compare_by_content() {
        assert!(same_key("sk-1", "sk-1"));
        assert!(!same_key("sk-1", "sk-2"));
        assert!(!same_key("sk-1", "sk-10"));
    }
}
