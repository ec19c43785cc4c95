//! Reasoning state carried across turns, the way litellm's OpenAI-shaped
//! API carries it: an answer's `thinking_blocks` and its tool calls'
//! `provider_specific_fields.thought_signature` come back to the caller, and
//! the caller's next request sends them back to the provider in its own
//! shape. Upstreams are mocks on 127.0.0.1 speaking each provider's wire
//! format.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::{
    CallOptions, ChatChunk, ChatRequest, Client, Message, ResponseMessage, Role, ThinkingBlock,
    ToolCall,
};

use crate::support::{Mock, Reply};

fn opts(api_base: String) -> CallOptions {
    CallOptions {
        api_key: Some("test-key".into()),
        api_base: Some(api_base),
        ..Default::default()
    }
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})
}

/// The request a caller sends after an answer: the answer's message as the
/// assistant turn (through JSON, as an HTTP client would), then the tool's result.
fn follow_up(model: &str, answer: &ResponseMessage, result: &str) -> ChatRequest {
    let assistant: Message =
        serde_json::from_value(serde_json::to_value(answer).expect("message JSON"))
            .expect("an answer's message is a valid request message");
    let call_id = answer.tool_calls[0].id.clone();
    serde_json::from_value(json!({
        "model": model,
        "tools": [weather_tool()],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            assistant,
            {"role": "tool", "tool_call_id": call_id, "content": result}
        ]
    }))
    .expect("follow-up request")
}

fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

async fn collect(client: &Client, req: &ChatRequest, opts: &CallOptions) -> Vec<ChatChunk> {
    let mut stream = client.stream(req, opts).await.expect("stream starts");
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        chunks.push(item.expect("stream chunk"));
    }
    chunks
}

/// What a client that concatenates deltas rebuilds: a thinking block's text
/// is the `reasoning_content` since the previous block, and the delta block
/// carrying its signature closes it; a redacted block arrives whole. Tool
/// calls join by index, `provider_specific_fields` kept.
fn rebuild(chunks: &[ChatChunk]) -> ResponseMessage {
    let mut msg: ResponseMessage =
        serde_json::from_value(json!({"role": "assistant", "content": null}))
            .expect("empty message");
    let mut reasoning = String::new();
    let mut calls: Vec<Value> = Vec::new();
    for delta in chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .map(|c| &c.delta)
    {
        if let Some(t) = &delta.content {
            msg.content.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(t) = &delta.reasoning_content {
            reasoning.push_str(t);
            msg.reasoning_content
                .get_or_insert_with(String::new)
                .push_str(t);
        }
        for b in &delta.thinking_blocks {
            msg.thinking_blocks.push(match b {
                ThinkingBlock::Thinking {
                    thinking,
                    signature,
                } => ThinkingBlock::Thinking {
                    thinking: std::mem::take(&mut reasoning) + thinking,
                    signature: signature.clone(),
                },
                other => other.clone(),
            });
        }
        for tc in &delta.tool_calls {
            let i = tc.index as usize;
            if calls.len() <= i {
                calls.resize(
                    i + 1,
                    json!({"type": "function", "function": {"name": "", "arguments": ""}}),
                );
            }
            let c = &mut calls[i];
            if let Some(id) = &tc.id {
                c["id"] = json!(id);
            }
            if let Some(n) = &tc.function.name {
                let name = format!("{}{n}", c["function"]["name"].as_str().unwrap_or_default());
                c["function"]["name"] = json!(name);
            }
            if let Some(a) = &tc.function.arguments {
                let args = format!(
                    "{}{a}",
                    c["function"]["arguments"].as_str().unwrap_or_default()
                );
                c["function"]["arguments"] = json!(args);
            }
            if let Some(f) = &tc.provider_specific_fields {
                c["provider_specific_fields"] = json!(f);
            }
        }
    }
    msg.tool_calls = calls
        .into_iter()
        .map(|c| serde_json::from_value(c).expect("tool call"))
        .collect();
    msg
}

const SIG: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDdFmJ8Wq+ZzdR9ZkiMKJ3ZzN5NmEx";
const REDACTED: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";

#[tokio::test]
async fn anthropic_thinking_blocks_come_back_and_go_first_in_the_next_turn() {
    let answer = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "The user wants Paris weather; call the tool.", "signature": SIG},
            {"type": "redacted_thinking", "data": REDACTED},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 40, "output_tokens": 60}
    });
    let done = json!({
        "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Sunny in Paris."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 90, "output_tokens": 5}
    });
    let mock = Mock::start(vec![Reply::json(200, &answer), Reply::json(200, &done)]).await;
    let client = Client::new().expect("built-in specs");
    let first: ChatRequest = serde_json::from_value(json!({
        "model": "anthropic/claude-sonnet-4-5", "tools": [weather_tool()],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "Weather in Paris?"}]
    }))
    .expect("request");
    let resp = client
        .completion(&first, &opts(mock.url.clone()))
        .await
        .expect("first answer");
    let msg = &resp.choices[0].message;
    assert_eq!(
        msg.reasoning_content.as_deref(),
        Some("The user wants Paris weather; call the tool.")
    );
    assert_eq!(
        serde_json::to_value(&msg.thinking_blocks).expect("blocks"),
        json!([
            {"type": "thinking", "thinking": "The user wants Paris weather; call the tool.", "signature": SIG},
            {"type": "redacted_thinking", "data": REDACTED}
        ])
    );

    let mut next = follow_up("anthropic/claude-sonnet-4-5", msg, "sunny");
    next.extra.insert(
        "thinking".into(),
        json!({"type": "enabled", "budget_tokens": 1024}),
    );
    client
        .completion(&next, &opts(mock.url.clone()))
        .await
        .expect("second answer");
    let sent = mock.requests()[1].json();
    assert_eq!(
        sent["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "thinking", "thinking": "The user wants Paris weather; call the tool.", "signature": SIG},
            {"type": "redacted_thinking", "data": REDACTED},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
        ]})
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny"}
        ]})
    );
}

