//! The key a request presents: the headers OpenAI-style SDKs send it in
//! (`Authorization: Bearer <key>`, `api-key`, `x-api-key`) and how it is
//! written there. Reading only: whether the key is any good is
//! [`auth`](super::auth)'s to say.

use axum::http::{HeaderMap, HeaderValue};

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
}
