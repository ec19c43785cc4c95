//! The canonical request: what every request template sees. Built from the
//! OpenAI-shaped request once per call, shaped by two generic spec options
//! (role renames, merging consecutive same-role messages). Knows no provider.
//!
//! ```text
//! model, stream, include_usage, params.{…}, request (the whole OpenAI request)
//! system        text of every system/developer message, joined by a blank line (or null)
//! system_blocks [{ type: "text", text, cache_control }] of those messages
//! system_plain  true when every system message was a plain string
//! messages[]    { role, text, plain, content: [block…] }   (system messages excluded
//!               unless the spec names a `system-role`; `plain`: the message was one plain string)
//!   block       { type: "text", text, cache_control }
//!               { type: "image", url | data, media_type, detail, cache_control }
//!               { type: "audio", data, format, media_type }
//!               { type: "file", data | url | file_id, media_type, filename, name, file }
//!               (content parts: see `parts`)
//!               { type: "tool_call", id, name, arguments (text), input (parsed), signature? }
//!               { type: "tool_result", tool_call_id, name, content (text) }
//!               { type: "thinking", thinking, signature }   } an assistant message's
//!               { type: "redacted_thinking", data }         } `thinking_blocks`, first,
//!                                                             only when the spec sets `reasoning-blocks`
//! tools[]       { name, description, parameters, strict }
//! tool_choice   { mode: auto | none | required | tool, name }
//! response_format { type: text | json_object | json_schema, name, schema, strict, description }
//! temperature, top_p, max_tokens (max_completion_tokens wins), stop (always a list),
//! seed, user, parallel_tool_calls, extra (unknown request fields)
//! ```

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::parts::content_blocks;
use crate::error::{Error, Result};
use crate::spec::Shape;
use crate::types::{
    ChatRequest, Content, ContentPart, ResponseFormat, Role, Stop, ThinkingBlock, ToolChoice,
};

/// The OpenAI parameters each typed canonical field comes from (the
/// untyped ones are in `extra` under their own names): what a template
/// that reads the field carries.
#[cfg(any(feature = "cli", test))]
pub(crate) const FROM_PARAMS: &[(&str, &[&str])] = &[
    ("max_tokens", &["max_tokens", "max_completion_tokens"]),
    ("parallel_tool_calls", &["parallel_tool_calls"]),
    ("response_format", &["response_format"]),
    ("seed", &["seed"]),
    ("stop", &["stop"]),
    ("temperature", &["temperature"]),
    ("tool_choice", &["tool_choice"]),
    ("tools", &["tools"]),
    ("top_p", &["top_p"]),
    ("user", &["user"]),
];