#[tokio::test]
async fn anthropic_stream_rebuilds_thinking_blocks_with_their_signatures() {
    // Anthropic's documented framing: https://docs.anthropic.com/en/docs/build-with-claude/streaming
    let body = sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_s1", "type": "message",
            "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": 40, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "thinking", "thinking": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Paris weather "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "needs the tool."}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "signature_delta", "signature": SIG}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "redacted_thinking", "data": REDACTED}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 2,
            "content_block": {"type": "tool_use", "id": "toolu_s1", "name": "get_weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 2}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 70}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let mock = Mock::start(vec![
        Reply::stream("text/event-stream", body),
        Reply::json(
            200,
            &json!({"id": "msg_s2", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "Sunny."}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 90, "output_tokens": 3}}),
        ),
    ])
    .await;
    let client = Client::new().expect("built-in specs");
    let mut req: ChatRequest = serde_json::from_value(json!({
        "model": "anthropic/claude-sonnet-4-5", "tools": [weather_tool()], "stream": true,
        "messages": [{"role": "user", "content": "Weather in Paris?"}]
    }))
    .expect("request");
    let chunks = collect(&client, &req, &opts(mock.url.clone())).await;

    // The signature delta carries the signature alone; the text went to reasoning_content.
    let signed: Vec<Value> = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .flat_map(|c| c.delta.thinking_blocks.iter())
        .map(|b| serde_json::to_value(b).expect("block"))
        .collect();
    assert_eq!(
        signed,
        vec![
            json!({"type": "thinking", "thinking": "", "signature": SIG}),
            json!({"type": "redacted_thinking", "data": REDACTED}),
        ]
    );
    let msg = rebuild(&chunks);
    assert_eq!(
        msg.thinking_blocks,
        vec![
            ThinkingBlock::Thinking {
                thinking: "Paris weather needs the tool.".into(),
                signature: Some(SIG.into()),
            },
            ThinkingBlock::RedactedThinking {
                data: REDACTED.into()
            },
        ]
    );
    assert_eq!(
        msg.tool_calls[0].function.arguments,
        "{\"city\": \"Paris\"}"
    );

    // The rebuilt turn goes back as Anthropic wants it.
    req = follow_up("anthropic/claude-sonnet-4-5", &msg, "sunny");
    client
        .completion(&req, &opts(mock.url.clone()))
        .await
        .expect("second answer");
    let sent = mock.requests()[1].json();
    assert_eq!(
        sent["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "Paris weather needs the tool.", "signature": SIG},
            {"type": "redacted_thinking", "data": REDACTED},
            {"type": "tool_use", "id": "toolu_s1", "name": "get_weather", "input": {"city": "Paris"}}
        ])
    );
}

