//! Keeps secrets out of everything that leaves the process: error messages,
//! log lines, stream error events. Two nets: the secrets this process knows
//! (provider keys, the master key, virtual keys), replaced wherever they
//! appear, and credential-looking text (`Bearer …`, an `x-api-key` header
//! echoed in a body, `sk-…` keys, `?key=…` in a URL) replaced by shape, for
//! the secrets it does not know (an upstream echoing a header it was sent by
//! someone else). Knows no provider.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use regex::Regex;

/// Replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Known secrets shorter than this are not replaced by content (a two-letter
/// "key" would blank every word that holds it); shape-based redaction still
/// applies to them.
const MIN_SECRET_LEN: usize = 6;

/// The secrets a process knows, longest first. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new<I, S>(secrets: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut v: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret that contains another goes whole.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v.dedup();
        Redactor {
            secrets: Arc::new(v),
        }
    }

    /// The same secrets and `more`.
    pub fn with<I, S>(&self, more: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Redactor::new(
            self.secrets
                .iter()
                .cloned()
                .chain(more.into_iter().map(Into::into)),
        )
    }

    /// `text` with every known secret and every credential-looking value replaced.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for s in self.secrets.iter() {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), REDACTED));
            }
        }
        match redact_credentials(&out) {
            Cow::Borrowed(_) => out,
            Cow::Owned(o) => Cow::Owned(o),
        }
    }
}

struct Shape {
    re: Regex,
    with: &'static str,
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    // Fixed patterns: a test checks that every one compiles.
    let shape = |re: &str, with: &'static str| Regex::new(re).ok().map(|re| Shape { re, with });
    [
        // `Bearer abc…`, `Basic abc…` (a header echoed in a body or a message).
        shape(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}", "$1$2[REDACTED]"),
        // `"x-api-key": "…"`, `api-key=…`, `Authorization: …` (whatever scheme).
        shape(
            r#"(?i)((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key|ocp-apim-subscription-key|cookie|x-amz-security-token)("?\s*[:=]\s*"?)(?:bearer\s+|basic\s+)?[^"\s,;}&]{4,}"#,
            "$1$2[REDACTED]",
        ),
        // Keys by their well-known prefixes (OpenAI/Anthropic-style, Google, AWS).
        shape(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{12,}", "[REDACTED]"),
        shape(r"\bAIza[0-9A-Za-z_-]{30,}", "[REDACTED]"),
        shape(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "[REDACTED]"),
        // Credentials in a URL's query.
        shape(
            r"(?i)([?&](?:key|api[_-]?key|access_token|token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s]+",
            "$1[REDACTED]",
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// `text` with credential-looking values replaced (see the module doc).
pub fn redact_credentials(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for s in SHAPES.iter() {
        if let Cow::Owned(o) = s.re.replace_all(&out, s.with) {
            out = Cow::Owned(o);
        }
    }
    out
}

/// A URL as it may be shown: scheme, host (and port) and path; no user
/// info, no query, no fragment. Text that is not a URL is shown redacted.
pub fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}{}", u.scheme(), u.path()),
                None => format!("{}://{host}{}", u.scheme(), u.path()),
            }
        }
        Err(_) => redact_credentials(url.split(['?', '#']).next().unwrap_or("")).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_compiles() {
        assert_eq!(SHAPES.len(), 6);
    }

    #[test]
    fn known_secrets_go_wherever_they_appear() {
        let r = Redactor::new(["prov-secret-123", "master-9999", "ab"]);
        let text = "upstream said: key prov-secret-123 invalid; master-9999; ab stays";
        assert_eq!(
            r.redact(text),
            "upstream said: key [REDACTED] invalid; [REDACTED]; ab stays"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn echoed_headers_and_key_shapes_are_redacted() {
        for (text, gone) in [
            (
                r#"{"headers":{"Authorization":"Bearer abcdef123456"}}"#,
                "abcdef123456",
            ),
            (
                r#"{"x-api-key": "zz-unknown-format-key"}"#,
                "zz-unknown-format-key",
            ),
            ("api-key=verysecretvalue", "verysecretvalue"),
            (
                "use sk-proj-AbCdEf0123456789xyz instead",
                "sk-proj-AbCdEf0123456789xyz",
            ),
            ("sk-ant-api03-AAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA"),
            (
                "https://h/v1?key=AIzaSyA-1234567890abcdefghijklmnopqrs&alt=sse",
                "AIzaSyA",
            ),
            ("creds AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
        ] {
            let out = redact_credentials(text);
            assert!(!out.contains(gone), "{text} -> {out}");
            assert!(out.contains(REDACTED), "{text} -> {out}");
        }
        let plain = "the model is overloaded; try again";
        assert!(matches!(redact_credentials(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn urls_show_scheme_host_and_path_only() {
        assert_eq!(
            display_url("https://user:pw@api.example.com:8443/v1/chat?key=abc#x"),
            "https://api.example.com:8443/v1/chat"
        );
        assert_eq!(display_url("not a url?key=abc"), "not a url");
    }
}
