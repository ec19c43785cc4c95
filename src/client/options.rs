//! Per-call settings: key, base URL, provider parameters, time and size
//! limits, and a mock answer. Plain data; its `Debug` never shows the key.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::transport::Limits;

/// Per-call settings; all optional.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// API key; otherwise the spec's environment variable.
    pub api_key: Option<String>,
    /// Replaces the spec's base URL (everything before the endpoint path).
    pub api_base: Option<String>,
    /// Time allowed for the answer: a JSON call's whole answer, a stream's
    /// response head. A stream that has started lives while its events come
    /// within `limits.idle` (and `limits.total`, when set), however long it runs.
    pub timeout: Option<Duration>,
    /// Connect, first-byte and idle timeouts, an optional total, and size caps.
    pub limits: Limits,
    /// Provider parameters by name (e.g. `api_version`); otherwise env var or default.
    pub params: BTreeMap<String, String>,
    /// Answer with this text without touching the network (like litellm's `mock_response`).
    pub mock_response: Option<String>,
    /// Drop OpenAI parameters the provider does not carry instead of
    /// refusing the call (litellm's `drop_params`); unset: refuse. A
    /// request's own `drop_params` wins.
    pub drop_params: Option<bool>,
    /// Parameters always dropped, carried or not (litellm's `additional_drop_params`).
    pub additional_drop_params: Vec<String>,
    /// Parameters sent even where the provider does not carry them, under
    /// their OpenAI name (litellm's `allowed_openai_params`).
    pub allowed_openai_params: Vec<String>,
    /// Whether http(s) image URLs may be fetched, for a provider that takes
    /// image bytes only (`image-bytes` in its spec); unset: yes. The proxy
    /// sets it off unless a deployment allows it.
    pub fetch_image_urls: Option<bool>,
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::redact::display_url),
            )
            .field("timeout", &self.timeout)
            .field("limits", &self.limits)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .field("mock_response", &self.mock_response.is_some())
            .field("drop_params", &self.drop_params)
            .field("additional_drop_params", &self.additional_drop_params)
            .field("allowed_openai_params", &self.allowed_openai_params)
            .field("fetch_image_urls", &self.fetch_image_urls)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_key_and_no_query() {
        let o = CallOptions {
            api_key: Some("sk-very-secret-key-123".into()),
            api_base: Some("https://h.example/v1?key=also-secret".into()),
            ..Default::default()
        };
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("also-secret"),
            "{shown}"
        );
        assert!(shown.contains("https://h.example/v1"), "{shown}");
    }
}
