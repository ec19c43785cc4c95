//! The OpenAI chat request parameters a spec may or may not carry (litellm's
//! `get_supported_openai_params` speaks of the same list), and how a
//! request uses them: which it sets, the value of one, and taking one out.
//! `model`, `messages`, `stream` and `stream_options` are not among them:
//! every provider takes the first two, and the engine itself honours the
//! last two. Knows no provider.
//! <https://platform.openai.com/docs/api-reference/chat/create>

use serde_json::Value;

use super::{ChatRequest, ResponseFormat};

/// Every OpenAI chat request parameter a provider may not carry, in the
/// order `switchboard providers --params` lists them.
pub const OPENAI_PARAMS: &[&str] = &[
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "response_format",
    "reasoning_effort",
    "user",
    "modalities",
    "audio",
    "prediction",
    "web_search_options",
    "store",
    "service_tier",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
];

/// Whether `name` is one of [`OPENAI_PARAMS`].
pub fn is_openai_param(name: &str) -> bool {
    OPENAI_PARAMS.contains(&name)
}

impl ChatRequest {
    /// The OpenAI parameters this request sets, in [`OPENAI_PARAMS`] order.
    /// A value that asks for what OpenAI does when the parameter is absent
    /// (`n: 1`, `logprobs: false`, a penalty of 0, `parallel_tool_calls:
    /// true`, `response_format: {"type": "text"}`) does not count: there is
    /// nothing for a provider to carry.
    pub fn openai_params_used(&self) -> Vec<&'static str> {
        OPENAI_PARAMS
            .iter()
            .copied()
            .filter(|name| self.sets(name))
            .collect()
    }

    fn sets(&self, name: &str) -> bool {
        match name {
            "temperature" => self.temperature.is_some(),
            "top_p" => self.top_p.is_some(),
            "max_tokens" => self.max_tokens.is_some(),
            "max_completion_tokens" => self.max_completion_tokens.is_some(),
            "stop" => self.stop.is_some(),
            "seed" => self.seed.is_some(),
            "user" => self.user.is_some(),
            "tools" => self.tools.as_ref().is_some_and(|t| !t.is_empty()),
            "tool_choice" => self.tool_choice.is_some(),
            "parallel_tool_calls" => self.parallel_tool_calls == Some(false),
            "response_format" => !matches!(self.response_format, None | Some(ResponseFormat::Text)),
            _ => self.extra.get(name).is_some_and(|v| !neutral(name, v)),
        }
    }

    /// The value the request gives parameter `name`, as JSON (None when unset).
    pub fn openai_param(&self, name: &str) -> Option<Value> {
        let typed = |v: Option<Value>| v.filter(|v| !v.is_null());
        match name {
            "temperature" => self.temperature.map(Value::from),
            "top_p" => self.top_p.map(Value::from),
            "max_tokens" => self.max_tokens.map(Value::from),
            "max_completion_tokens" => self.max_completion_tokens.map(Value::from),
            "seed" => self.seed.map(Value::from),
            "user" => self.user.clone().map(Value::from),
            "parallel_tool_calls" => self.parallel_tool_calls.map(Value::from),
            "stop" => typed(
                self.stop
                    .as_ref()
                    .and_then(|s| serde_json::to_value(s).ok()),
            ),
            "tools" => typed(
                self.tools
                    .as_ref()
                    .and_then(|s| serde_json::to_value(s).ok()),
            ),
            "tool_choice" => typed(
                self.tool_choice
                    .as_ref()
                    .and_then(|s| serde_json::to_value(s).ok()),
            ),
            "response_format" => typed(
                self.response_format
                    .as_ref()
                    .and_then(|s| serde_json::to_value(s).ok()),
            ),
            _ => self.extra.get(name).cloned().filter(|v| !v.is_null()),
        }
    }

    /// Takes parameter `name` out of the request.
    pub fn remove_openai_param(&mut self, name: &str) {
        match name {
            "temperature" => self.temperature = None,
            "top_p" => self.top_p = None,
            "max_tokens" => self.max_tokens = None,
            "max_completion_tokens" => self.max_completion_tokens = None,
            "stop" => self.stop = None,
            "seed" => self.seed = None,
            "user" => self.user = None,
            "tools" => self.tools = None,
            "tool_choice" => self.tool_choice = None,
            "parallel_tool_calls" => self.parallel_tool_calls = None,
            "response_format" => self.response_format = None,
            _ => {
                self.extra.remove(name);
            }
        }
    }
}

/// Whether an untyped parameter's value means what its absence means.
fn neutral(name: &str, v: &Value) -> bool {
    match name {
        _ if v.is_null() => true,
        "n" => v.as_u64() == Some(1),
        "logprobs" => v == &Value::Bool(false),
        "presence_penalty" | "frequency_penalty" => v.as_f64() == Some(0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(body: Value) -> ChatRequest {
        let mut full = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        if let (Some(b), Some(e)) = (full.as_object_mut(), body.as_object()) {
            b.extend(e.clone());
        }
        serde_json::from_value(full).unwrap()
    }

    #[test]
    fn a_request_uses_the_parameters_it_sets_to_a_meaning() {
        let r = req(json!({
            "temperature": 0.5, "max_completion_tokens": 9, "n": 2, "logprobs": true,
            "presence_penalty": 0.3, "reasoning_effort": "low", "stream": true,
            "stream_options": {"include_usage": true}, "top_k": 4, "thinking": {}
        }));
        assert_eq!(
            r.openai_params_used(),
            [
                "temperature",
                "max_completion_tokens",
                "n",
                "presence_penalty",
                "logprobs",
                "reasoning_effort"
            ]
        );
    }

    #[test]
    fn openai_defaults_and_nulls_are_no_use() {
        let r = req(json!({
            "n": 1, "logprobs": false, "presence_penalty": 0, "frequency_penalty": 0.0,
            "parallel_tool_calls": true, "response_format": {"type": "text"},
            "seed": null, "user": null, "tools": []
        }));
        assert!(
            r.openai_params_used().is_empty(),
            "{:?}",
            r.openai_params_used()
        );
        let r = req(json!({"parallel_tool_calls": false, "n": 3}));
        assert_eq!(r.openai_params_used(), ["n", "parallel_tool_calls"]);
    }

    #[test]
    fn a_parameter_is_read_and_taken_out_by_name() {
        let mut r = req(json!({"stop": "END", "n": 2, "seed": 7}));
        assert_eq!(r.openai_param("stop"), Some(json!("END")));
        assert_eq!(r.openai_param("n"), Some(json!(2)));
        assert_eq!(r.openai_param("temperature"), None);
        for p in ["stop", "n", "seed"] {
            r.remove_openai_param(p);
        }
        assert!(r.openai_params_used().is_empty());
        assert!(r.extra.get("n").is_none());
    }

    #[test]
    fn every_parameter_is_known_once() {
        let mut seen = std::collections::HashSet::new();
        assert!(OPENAI_PARAMS.iter().all(|p| seen.insert(*p)));
        assert!(is_openai_param("n") && !is_openai_param("top_k") && !is_openai_param("model"));
    }
}
