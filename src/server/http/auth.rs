//! The master key: every API route asks for it when one is configured
//! (`Authorization: Bearer <key>`, or an `api-key` / `x-api-key` header), and
//! compares it in constant time. Health routes stay open for probes. With a
//! [`Store`](crate::server::Store), a live virtual key is accepted too (an
//! expired one is 401 on every API route): the request then carries it (a
//! [`Caller`](crate::server::accounts::Caller) extension) for the handlers'
//! budget, model and rate checks. Decides who may call; not what a call may
//! do. A chat or embeddings call it refuses still leaves its call record
//! (never admitted), so the metrics count it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::{ApiError, unauthorized};
pub(crate) use super::key::presented;
use crate::server::AppState;
use crate::server::record::Route;

/// Middleware: 401 unless the request carries the master key.
pub(crate) async fn require_master_key(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &state.master_key {
        let refused = match presented(req.headers()).map(str::to_owned) {
            None => Some(unauthorized(
                "missing API key: send it as `Authorization: Bearer <key>`",
            )),
            Some(given) if !same_key(&given, expected) => {
                // Not the master key: a virtual key, or nothing.
                match state.accounts.authenticate(&given).await {
                    Ok(Some(key)) => {
                        req.extensions_mut()
                            .insert(crate::server::accounts::Caller(key));
                        None
                    }
                    Ok(None) => Some(unauthorized("invalid API key")),
                    Err(e) => Some(ApiError::from(e)),
                }
            }
            Some(_) => None,
        };
        if let Some(e) = refused {
            let path = req.uri().path();
            let route =
                Route::of_path(path).or_else(|| state.doors.by_path(path).map(|_| Route::Chat));
            if let Some(route) = route {
                state.recorder.open(route).fail(e.kind(), &[]);
            }
            // Refused before its body was read: the connection cannot carry
            // another request, so the client is told not to reuse it.
            let mut resp = e.into_response();
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return resp;
        }
    }
    next.run(req).await
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
    fn keys_compare_by_content() {
        assert!(same_key("sk-1", "sk-1"));
        assert!(!same_key("sk-1", "sk-2"));
        assert!(!same_key("sk-1", "sk-10"));
    }
}
