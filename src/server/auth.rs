//! The master key: every API route asks for it when one is configured
//! (`Authorization: Bearer <key>`, or an `api-key` / `x-api-key` header), and
//! compares it in constant time. Health routes stay open for probes. With a
//! [`Store`](super::Store), a virtual key is accepted too: the request then
//! carries it (a [`Caller`](super::accounts::Caller) extension) for the
//! handlers' budget, model and rate checks.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::unauthorized;

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
                match state.accounts.authenticate(&given).await {
                    Ok(Some(key)) => {
                        req.extensions_mut().insert(super::accounts::Caller(key));
                    }
                    Ok(None) => return unauthorized("invalid API key").into_response(),
                    Err(e) => return super::error::ApiError::from(e).into_response(),
                }
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// The key a client sent, in any of the headers OpenAI-style SDKs use.
pub(crate) fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        let key = match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => v,
        };
        return Some(key);
    }
    ["api-key", "x-api-key"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok())
        .map(str::trim)
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
