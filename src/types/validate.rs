//! Checks a chat request's known OpenAI fields against the types and ranges
//! the OpenAI API documents
//! (<https://platform.openai.com/docs/api-reference/chat/create>), so a
//! value that cannot be meant (`temperature` 1e308, `n` 0, a tool message
//! with no `tool_call_id`) is refused naming its field instead of being
//! forwarded to a provider. Fields the typed request already bounds by type
//! (a negative `max_tokens`) fail earlier, when it is read. Pure: knows no
//! provider, no HTTP.

use std::fmt;

use serde_json::Value;

use super::{ChatRequest, Content, Message, Role, Stop};
use crate::error::Error;

/// `n`: OpenAI's limit on choices per request.
const MAX_N: u64 = 128;
/// `max_tokens`, `max_completion_tokens`: past any model's output limit.
const MAX_TOKENS: u64 = 10_000_000;
/// `stop`: at most this many sequences.
const MAX_STOP: usize = 4;
/// `top_logprobs`: at most this many per position.
const MAX_TOP_LOGPROBS: u64 = 20;

/// A request field with a value it cannot have.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidField {
    param: String,
    message: String,
}

impl InvalidField {
    fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidField {
            param: param.into(),
            message: message.into(),
        }
    }

    /// The field, as OpenAI's `param` names it (`messages[2].tool_call_id`).
    pub fn param(&self) -> &str {
        &self.param
    }

    /// What is wrong with it, naming it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidField {}

impl From<InvalidField> for Error {
    fn from(e: InvalidField) -> Error {
        Error::bad_request(e.message)
    }
}

type Checked = Result<(), InvalidField>;

impl ChatRequest {
    /// Refuses known fields with a wrong type or a value out of OpenAI's
    /// range; the first one found is named.
    ///
    /// ```
    /// let mut req = switchboard::ChatRequest::new("m").user("hi");
    /// req.temperature = Some(1e308);
    /// assert_eq!(req.validate().unwrap_err().param(), "temperature");
    /// ```
    pub fn validate(&self) -> Checked {
        if self.messages.is_empty() {
            return Err(InvalidField::new(
                "messages",
                "messages must hold at least one message",
            ));
        }
        number("temperature", self.temperature, 0.0, 2.0)?;
        number("top_p", self.top_p, 0.0, 1.0)?;
        tokens("max_tokens", self.max_tokens)?;
        tokens("max_completion_tokens", self.max_completion_tokens)?;
        if let Some(Stop::Many(list)) = &self.stop
            && list.len() > MAX_STOP
        {
            return Err(InvalidField::new(
                "stop",
                format!(
                    "stop takes at most {MAX_STOP} sequences (got {})",
                    list.len()
                ),
            ));
        }
        let extra = |name: &str| self.extra.get(name).filter(|v| !v.is_null());
        if let Some(v) = extra("n") {
            integer("n", v, 1, MAX_N)?;
        }
        for name in ["presence_penalty", "frequency_penalty"] {
            if let Some(v) = extra(name) {
                number(name, Some(as_number(name, v)?), -2.0, 2.0)?;
            }
        }
        if let Some(v) = extra("logit_bias") {
            logit_bias(v)?;
        }
        let logprobs = match extra("logprobs") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(InvalidField::new(
                    "logprobs",
                    "logprobs must be true or false",
                ));
            }
        };
        if let Some(v) = extra("top_logprobs") {
            integer("top_logprobs", v, 0, MAX_TOP_LOGPROBS)?;
            if !logprobs {
                return Err(InvalidField::new(
                    "top_logprobs",
                    "top_logprobs needs logprobs set to true",
                ));
            }
        }
        for (i, m) in self.messages.iter().enumerate() {
            message(i, m)?;
        }
        Ok(())
    }
}

fn number(name: &str, value: Option<f64>, min: f64, max: f64) -> Checked {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(InvalidField::new(
            name,
            format!("{name} must be between {min} and {max} (got {v})"),
        )),
        _ => Ok(()),
    }
}

fn as_number(name: &str, v: &Value) -> Result<f64, InvalidField> {
    v.as_f64()
        .ok_or_else(|| InvalidField::new(name, format!("{name} must be a number")))
}

fn integer(name: &str, v: &Value, min: u64, max: u64) -> Checked {
    let bad = || {
        InvalidField::new(
            name,
            format!("{name} must be a whole number from {min} to {max} (got {v})"),
        )
    };
    match v.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(bad()),
    }
}

fn tokens(name: &str, value: Option<u64>) -> Checked {
    match value {
        Some(n) if !(1..=MAX_TOKENS).contains(&n) => Err(InvalidField::new(
            name,
            format!("{name} must be from 1 to {MAX_TOKENS} (got {n})"),
        )),
        _ => Ok(()),
    }
}

/// An object of token ids (as strings) to biases from -100 to 100.
fn logit_bias(v: &Value) -> Checked {
    let Value::Object(map) = v else {
        return Err(InvalidField::new(
            "logit_bias",
            "logit_bias must be an object of token ids to numbers from -100 to 100",
        ));
    };
    for (token, bias) in map {
        let param = format!("logit_bias.{token}");
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) || token.len() > 10 {
            return Err(InvalidField::new(
                param,
                format!("logit_bias keys must be token ids (whole numbers), not {token:?}"),
            ));
        }
        let b = as_number(&param, bias)?;
        number(&param, Some(b), -100.0, 100.0)?;
    }
    Ok(())
}