/// Builds the canonical request value.
pub(crate) fn canonical(
    req: &ChatRequest,
    model: &str,
    stream: bool,
    params: Map<String, Value>,
    shape: &Shape,
) -> Result<Value> {
    let mut system: Vec<String> = Vec::new();
    let mut system_blocks: Vec<Value> = Vec::new();
    let mut system_plain = true;
    let mut messages: Vec<Value> = Vec::with_capacity(req.messages.len());
    let mut tool_names: HashMap<&str, &str> = HashMap::new();

    for msg in &req.messages {
        let role = match msg.role {
            Role::System | Role::Developer => {
                system.push(content_text(msg.content.as_ref()));
                system_plain &= matches!(msg.content, Some(Content::Text(_)));
                content_blocks(msg.content.as_ref(), &mut system_blocks)?;
                if !shape.roles.contains_key("system") {
                    continue;
                }
                "system"
            }
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool | Role::Function => "tool",
        };
        let mut blocks = Vec::new();
        if role == "tool" {
            let id = msg.tool_call_id.as_deref().unwrap_or_default();
            let name = msg
                .name
                .as_deref()
                .or_else(|| tool_names.get(id).copied())
                .unwrap_or_default();
            blocks.push(json!({
                "type": "tool_result",
                "tool_call_id": id,
                "name": name,
                "content": content_text(msg.content.as_ref()),
            }));
        } else {
            if shape.reasoning_blocks && role == "assistant" {
                thinking_blocks(msg.thinking_blocks.as_deref(), &mut blocks);
            }
            content_blocks(msg.content.as_ref(), &mut blocks)?;
            for call in msg.tool_calls.iter().flatten() {
                tool_names.insert(&call.id, &call.function.name);
                let args = &call.function.arguments;
                let input = if args.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(args).unwrap_or_else(|_| Value::String(args.clone()))
                };
                let mut block = json!({
                    "type": "tool_call",
                    "id": call.id,
                    "name": call.function.name,
                    "arguments": args,
                    "input": input,
                });
                // Only present when sent, so blocks without one stay as they were.
                if let Some(sig) = call.thought_signature() {
                    block["signature"] = Value::String(sig.to_string());
                }
                blocks.push(block);
            }
        }
        let reasoning = blocks
            .first()
            .is_some_and(|b| b["type"] == "thinking" || b["type"] == "redacted_thinking");
        let plain = role != "tool"
            && !reasoning
            && msg.tool_calls.as_ref().is_none_or(Vec::is_empty)
            && matches!(msg.content, Some(Content::Text(_)));
        let role = shape.roles.get(role).map_or(role, String::as_str);
        if shape.merge_roles
            && let Some(last) = messages.last_mut()
            && last["role"] == role
        {
            if let Some(Value::Array(prev)) = last.get_mut("content") {
                prev.extend(blocks);
            }
            last["plain"] = Value::Bool(false);
            continue;
        }
        messages.push(json!({ "role": role, "plain": plain, "content": blocks }));
    }
    for m in &mut messages {
        let text = m["content"]
            .as_array()
            .map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        if let Some(obj) = m.as_object_mut() {
            obj.insert("text".into(), Value::String(text));
        }
    }

    let mut tools = req.tools.as_ref().filter(|t| !t.is_empty()).map(|tools| {
        tools
            .iter()
            .map(|t| {
                json!({
                    "name": t.function.name,
                    "description": t.function.description,
                    "parameters": t.function.parameters.clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                    "strict": t.function.strict,
                })
            })
            .collect::<Vec<_>>()
    });
    let mut tool_choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Mode(m) => json!({ "mode": m }),
        ToolChoice::Named(n) => json!({ "mode": "tool", "name": n.function.name }),
    });
    if let Some(name) = &shape.json_tool
        && matches!(req.response_format, Some(ResponseFormat::JsonObject))
    {
        json_tool(name, &mut tools, &mut tool_choice);
    }
    let response_format = req.response_format.as_ref().map(|f| match f {
        ResponseFormat::Text => json!({ "type": "text" }),
        ResponseFormat::JsonObject => json!({ "type": "json_object" }),
        ResponseFormat::JsonSchema { json_schema } => json!({
            "type": "json_schema",
            "name": json_schema.name,
            "description": json_schema.description,
            "schema": json_schema.schema,
            "strict": json_schema.strict,
        }),
    });
    let stop = req.stop.as_ref().map(|s| match s {
        Stop::One(s) => vec![s.clone()],
        Stop::Many(v) => v.clone(),
    });
    // Only a spec whose templates read `request` pays for a copy of it.
    let request = if shape.request {
        let mut r = serde_json::to_value(req).map_err(|e| Error::bad_request(e.to_string()))?;
        strip_reasoning_state(&mut r);
        r
    } else {
        Value::Null
    };
    let num = |v: Option<f64>| v.map_or(Value::Null, Value::from);
    let system = if system.is_empty() {
        Value::Null
    } else {
        Value::String(system.join("\n\n"))
    };
    // Built by moving each part in: `json!` would deep-copy them. In key
    // order, so building the map needs no sorting.
    let fields: [(&str, Value); 20] = [
        ("extra", Value::Object(req.extra.clone())),
        ("include_usage", Value::Bool(req.include_usage())),
        (
            "max_tokens",
            req.max_completion_tokens
                .or(req.max_tokens)
                .map_or(Value::Null, Value::from),
        ),
        ("messages", Value::Array(messages)),
        ("model", Value::String(model.to_string())),
        (
            "parallel_tool_calls",
            req.parallel_tool_calls.map_or(Value::Null, Value::Bool),
        ),
        ("params", Value::Object(params)),
        ("request", request),
        ("response_format", response_format.unwrap_or(Value::Null)),
        ("seed", req.seed.map_or(Value::Null, Value::from)),
        ("stop", stop.map_or(Value::Null, Value::from)),
        ("stream", Value::Bool(stream)),
        ("system", system),
        ("system_blocks", Value::Array(system_blocks)),
        ("system_plain", Value::Bool(system_plain)),
        ("temperature", num(req.temperature)),
        ("tool_choice", tool_choice.unwrap_or(Value::Null)),
        ("tools", tools.map_or(Value::Null, Value::Array)),
        ("top_p", num(req.top_p)),
        ("user", req.user.clone().map_or(Value::Null, Value::String)),
    ];
    debug_assert!(fields.windows(2).all(|w| w[0].0 < w[1].0));
    Ok(Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    ))
}