const GEMINI_SIG: &str = "CiQBjz1rX+z7CAOCNB0aLI7ypObFNPY+MRlb2NP1K12YF4ii184KZgGPPWtf";
const GEMINI_TEXT_SIG: &str = "EqoeCqceAdHtim+cXhv3WM3Av2yBDu1t4su/bUCXEv2uoKmDxRFX";

#[tokio::test]
async fn gemini_thought_signature_rides_on_the_tool_call_and_back_on_its_part() {
    // Parallel calls: only the first functionCall part is signed.
    let answer = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Checking both.", "thoughtSignature": GEMINI_TEXT_SIG},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": GEMINI_SIG},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}
        ]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10, "totalTokenCount": 30},
        "modelVersion": "gemini-3-pro-preview", "responseId": "r1"
    });
    let done = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Sunny in both."}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 4, "totalTokenCount": 54}
    });
    let mock = Mock::start(vec![Reply::json(200, &answer), Reply::json(200, &done)]).await;
    let client = Client::new().expect("built-in specs");
    let first: ChatRequest = serde_json::from_value(json!({
        "model": "gemini/gemini-3-pro-preview", "tools": [weather_tool()],
        "messages": [{"role": "user", "content": "Weather in Paris?"}]
    }))
    .expect("request");
    let base = format!("{}/v1beta", mock.url);
    let resp = client
        .completion(&first, &opts(base.clone()))
        .await
        .expect("first answer");
    let msg = &resp.choices[0].message;
    let fields: Vec<Value> = msg
        .tool_calls
        .iter()
        .map(|t| json!(t.provider_specific_fields))
        .collect();
    assert_eq!(
        fields,
        vec![json!({"thought_signature": GEMINI_SIG}), Value::Null]
    );
    // A signature on a text part is not carried (providers/README.md says why).
    assert!(msg.thinking_blocks.is_empty());
    assert_eq!(msg.content.as_deref(), Some("Checking both."));

    let mut next = follow_up("gemini/gemini-3-pro-preview", msg, "{\"sky\": \"clear\"}");
    next.messages.push(Message {
        tool_call_id: Some(msg.tool_calls[1].id.clone()),
        ..Message::text(Role::Tool, "{\"sky\": \"clear\"}")
    });
    client
        .completion(&next, &opts(base))
        .await
        .expect("second answer");
    let sent = mock.requests()[1].json();
    let parts = &sent["contents"][1]["parts"];
    assert_eq!(sent["contents"][1]["role"], "model");
    assert_eq!(parts[0], json!({"text": "Checking both."}));
    assert_eq!(parts[1]["thoughtSignature"], GEMINI_SIG);
    assert_eq!(parts[1]["functionCall"]["args"], json!({"city": "Paris"}));
    assert!(parts[2].get("thoughtSignature").is_none());
    assert_eq!(parts[2]["functionCall"]["args"], json!({"city": "Rome"}));
}