fn message(i: usize, m: &Message) -> Checked {
    let at = |field: &str| format!("messages[{i}].{field}");
    let role = m.role.as_str();
    let content_required = match m.role {
        Role::Assistant => m.tool_calls.as_ref().is_none_or(|c| c.is_empty()),
        _ => true,
    };
    match &m.content {
        None if content_required => {
            let why = if m.role == Role::Assistant {
                "an assistant message needs content or tool_calls"
            } else {
                "this message needs content"
            };
            return Err(InvalidField::new(
                at("content"),
                format!("{}: {why} (role {role})", at("content")),
            ));
        }
        Some(Content::Parts(parts)) if parts.is_empty() && content_required => {
            return Err(InvalidField::new(
                at("content"),
                format!("{}: an empty list of content parts", at("content")),
            ));
        }
        _ => {}
    }
    if m.role == Role::Tool && m.tool_call_id.as_deref().is_none_or(str::is_empty) {
        return Err(InvalidField::new(
            at("tool_call_id"),
            format!(
                "{}: a tool message must name the tool call it answers",
                at("tool_call_id")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(extra: Value) -> ChatRequest {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        serde_json::from_value(body).unwrap()
    }

    fn param_of(extra: Value) -> Option<String> {
        req(extra).validate().err().map(|e| e.param().to_string())
    }

    #[test]
    fn values_in_openais_ranges_pass() {
        assert_eq!(param_of(json!({})), None);
        assert_eq!(
            param_of(json!({
                "temperature": 2, "top_p": 0, "n": 128, "presence_penalty": -2,
                "frequency_penalty": 2.0, "logit_bias": {"50256": -100, "11": 99.5},
                "logprobs": true, "top_logprobs": 20, "max_tokens": 1,
                "max_completion_tokens": 10_000_000, "stop": ["a", "b", "c", "d"],
                "n_nulls_are_defaults": null, "seed": null
            })),
            None
        );
        assert_eq!(param_of(json!({"n": null, "logprobs": null})), None);
    }

    #[test]
    fn each_out_of_range_value_names_its_field() {
        for (extra, param) in [
            (json!({"temperature": 1e308}), "temperature"),
            (json!({"temperature": -0.1}), "temperature"),
            (json!({"top_p": 1.5}), "top_p"),
            (json!({"n": 0}), "n"),
            (json!({"n": -1}), "n"),
            (json!({"n": 1e12}), "n"),
            (json!({"n": 1.5}), "n"),
            (json!({"n": "2"}), "n"),
            (json!({"presence_penalty": 2.5}), "presence_penalty"),
            (json!({"frequency_penalty": "high"}), "frequency_penalty"),
            (json!({"logit_bias": [1, 2]}), "logit_bias"),
            (json!({"logit_bias": {"abc": 1}}), "logit_bias.abc"),
            (json!({"logit_bias": {"42": 101}}), "logit_bias.42"),
            (json!({"logit_bias": {"42": "x"}}), "logit_bias.42"),
            (json!({"logprobs": "yes"}), "logprobs"),
            (
                json!({"logprobs": true, "top_logprobs": 21}),
                "top_logprobs",
            ),
            (json!({"top_logprobs": 2}), "top_logprobs"),
            (json!({"max_tokens": 0}), "max_tokens"),
            (
                json!({"max_completion_tokens": 10_000_001u64}),
                "max_completion_tokens",
            ),
            (json!({"stop": ["a", "b", "c", "d", "e"]}), "stop"),
        ] {
            assert_eq!(param_of(extra.clone()).as_deref(), Some(param), "{extra}");
        }
    }

    #[test]
    fn messages_need_content_and_tool_messages_their_call_id() {
        let check = |messages: Value| {
            let r: ChatRequest =
                serde_json::from_value(json!({"model": "m", "messages": messages})).unwrap();
            r.validate().err().map(|e| e.param().to_string())
        };
        assert_eq!(check(json!([])).as_deref(), Some("messages"));
        assert_eq!(
            check(json!([{"role": "user"}])).as_deref(),
            Some("messages[0].content")
        );
        assert_eq!(
            check(json!([{"role": "user", "content": "a"}, {"role": "system", "content": null}]))
                .as_deref(),
            Some("messages[1].content")
        );
        assert_eq!(
            check(json!([{"role": "user", "content": []}])).as_deref(),
            Some("messages[0].content")
        );
        assert_eq!(
            check(json!([{"role": "assistant"}])).as_deref(),
            Some("messages[0].content")
        );
        assert_eq!(
            check(json!([{"role": "tool", "content": "42"}])).as_deref(),
            Some("messages[0].tool_call_id")
        );
        let call =
            json!({"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}});
        assert_eq!(
            check(json!([
                {"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}
            ])),
            None
        );
    }

    #[test]
    fn an_invalid_field_becomes_a_bad_request() {
        let e: Error = req(json!({"n": 0})).validate().unwrap_err().into();
        assert_eq!(e.kind(), crate::error::ErrorKind::BadRequest);
        assert!(e.message().starts_with("n must be"), "{e}");
    }
}
