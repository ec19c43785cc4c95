//! A request about to be sent, as the auth schemes see and change it, and
//! the one place its URL is built: a base URL and an endpoint path joined
//! with a URL type, so a base URL that carries a query (`…/v1?key=…`) gets
//! the path before its query, never after. Knows no provider and no auth
//! scheme.

use reqwest::{Method, Url};

use crate::error::{Error, Result};
use crate::redact::display_url;
use crate::template::helpers::url_encode;

/// A request about to be sent.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// Lower-case names; later entries with the same name replace earlier ones.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The region a signing scheme signs for, rendered from the spec (`aws-sigv4`); not sent.
    pub(crate) auth_region: Option<String>,
}

impl Outgoing {
    pub(crate) fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value));
    }

    /// Adds `name=value` to the query, both percent-encoded.
    pub(crate) fn add_query(&mut self, name: &str, value: &str) {
        let pair = format!("{}={}", url_encode(name), url_encode(value));
        let query = match self.url.query().filter(|q| !q.is_empty()) {
            Some(q) => format!("{q}&{pair}"),
            None => pair,
        };
        self.url.set_query(Some(&query));
    }
}

/// `base` (scheme, host, a path prefix, perhaps a query) followed by the
/// endpoint `path` (which may carry a query of its own): the path goes after
/// the base's path, and the two queries are joined, the base's first. A
/// fragment is dropped. An error shows the base without its query.
pub(crate) fn endpoint_url(base: &str, path: &str) -> Result<Url> {
    let mut url = Url::parse(base.trim())
        .map_err(|e| Error::bad_request(format!("invalid base URL {}: {e}", display_url(base))))?;
    if url.cannot_be_a_base() {
        return Err(Error::bad_request(format!(
            "invalid base URL {}: not an http(s) URL",
            display_url(base)
        )));
    }
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    let query = match (url.query().filter(|q| !q.is_empty()), query) {
        (Some(base_q), "") => Some(base_q.to_string()),
        (Some(base_q), q) => Some(format!("{base_q}&{q}")),
        (None, "") => None,
        (None, q) => Some(q.to_string()),
    };
    url.set_query(query.as_deref());
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(base: &str, path: &str) -> String {
        endpoint_url(base, path)
            .map(String::from)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_path_goes_after_the_base_path() {
        assert_eq!(
            joined("https://api.example.com/v1", "/chat/completions"),
            "https://api.example.com/v1/chat/completions"
        );
        assert_eq!(
            joined("https://api.example.com/v1/", "/chat/completions"),
            "https://api.example.com/v1/chat/completions"
        );
        assert_eq!(
            joined("http://127.0.0.1:8080", "/v1/messages"),
            "http://127.0.0.1:8080/v1/messages"
        );
    }

    #[test]
    fn a_base_query_stays_after_the_path_and_joins_the_paths_query() {
        assert_eq!(
            joined("https://h.example/v1?key=abc", "/chat/completions"),
            "https://h.example/v1/chat/completions?key=abc"
        );
        assert_eq!(
            joined(
                "https://h.example/v1beta?key=abc#frag",
                "/models/m:streamGenerateContent?alt=sse"
            ),
            "https://h.example/v1beta/models/m:streamGenerateContent?key=abc&alt=sse"
        );
        assert_eq!(
            joined("https://h.example/openai", "/chat?api-version=2024-10-21"),
            "https://h.example/openai/chat?api-version=2024-10-21"
        );
    }

    #[test]
    fn an_encoded_path_stays_as_written() {
        assert_eq!(
            joined(
                "https://h.example",
                "/model/us.amazon.nova-micro-v1%3A0/converse"
            ),
            "https://h.example/model/us.amazon.nova-micro-v1%3A0/converse"
        );
    }

    #[test]
    fn a_bad_base_is_an_error_that_shows_no_query() {
        let e = endpoint_url("not a url?key=sekrit", "/x").unwrap_err();
        assert!(!e.message().contains("sekrit"), "{e}");
        assert!(endpoint_url("mailto:a@b.c", "/x").is_err());
    }

    #[test]
    fn a_query_parameter_is_added_encoded() {
        let mut out = Outgoing {
            method: Method::POST,
            url: endpoint_url("https://h.example/v1?alt=sse", "/x")
                .unwrap_or_else(|e| panic!("{e}")),
            headers: Vec::new(),
            body: Vec::new(),
            auth_region: None,
        };
        out.add_query("key", "a b&c");
        assert_eq!(
            out.url.as_str(),
            "https://h.example/v1/x?alt=sse&key=a%20b%26c"
        );
    }
}
