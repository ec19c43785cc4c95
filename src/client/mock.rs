//! Mock answers (litellm's `mock_response` and `mock_tool_calls`): what a
//! mocked call answers — text, tool calls, or a failure of a given kind —
//! read from litellm's forms, and the completion or chunks that carry it,
//! with usage estimated at a token per four characters. Touches no network,
//! clock or catalog: the id, the time and the price come from the caller.

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::types::*;

/// litellm's exception names a mock may name, and the kind each one is.
const LITELLM_ERRORS: [(&str, ErrorKind); 13] = [
    ("litellm.AuthenticationError", ErrorKind::Authentication),
    ("litellm.PermissionDeniedError", ErrorKind::PermissionDenied),
    ("litellm.NotFoundError", ErrorKind::NotFound),
    ("litellm.RateLimitError", ErrorKind::RateLimit),
    (
        "litellm.ContextWindowExceededError",
        ErrorKind::ContextWindowExceeded,
    ),
    (
        "litellm.ContentPolicyViolationError",
        ErrorKind::ContentPolicy,
    ),
    ("litellm.BadRequestError", ErrorKind::BadRequest),
    ("litellm.UnprocessableEntityError", ErrorKind::BadRequest),
    ("litellm.Timeout", ErrorKind::Timeout),
    ("litellm.APIConnectionError", ErrorKind::Connection),
    (
        "litellm.ServiceUnavailableError",
        ErrorKind::ServiceUnavailable,
    ),
    ("litellm.InternalServerError", ErrorKind::Internal),
    ("litellm.APIError", ErrorKind::Internal),
];

/// litellm's spelling of a mocked content-filter refusal (a prefix).
const CONTENT_FILTER: &str = "Exception: content_filter_policy";

/// What a mocked call answers, with no network: an assistant message, or
/// a failure of one kind (so retries and fallbacks can be tried offline).
///
/// From a string as litellm reads one: `"litellm.RateLimitError"` (any of
/// litellm's exception names) is that failure, anything else is the text.
#[derive(Debug, Clone, PartialEq)]
pub enum MockResponse {
    /// An assistant message: text, tool calls, or both.
    Message {
        content: Option<String>,
        tool_calls: Vec<ResponseToolCall>,
    },
    /// A failure of this kind, as if the provider had answered with it.
    Error(ErrorKind),
}

impl MockResponse {
    /// Answers with `text`.
    pub fn text(text: impl Into<String>) -> Self {
        MockResponse::Message {
            content: Some(text.into()),
            tool_calls: Vec::new(),
        }
    }

    /// Answers with one call of tool `name` with these JSON `arguments`.
    pub fn tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        MockResponse::Message {
            content: None,
            tool_calls: vec![tool_call(0, None, name.into(), arguments.into())],
        }
    }

    /// Fails with `kind`.
    pub fn error(kind: ErrorKind) -> Self {
        MockResponse::Error(kind)
    }

    /// The failure a litellm exception name stands for, or one of
    /// Switchboard's kind names (`rate_limit`); None for anything else.
    pub fn error_named(name: &str) -> Option<ErrorKind> {
        LITELLM_ERRORS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .or_else(|| ErrorKind::parse(name))
    }

    /// litellm's `mock_response` as JSON: a string (text, or an exception
    /// name), or a (partial) `chat.completion` whose first message is the
    /// answer (`{"choices":[{"message":{"content":…,"tool_calls":[…]}}]}`),
    /// or that message alone.
    pub fn from_json(value: &Value) -> Result<Self> {
        let message = match value {
            Value::String(s) => return Ok(MockResponse::from(s.as_str())),
            Value::Object(o) => match o.get("choices") {
                Some(choices) => choices.pointer("/0/message").ok_or_else(|| {
                    Error::bad_request("mock_response: choices[0].message is missing")
                })?,
                None => value,
            },
            _ => {
                return Err(Error::bad_request(
                    "mock_response must be a string or a chat.completion object",
                ));
            }
        };
        let content = match message.get("content") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(Error::bad_request(
                    "mock_response: the message's content must be a string",
                ));
            }
        };
        let mut mock = MockResponse::Message {
            content,
            tool_calls: Vec::new(),
        };
        if let Some(calls) = message.get("tool_calls").filter(|v| !v.is_null()) {
            mock = mock.with_tool_calls(calls)?;
        }
        Ok(mock)
    }

    /// The same answer with litellm's `mock_tool_calls` added: a list of
    /// OpenAI tool calls (`{"id","type":"function","function":{"name","arguments"}}`;
    /// an id is made up where none is given, arguments may be an object).
    pub fn with_tool_calls(self, calls: &Value) -> Result<Self> {
        let bad = |why: &str| Error::bad_request(format!("mock_tool_calls: {why}"));
        let list = calls
            .as_array()
            .ok_or_else(|| bad("must be a list of tool calls"))?;
        let (content, mut tool_calls) = match self {
            MockResponse::Message {
                content,
                tool_calls,
            } => (content, tool_calls),
            MockResponse::Error(_) => return Ok(self),
        };
        for call in list {
            let index = tool_calls.len();
            let id = call.get("id").and_then(Value::as_str).map(str::to_string);
            let function = call
                .get("function")
                .ok_or_else(|| bad("each call needs a function"))?;
            let name = function
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("each function needs a name"))?;
            let arguments = match function.get("arguments") {
                None | Some(Value::Null) => "{}".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            tool_calls.push(tool_call(index, id, name.to_string(), arguments));
        }
        Ok(MockResponse::Message {
            content,
            tool_calls,
        })
    }
}