#[tokio::test]
async fn gemini_streamed_function_call_carries_its_signature() {
    let events = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me look."}]}}],
            "modelVersion": "gemini-3-pro-preview", "responseId": "s1"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": GEMINI_SIG}]},
            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10, "totalTokenCount": 30},
            "modelVersion": "gemini-3-pro-preview", "responseId": "s1"}),
    ];
    let body: String = events
        .iter()
        .map(|e| format!("data: {e}\r\n\r\n"))
        .collect();
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let client = Client::new().expect("built-in specs");
    let req: ChatRequest = serde_json::from_value(json!({
        "model": "gemini/gemini-3-pro-preview", "tools": [weather_tool()], "stream": true,
        "messages": [{"role": "user", "content": "Weather in Paris?"}]
    }))
    .expect("request");
    let chunks = collect(&client, &req, &opts(format!("{}/v1beta", mock.url))).await;
    let msg = rebuild(&chunks);
    assert_eq!(msg.tool_calls.len(), 1);
    assert_eq!(msg.tool_calls[0].function.name, "get_weather");
    assert_eq!(
        json!(msg.tool_calls[0].provider_specific_fields),
        json!({"thought_signature": GEMINI_SIG})
    );
}

/// The chat body `id` renders for `req`; None when it has no chat endpoint.
fn try_body(client: &Client, id: &str, req: &ChatRequest) -> Option<Value> {
    let spec = client.registry().get(id).expect("spec");
    let params: BTreeMap<String, String> = [
        ("vertex_project".to_string(), "p".to_string()),
        ("api_version".to_string(), "2024-10-21".to_string()),
    ]
    .into();
    match switchboard::pure::render(spec, req, "some-model", &params) {
        Ok(r) => Some(r.body),
        Err(e) if e.message().contains("has no chat endpoint") => None,
        Err(e) => panic!("{id} renders: {e}"),
    }
}

fn spec_body(client: &Client, id: &str, req: &ChatRequest) -> Value {
    try_body(client, id, req).expect("a chat endpoint")
}

fn with_reasoning_state() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "m", "tools": [weather_tool()],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "Checking.",
             "thinking_blocks": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "c2lnLTE=", "cache_control": {"type": "ephemeral"}},
                {"type": "redacted_thinking", "data": "cmVk"},
                {"type": "some_future_block", "payload": [1, 2]}],
             "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                "provider_specific_fields": {"thought_signature": "c2lnLTI=", "other": {"x": 1}}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
        ]
    }))
    .expect("reasoning state, with unknown extras, parses")
}

fn without_reasoning_state() -> ChatRequest {
    let mut req = with_reasoning_state();
    req.messages[1].thinking_blocks = None;
    for c in req.messages[1].tool_calls.iter_mut().flatten() {
        c.provider_specific_fields = None;
    }
    req
}

#[test]
fn bedrock_sends_reasoning_content_blocks_first() {
    let client = Client::new().expect("built-in specs");
    let body = spec_body(&client, "bedrock", &with_reasoning_state());
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            {"reasoningContent": {"reasoningText": {"text": "Use the tool.", "signature": "c2lnLTE="}}},
            {"reasoningContent": {"redactedContent": "cmVk"}},
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}}
        ])
    );
}

#[test]
fn specs_that_do_not_read_reasoning_state_render_exactly_as_before() {
    let client = Client::new().expect("built-in specs");
    let (with, without) = (with_reasoning_state(), without_reasoning_state());
    let readers = [
        "anthropic",
        "vertex_anthropic",
        "bedrock",
        "gemini",
        "vertex",
    ];
    let mut checked = 0;
    for spec in client.registry().specs() {
        let Some(sent) = try_body(&client, spec.id(), &with) else {
            continue;
        };
        if readers.contains(&spec.id()) {
            continue;
        }
        assert_eq!(
            sent,
            spec_body(&client, spec.id(), &without),
            "{} renders reasoning state it does not read",
            spec.id()
        );
        checked += 1;
    }
    assert!(checked > 10, "only {checked} specs checked");
    // And the readers do read it.
    for id in readers {
        assert_ne!(
            spec_body(&client, id, &with),
            spec_body(&client, id, &without),
            "{id} ignores reasoning state"
        );
    }
}

#[test]
fn a_tool_call_signature_is_read_from_provider_specific_fields() {
    let call: ToolCall = serde_json::from_value(json!({"id": "c", "type": "function",
        "function": {"name": "f", "arguments": "{}"},
        "provider_specific_fields": {"thought_signature": "abc"}}))
    .expect("tool call");
    assert_eq!(call.thought_signature(), Some("abc"));
}
