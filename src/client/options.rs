//! Per-call settings: key, base URL, provider parameters, time and size
//! limits, a mock answer, the call's own prices, and litellm's fallbacks
//! and retries. Plain data (acting on fallbacks and retries is the
//! Router's); its `Debug` never shows a key.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use super::{Fallback, MockResponse};
use crate::cost::ModelInfo;
use crate::transport::Limits;

/// Per-call settings; all optional. The fields map one to one onto the
/// keyword arguments of litellm's `completion(model, messages, …)`.
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
    /// Answer without touching the network (litellm's `mock_response`):
    /// text, tool calls, or a failure (`"litellm.RateLimitError"`) to try
    /// retries and fallbacks offline. Applies to the call's model only.
    pub mock_response: Option<MockResponse>,
    /// Models to try, in order, when the call's model fails with an error
    /// that survives its retries (litellm's `fallbacks`).
    pub fallbacks: Vec<Fallback>,
    /// Model → larger-context models, on `context_window_exceeded`
    /// (litellm's `context_window_fallbacks=[{"gpt-4o": ["gpt-4o-mini"]}]`).
    pub context_window_fallbacks: IndexMap<String, Vec<Fallback>>,
    /// Model → models to try on `content_policy` (litellm's `content_policy_fallbacks`).
    pub content_policy_fallbacks: IndexMap<String, Vec<Fallback>>,
    /// Retries of a model on a retryable failure (rate limit, timeout,
    /// 5xx), honouring Retry-After, before its fallbacks (litellm's
    /// `num_retries`; none when unset).
    pub num_retries: Option<u32>,
    /// This call's own prices, in place of the catalog's (litellm's
    /// `input_cost_per_token` / `output_cost_per_token`: see
    /// [`ModelInfo::with_token_prices`]).
    pub price: Option<Arc<ModelInfo>>,
    /// Drop OpenAI parameters the provider does not carry instead of
    /// refusing the call (litellm's `drop_params`); unset: refuse. A
    /// request's own `drop_params` wins.
    pub drop_params: Option<bool>,
    /// Parameters always dropped, carried or not (litellm's `additional_drop_params`).
    pub additional_drop_params: Vec<String>,
    /// Parameters sent even where the provider does not carry them, under
    /// their OpenAI name (litellm's `allowed_openai_params`).
    pub allowed_openai_params: Vec<String>,
    /// Parameters dropped where the provider does not carry them and sent
    /// where it does, never a refusal (the proxy's `user`, an end-user id
    /// litellm's proxy takes from every request).
    pub drop_if_unsupported: Vec<String>,
    /// Request fields the call gets when it does not set them (a
    /// deployment's `temperature`, `max_tokens`, … in litellm's
    /// `litellm_params`): the request's own values win.
    pub defaults: serde_json::Map<String, serde_json::Value>,
    /// HTTP headers added to the provider request, each replacing a header
    /// of the same name (litellm's `extra_headers`).
    pub extra_headers: BTreeMap<String, String>,
    /// Whether http(s) image URLs may be fetched, for a provider that takes
    /// image bytes only (`image-bytes` in its spec); unset: yes. The proxy
    /// sets it off unless a deployment allows it.
    pub fetch_image_urls: Option<bool>,
    /// The caller's body as a front door received it: sent as it is to a
    /// deployment whose spec speaks the door's dialect (see [`Native`](crate::Native)).
    pub native: Option<super::Native>,
}

impl CallOptions {
    /// Whether the call asks for retries or fallbacks, which the Router acts on.
    pub(crate) fn routes(&self) -> bool {
        self.num_retries.is_some_and(|n| n > 0)
            || !self.fallbacks.is_empty()
            || !self.context_window_fallbacks.is_empty()
            || !self.content_policy_fallbacks.is_empty()
    }

    /// The same options for one attempt: without fallbacks or retries.
    pub(crate) fn one_attempt(&self) -> CallOptions {
        CallOptions {
            fallbacks: Vec::new(),
            context_window_fallbacks: IndexMap::new(),
            content_policy_fallbacks: IndexMap::new(),
            num_retries: None,
            ..self.clone()
        }
    }
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
            .field("mock_response", &self.mock_response)
            .field("fallbacks", &self.fallbacks)
            .field("context_window_fallbacks", &self.context_window_fallbacks)
            .field("content_policy_fallbacks", &self.content_policy_fallbacks)
            .field("num_retries", &self.num_retries)
            .field("price", &self.price.is_some())
            .field("drop_params", &self.drop_params)
            .field("additional_drop_params", &self.additional_drop_params)
            .field("allowed_openai_params", &self.allowed_openai_params)
            .field("drop_if_unsupported", &self.drop_if_unsupported)
            .field("defaults", &self.defaults)
            // Header values may be credentials: names only.
            .field(
                "extra_headers",
                &self.extra_headers.keys().collect::<Vec<_>>(),
            )
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
            fallbacks: vec![Fallback {
                api_key: Some("sk-fallback-secret".into()),
                ..Fallback::from("m")
            }],
            ..Default::default()
        };
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("very-secret")
                && !shown.contains("also-secret")
                && !shown.contains("fallback-secret"),
            "{shown}"
        );
        assert!(shown.contains("https://h.example/v1"), "{shown}");
    }
}