/// JSON mode through a tool (`json-tool`), as Anthropic documents it
/// (<https://docs.anthropic.com/en/docs/build-with-claude/tool-use#json-mode>):
/// the request offers a tool that takes any JSON object and, with no tools
/// of the caller's, forces it; beside the caller's tools, a tool call is
/// required (theirs, or this one for a JSON answer), unless they named one.
fn json_tool(name: &str, tools: &mut Option<Vec<Value>>, tool_choice: &mut Option<Value>) {
    let own = tools.as_ref().is_some_and(|t| !t.is_empty());
    tools.get_or_insert_with(Vec::new).push(json!({
        "name": name,
        "description": "Respond with a JSON object: your whole answer is this tool's input.",
        "parameters": {"type": "object"},
        "strict": null,
    }));
    let named = tool_choice.as_ref().is_some_and(|c| c["mode"] == "tool");
    if !own {
        *tool_choice = Some(json!({ "mode": "tool", "name": name }));
    } else if !named {
        *tool_choice = Some(json!({ "mode": "required" }));
    }
}

/// Reasoning state travels in canonical blocks only: `request` is the
/// OpenAI request as OpenAI-compatible APIs take it, and some of them refuse
/// unknown message fields, so `thinking_blocks` and tool calls'
/// `provider_specific_fields` are taken out of it.
fn strip_reasoning_state(request: &mut Value) {
    let Some(Value::Array(messages)) = request.get_mut("messages") else {
        return;
    };
    for m in messages.iter_mut().filter_map(Value::as_object_mut) {
        m.remove("thinking_blocks");
        if let Some(Value::Array(calls)) = m.get_mut("tool_calls") {
            for c in calls.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("provider_specific_fields");
            }
        }
    }
}

/// An assistant turn's reasoning blocks, in order; unknown types are dropped.
fn thinking_blocks(blocks: Option<&[ThinkingBlock]>, out: &mut Vec<Value>) {
    for b in blocks.into_iter().flatten() {
        match b {
            ThinkingBlock::Thinking {
                thinking,
                signature,
            } => out
                .push(json!({ "type": "thinking", "thinking": thinking, "signature": signature })),
            ThinkingBlock::RedactedThinking { data } => {
                out.push(json!({ "type": "redacted_thinking", "data": data }))
            }
            ThinkingBlock::Other => {}
        }
    }
}