/// The failure a mock of `kind` stands for, with the status a provider would give.
pub(super) fn mock_error(kind: ErrorKind) -> Error {
    Error::new(kind, format!("this is a mock {kind} error")).with_status(kind.http_status())
}

impl From<&str> for MockResponse {
    fn from(s: &str) -> Self {
        match LITELLM_ERRORS.iter().find(|(n, _)| *n == s) {
            Some((_, kind)) => MockResponse::Error(*kind),
            None if s.starts_with(CONTENT_FILTER) => MockResponse::Error(ErrorKind::ContentPolicy),
            None => MockResponse::text(s),
        }
    }
}

impl From<String> for MockResponse {
    fn from(s: String) -> Self {
        MockResponse::from(s.as_str())
    }
}

fn tool_call(
    index: usize,
    id: Option<String>,
    name: String,
    arguments: String,
) -> ResponseToolCall {
    ResponseToolCall {
        id: id.unwrap_or_else(|| format!("call_mock_{index}")),
        kind: "function".into(),
        function: ResponseFunction { name, arguments },
        provider_specific_fields: None,
    }
}

/// Rough token estimate for mock responses: one token per four characters.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Usage of `req` answered with `content` and `calls`, estimated.
pub(super) fn mock_usage(req: &ChatRequest, content: &str, calls: &[ResponseToolCall]) -> Usage {
    let prompt: u64 = req
        .messages
        .iter()
        .map(|m| {
            4 + match &m.content {
                Some(Content::Text(t)) => estimate_tokens(t),
                Some(Content::Parts(p)) => (p.len() as u64).saturating_mul(4),
                None => 0,
            }
        })
        .fold(0u64, u64::saturating_add);
    let completion = calls
        .iter()
        .map(|c| estimate_tokens(&c.function.name) + estimate_tokens(&c.function.arguments))
        .fold(estimate_tokens(content), u64::saturating_add);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        ..Default::default()
    }
}

fn finish_reason(calls: &[ResponseToolCall]) -> &'static str {
    if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// A `chat.completion` answering with `content` and `calls`.
pub(super) fn mock_completion(
    req: &ChatRequest,
    model: &str,
    (content, calls): (Option<&str>, &[ResponseToolCall]),
    id: String,
    created: u64,
) -> ChatResponse {
    ChatResponse {
        id,
        object: "chat.completion".into(),
        created,
        model: model.to_string(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".into(),
                content: content.map(str::to_string),
                tool_calls: calls.to_vec(),
                ..Default::default()
            },
            finish_reason: Some(finish_reason(calls).into()),
            ..Default::default()
        }],
        usage: Some(mock_usage(req, content.unwrap_or_default(), calls)),
    }
}

