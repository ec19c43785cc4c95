//! What a door's templates see of an answer: the canonical (OpenAI chat)
//! answer laid out as ordered output *blocks* — thinking, redacted
//! thinking, text, tool calls — with the finish reason and a usage object
//! that names each count once. Built the same way for a whole answer and
//! for a stream's finish, so a door writes its blocks once. Pure.

use serde_json::{Map, Value, json};

use crate::types::{ChatResponse, ThinkingBlock, Usage};

/// The usage view: every count a door may name, zeros when unknown.
///
/// `input` counts every input token (OpenAI's `prompt_tokens`); `cached` and
/// `cache_write` are the parts of it read from and written to a cache, and
/// `input_uncached` what is left (Anthropic's `input_tokens`).
pub(crate) fn usage(u: Option<&Usage>) -> Value {
    let Some(u) = u else {
        return json!({"input": 0, "output": 0, "total": 0, "cached": 0,
            "cache_write": 0, "reasoning": 0, "input_uncached": 0});
    };
    let details = u.prompt_tokens_details.as_ref();
    let cached = details.and_then(|d| d.cached_tokens).unwrap_or(0);
    let write = details.and_then(|d| d.cache_write_tokens).unwrap_or(0);
    let reasoning = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.reasoning_tokens)
        .unwrap_or(0);
    let mut v = json!({
        "input": u.prompt_tokens,
        "output": u.completion_tokens,
        "total": u.total_tokens,
        "cached": cached,
        "cache_write": write,
        "reasoning": reasoning,
        "input_uncached": u.prompt_tokens.saturating_sub(cached).saturating_sub(write),
    });
    if let (Some(cost), Value::Object(m)) = (&u.cost, &mut v) {
        m.insert("cost".into(), json!(cost.usd));
    }
    v
}

/// A text block.
pub(crate) fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// A thinking block (`signature` absent until known).
pub(crate) fn thinking_block(thinking: &str, signature: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), "thinking".into());
    m.insert("thinking".into(), thinking.into());
    if let Some(s) = signature {
        m.insert("signature".into(), s.into());
    }
    Value::Object(m)
}

/// A redacted thinking block.
pub(crate) fn redacted_block(data: &str) -> Value {
    json!({"type": "redacted_thinking", "data": data})
}

/// A tool-call block: `arguments` as text and `input` parsed (`{}` when
/// empty, the text when it is not JSON).
pub(crate) fn tool_block(id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "tool_call", "id": id, "name": name, "arguments": arguments,
        "input": parsed(arguments)})
}

/// Tool-call arguments as a value.
pub(crate) fn parsed(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// The view of a whole answer (its first choice).
pub(crate) fn answer(resp: &ChatResponse) -> Value {
    let choice = resp.choices.first();
    let msg = choice.map(|c| &c.message);
    let mut blocks = Vec::new();
    if let Some(m) = msg {
        for b in &m.thinking_blocks {
            match b {
                ThinkingBlock::Thinking {
                    thinking,
                    signature,
                } => blocks.push(thinking_block(thinking, signature.as_deref())),
                ThinkingBlock::RedactedThinking { data } => blocks.push(redacted_block(data)),
                ThinkingBlock::Other => {}
            }
        }
        if m.thinking_blocks.is_empty()
            && let Some(r) = m.reasoning_content.as_deref().filter(|r| !r.is_empty())
        {
            blocks.push(thinking_block(r, None));
        }
        if let Some(t) = m.content.as_deref().filter(|t| !t.is_empty()) {
            blocks.push(text_block(t));
        }
        for c in &m.tool_calls {
            blocks.push(tool_block(&c.id, &c.function.name, &c.function.arguments));
        }
    }
    let provider_stop = msg
        .and_then(|m| m.provider_specific_fields.as_ref())
        .and_then(|f| f.get("finish_reason"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "id": resp.id,
        "model": resp.model,
        "created": resp.created,
        "stop": choice.and_then(|c| c.finish_reason.clone()),
        "provider_stop": provider_stop,
        "text": msg.and_then(|m| m.content.clone()),
        "reasoning": msg.and_then(|m| m.reasoning_content.clone()),
        "blocks": blocks,
        "usage": usage(resp.usage.as_ref()),
    })
}