fn content_text(content: Option<&Content>) -> String {
    match content {
        None => String::new(),
        Some(Content::Text(t)) => t.clone(),
        Some(Content::Parts(parts)) => parts
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    fn roles(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// The canonical value of `req` (model "m", not streamed, no params).
    fn build(req: &ChatRequest, roles: &HashMap<String, String>, merge_roles: bool) -> Value {
        let shape = Shape {
            request: true,
            roles: roles.clone(),
            merge_roles,
            reasoning_blocks: false,
            json_tool: None,
        };
        canonical(req, "m", false, Map::new(), &shape).unwrap()
    }

    #[test]
    fn system_and_developer_messages_become_system_text() {
        let req: ChatRequest = serde_json::from_value(json!({
            "model": "m", "messages": [
                {"role": "system", "content": "A"},
                {"role": "developer", "content": [{"type": "text", "text": "B"}]},
                {"role": "user", "content": "hi"}
            ]
        }))
        .unwrap();
        let r = roles(&[]);
        let c = build(&req, &r, false);
        assert_eq!(c["system"], "A\n\nB");
        assert_eq!(
            c["messages"],
            json!([{"role": "user", "plain": true, "content": [{"type": "text", "text": "hi"}], "text": "hi"}])
        );
        assert_eq!(c["system_plain"], false);
    }

    #[test]
    fn tool_results_take_the_name_of_their_call_and_merge_into_user_turns() {
        let req: ChatRequest = serde_json::from_value(json!({
            "model": "m", "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "user", "content": "thanks"}
            ]
        }))
        .unwrap();
        let r = roles(&[("tool", "user")]);
        let c = build(&req, &r, true);
        let msgs = c["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1]["content"][0]["input"], json!({"city": "Paris"}));
        assert_eq!(msgs[2]["role"], "user");
        assert_eq!(msgs[2]["content"][0]["name"], "get_weather");
        assert_eq!(msgs[2]["content"][1]["text"], "thanks");
    }

    #[test]
    fn a_system_role_keeps_system_messages_in_place() {
        let req: ChatRequest = serde_json::from_value(json!({
            "model": "m", "messages": [
                {"role": "user", "content": "hi"},
                {"role": "developer", "content": "Be brief."}
            ]
        }))
        .unwrap();
        let r = roles(&[("system", "system")]);
        let c = build(&req, &r, false);
        assert_eq!(c["system"], "Be brief.");
        assert_eq!(c["messages"][1]["role"], "system");
        assert_eq!(c["messages"][1]["text"], "Be brief.");
        assert_eq!(c["messages"][1]["plain"], true);
    }

    fn reasoning_request() -> ChatRequest {
        serde_json::from_value(json!({
            "model": "m", "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": "Checking.",
                 "thinking_blocks": [
                    {"type": "thinking", "thinking": "Use the tool.", "signature": "s1"},
                    {"type": "redacted_thinking", "data": "r1"},
                    {"type": "unknown_kind", "x": 1}],
                 "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                    "provider_specific_fields": {"thought_signature": "s2"}}]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn reasoning_blocks_go_first_in_their_assistant_message_when_the_spec_asks() {
        let r = roles(&[]);
        let shape = |reasoning_blocks| Shape {
            request: true,
            roles: r.clone(),
            merge_roles: false,
            reasoning_blocks,
            json_tool: None,
        };
        let c = canonical(&reasoning_request(), "m", false, Map::new(), &shape(true)).unwrap();
        let m = &c["messages"][1];
        assert_eq!(m["plain"], false);
        assert_eq!(
            m["content"],
            json!([
                {"type": "thinking", "thinking": "Use the tool.", "signature": "s1"},
                {"type": "redacted_thinking", "data": "r1"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": "{}",
                 "input": {}, "signature": "s2"}
            ])
        );
        // `request` is what OpenAI-compatible APIs take: no reasoning state.
        assert!(c["request"]["messages"][1].get("thinking_blocks").is_none());
        assert!(
            c["request"]["messages"][1]["tool_calls"][0]
                .get("provider_specific_fields")
                .is_none()
        );

        let c = canonical(&reasoning_request(), "m", false, Map::new(), &shape(false)).unwrap();
        let m = &c["messages"][1];
        assert_eq!(m["content"][0]["type"], "text");
        assert_eq!(m["content"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_json_object_request_offers_and_forces_the_json_tool() {
        let shape = |json_tool: Option<&str>| Shape {
            json_tool: json_tool.map(str::to_string),
            ..Shape::default()
        };
        let mut req: ChatRequest = serde_json::from_value(json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_object"}
        }))
        .unwrap();
        let c = canonical(&req, "m", false, Map::new(), &shape(Some("json_out"))).unwrap();
        assert_eq!(c["tools"][0]["name"], "json_out");
        assert_eq!(c["tools"][0]["parameters"], json!({"type": "object"}));
        assert_eq!(
            c["tool_choice"],
            json!({"mode": "tool", "name": "json_out"})
        );
        // Without `json-tool`, nothing is added.
        let c = canonical(&req, "m", false, Map::new(), &shape(None)).unwrap();
        assert!(c["tools"].is_null() && c["tool_choice"].is_null());
        // Beside the caller's tools: a call is required, the caller's tools first.
        req.tools = Some(vec![
            serde_json::from_value(json!({"type": "function", "function": {"name": "f"}})).unwrap(),
        ]);
        let c = canonical(&req, "m", false, Map::new(), &shape(Some("json_out"))).unwrap();
        assert_eq!(c["tools"][0]["name"], "f");
        assert_eq!(c["tools"][1]["name"], "json_out");
        assert_eq!(c["tool_choice"], json!({"mode": "required"}));
    }
}
