//! litellm's own arguments when they arrive inside a request body (a
//! litellm request read from JSON, a Python caller's keyword arguments, a
//! proxy request): `fallbacks`, `context_window_fallbacks`,
//! `content_policy_fallbacks`, `num_retries`, `mock_response` and
//! `mock_tool_calls` are taken out of the request, so they are acted on
//! and never sent to a provider, and checked (an absurd value is a bad
//! request naming it). Touches nothing else in the request.

use serde_json::{Map, Value};

use super::{CallOptions, Fallback, MockResponse, fallback::MAX_FALLBACKS};
use crate::error::{Error, Result};

/// The most retries one call may ask for.
pub(crate) const MAX_RETRIES: u32 = 10;

/// The request fields this file takes out.
const KEYS: [&str; 6] = [
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "num_retries",
    "mock_response",
    "mock_tool_calls",
];

/// Whether `extra` holds any of litellm's own arguments.
pub(crate) fn has_litellm_args(extra: &Map<String, Value>) -> bool {
    !extra.is_empty() && KEYS.iter().any(|k| extra.contains_key(*k))
}

impl CallOptions {
    /// Takes litellm's own arguments out of a request's extra fields into
    /// these options (a field given in both: the request's wins). Fallbacks
    /// name models: a server must check them against what its caller may call.
    pub fn take_litellm_args(&mut self, extra: &mut Map<String, Value>) -> Result<()> {
        if !has_litellm_args(extra) {
            return Ok(());
        }
        let mut take = |key: &str| extra.remove(key).filter(|v| !v.is_null());
        if let Some(v) = take("fallbacks") {
            self.fallbacks = Fallback::list_from_json(&v)?;
        }
        if let Some(v) = take("context_window_fallbacks") {
            self.context_window_fallbacks = Fallback::table_from_json(&v)?;
        }
        if let Some(v) = take("content_policy_fallbacks") {
            self.content_policy_fallbacks = Fallback::table_from_json(&v)?;
        }
        if let Some(v) = take("num_retries") {
            let n = v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    Error::bad_request("num_retries must be a whole number of retries")
                })?;
            self.num_retries = Some(n);
        }
        let mock = take("mock_response")
            .map(|v| MockResponse::from_json(&v))
            .transpose()?;
        let tool_calls = take("mock_tool_calls");
        self.mock_response = match (mock.or(self.mock_response.take()), tool_calls) {
            // litellm answers tool calls with its default text when no mock text is given.
            (None, Some(calls)) => {
                Some(MockResponse::text("This is a mock request").with_tool_calls(&calls)?)
            }
            (Some(m), Some(calls)) => Some(m.with_tool_calls(&calls)?),
            (m, None) => m,
        };
        self.check_routing()
    }

    /// Refuses more retries than [`MAX_RETRIES`] or more fallbacks than
    /// [`MAX_FALLBACKS`], naming the argument.
    pub(crate) fn check_routing(&self) -> Result<()> {
        if let Some(n) = self.num_retries.filter(|&n| n > MAX_RETRIES) {
            return Err(Error::bad_request(format!(
                "num_retries = {n} is more than {MAX_RETRIES}"
            )));
        }
        let named = self.fallbacks.len()
            + self
                .context_window_fallbacks
                .values()
                .chain(self.content_policy_fallbacks.values())
                .map(Vec::len)
                .sum::<usize>();
        if named > MAX_FALLBACKS {
            return Err(Error::bad_request(format!(
                "{named} fallbacks named: at most {MAX_FALLBACKS} a call"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use serde_json::json;

    fn extra(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn litellm_arguments_leave_the_request_and_land_in_the_options() {
        let mut e = extra(json!({"temperature": 0.2, "fallbacks": ["gpt-4o-mini"],
            "context_window_fallbacks": [{"gpt-4o": ["gpt-4.1"]}], "num_retries": 2,
            "mock_response": "litellm.RateLimitError", "seed": 1}));
        let mut o = CallOptions::default();
        o.take_litellm_args(&mut e).unwrap();
        assert_eq!(e, extra(json!({"temperature": 0.2, "seed": 1})));
        assert_eq!(o.fallbacks, [Fallback::from("gpt-4o-mini")]);
        assert_eq!(
            o.context_window_fallbacks["gpt-4o"],
            [Fallback::from("gpt-4.1")]
        );
        assert_eq!(o.num_retries, Some(2));
        assert_eq!(
            o.mock_response,
            Some(MockResponse::error(ErrorKind::RateLimit))
        );
    }

    #[test]
    fn mock_tool_calls_alone_answer_with_litellms_default_text() {
        let mut e = extra(json!({"mock_tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "f", "arguments": "{}"}}]}));
        let mut o = CallOptions::default();
        o.take_litellm_args(&mut e).unwrap();
        let Some(MockResponse::Message {
            content,
            tool_calls,
        }) = o.mock_response
        else {
            panic!("{:?}", o.mock_response)
        };
        assert_eq!(content.as_deref(), Some("This is a mock request"));
        assert_eq!(tool_calls[0].id, "c1");
    }

    #[test]
    fn absurd_values_are_refused_naming_them() {
        for (bad, named) in [
            (json!({"num_retries": -1}), "num_retries"),
            (json!({"num_retries": 1e12}), "num_retries"),
            (json!({"num_retries": 1000}), "num_retries"),
            (json!({"fallbacks": 3}), "fallbacks"),
            (json!({"fallbacks": vec!["m"; 40]}), "fallbacks"),
            (json!({"mock_response": [1]}), "mock_response"),
        ] {
            let e = CallOptions::default()
                .take_litellm_args(&mut extra(bad.clone()))
                .unwrap_err();
            assert!(e.message().contains(named), "{bad}: {e}");
        }
    }
}