/// The chunks of a stream answering with `content` (a word at a time) and
/// `calls` (one whole call a chunk), then the finish and (when asked for)
/// a usage chunk.
pub(super) fn mock_chunks(
    req: &ChatRequest,
    model: &str,
    (content, calls): (Option<&str>, &[ResponseToolCall]),
    id: String,
    created: u64,
) -> Vec<ChatChunk> {
    let chunk = |delta: Delta, finish: Option<&str>| ChatChunk {
        id: id.clone(),
        object: "chat.completion.chunk".into(),
        created,
        model: model.to_string(),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
            ..Default::default()
        }],
        usage: None,
    };
    let text = content.unwrap_or_default();
    let mut deltas: Vec<Delta> = text
        .split_inclusive(' ')
        .map(|piece| Delta {
            content: Some(piece.to_string()),
            ..Default::default()
        })
        .collect();
    deltas.extend(calls.iter().enumerate().map(|(i, c)| Delta {
        tool_calls: vec![ToolCallDelta {
            index: i as u32,
            id: Some(c.id.clone()),
            kind: Some(c.kind.clone()),
            function: FunctionDelta {
                name: Some(c.function.name.clone()),
                arguments: Some(c.function.arguments.clone()),
            },
            provider_specific_fields: None,
        }],
        ..Default::default()
    }));
    let mut out: Vec<ChatChunk> = deltas
        .into_iter()
        .enumerate()
        .map(|(i, mut delta)| {
            delta.role = (i == 0).then(|| "assistant".to_string());
            chunk(delta, None)
        })
        .collect();
    out.push(chunk(Delta::default(), Some(finish_reason(calls))));
    if req.include_usage() {
        let mut last = chunk(Delta::default(), None);
        last.choices.clear();
        last.usage = Some(mock_usage(req, text, calls));
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn litellm_exception_names_are_failures_and_other_text_is_text() {
        assert_eq!(
            MockResponse::from("litellm.RateLimitError"),
            MockResponse::Error(ErrorKind::RateLimit)
        );
        assert_eq!(
            MockResponse::from("litellm.ContextWindowExceededError"),
            MockResponse::Error(ErrorKind::ContextWindowExceeded)
        );
        assert_eq!(
            MockResponse::from("Exception: content_filter_policy: blocked"),
            MockResponse::Error(ErrorKind::ContentPolicy)
        );
        // A name litellm does not know, or a kind name in plain text, is just text.
        assert_eq!(
            MockResponse::from("litellm.RateLimitErr"),
            MockResponse::text("litellm.RateLimitErr")
        );
        assert_eq!(
            MockResponse::from("rate_limit"),
            MockResponse::text("rate_limit")
        );
        assert_eq!(
            MockResponse::error_named("rate_limit"),
            Some(ErrorKind::RateLimit)
        );
        assert_eq!(
            MockResponse::error_named("litellm.Timeout"),
            Some(ErrorKind::Timeout)
        );
    }

    #[test]
    fn every_kind_has_a_litellm_name() {
        for kind in ErrorKind::ALL {
            assert!(
                LITELLM_ERRORS.iter().any(|(_, k)| *k == kind),
                "{kind} has no litellm exception name"
            );
        }
    }

    #[test]
    fn litellm_dict_and_tool_call_forms_are_read() {
        let m = MockResponse::from_json(&json!({"choices": [{"message": {"role": "assistant",
            "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}]}))
        .unwrap();
        let MockResponse::Message {
            content,
            tool_calls,
        } = &m
        else {
            panic!("{m:?}")
        };
        assert_eq!(content, &None);
        assert_eq!(tool_calls[0].id, "call_1");
        assert_eq!(tool_calls[0].function.arguments, "{\"city\":\"Paris\"}");
        let m = MockResponse::text("Checking.")
            .with_tool_calls(&json!([{"function": {"name": "f", "arguments": {"a": 1}}}]))
            .unwrap();
        let MockResponse::Message { tool_calls, .. } = m else {
            panic!()
        };
        assert_eq!(tool_calls[0].id, "call_mock_0");
        assert_eq!(tool_calls[0].function.arguments, "{\"a\":1}");
        for bad in [json!(3), json!({"choices": []}), json!({"content": 5})] {
            assert!(MockResponse::from_json(&bad).is_err(), "{bad}");
        }
        assert!(
            MockResponse::text("x")
                .with_tool_calls(&json!([{"id": "c"}]))
                .is_err()
        );
    }

    #[test]
    fn a_tool_call_answer_finishes_with_tool_calls_in_json_and_in_chunks() {
        let req = ChatRequest::new("m").user("weather?");
        let MockResponse::Message {
            content,
            tool_calls,
        } = MockResponse::tool_call("get_weather", "{}")
        else {
            panic!()
        };
        let answer = (content.as_deref(), tool_calls.as_slice());
        let resp = mock_completion(&req, "m", answer, "id".into(), 1);
        assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            resp.choices[0].message.tool_calls[0].function.name,
            "get_weather"
        );
        let chunks = mock_chunks(&req, "m", answer, "id".into(), 1);
        let first = &chunks[0].choices[0].delta;
        assert_eq!(first.role.as_deref(), Some("assistant"));
        assert_eq!(
            first.tool_calls[0].function.name.as_deref(),
            Some("get_weather")
        );
        let last = chunks.last().unwrap();
        assert_eq!(last.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    }
}
