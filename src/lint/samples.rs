//! Lint beyond compiling: renders every loaded spec's request for sample
//! requests (plain, system + multi-turn, tools and tool results, images,
//! JSON schema, stream; embeddings; token counts) through the engine, as a
//! call would, and reports any that fail, located at the endpoint's body. Rendering is
//! bounded (see `template`), so no sample can hang or exhaust lint.

use serde_json::{Map, Value, json};

use crate::engine::count::prepare_count;
use crate::engine::embed::canonical_embedding;
use crate::engine::render::{prepare_chat, render_request};
use crate::spec::{Diagnostic, Loaded, Severity, Source};
use crate::types::{ChatRequest, EmbeddingRequest};

/// A finding for every sample request a loaded spec cannot render.
pub(super) fn render_all(sources: &[Source], loaded: &mut Loaded) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let chats = samples();
    for spec in &loaded.specs {
        let Some(chain) = loaded.chains.get(&spec.id) else {
            continue;
        };
        let mut finding = |at: &[&str], message: String| {
            let at: Vec<String> = at.iter().map(|k| k.to_string()).collect();
            let (file, line, col) = loaded.places.place(sources, chain, &at);
            out.push(Diagnostic {
                file,
                line,
                col,
                severity: Severity::Error,
                code: "render".into(),
                message,
            });
        };
        let params: Map<String, Value> = spec
            .params
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Value::String(p.default.clone().unwrap_or_else(|| "sample".into())),
                )
            })
            .collect();
        if let Some(ep) = spec.embeddings.as_ref() {
            let sample = json!({"model": "m", "input": ["a \"b\" {{c}}", "d"], "dimensions": 8});
            let req: EmbeddingRequest = serde_json::from_value(sample).unwrap_or_default();
            let result = canonical_embedding(&req, "sample-model", params.clone())
                .and_then(|c| render_request(spec, &ep.request, None, &c));
            if let Err(e) = result {
                finding(
                    &["embeddings", "body"],
                    format!(
                        "the sample embeddings request does not render: {}",
                        e.message()
                    ),
                );
            }
        }
        if spec.chat.is_none() {
            continue;
        }
        for (name, req) in &chats {
            let result = prepare_chat(spec, req, "sample-model", params.clone(), req.is_stream());
            if let Err(e) = result {
                finding(
                    &["chat", "body"],
                    format!("the {name} sample request does not render: {}", e.message()),
                );
            }
            if spec.count_tokens.is_none() || req.is_stream() {
                continue;
            }
            if let Err(e) = prepare_count(spec, req, "sample-model", params.clone(), None) {
                finding(
                    &["count-tokens", "body"],
                    format!(
                        "the {name} sample request's token count does not render: {}",
                        e.message()
                    ),
                );
            }
        }
        // Each variant renders the samples too, found at its own body.
        for v in &spec.variants {
            for (name, req) in &chats {
                let result = prepare_chat(
                    &v.spec,
                    req,
                    "sample-model",
                    params.clone(),
                    req.is_stream(),
                );
                if let Err(e) = result {
                    finding(
                        &["chat", "variants", &v.name, "body"],
                        format!(
                            "the {name} sample request does not render through variant `{}`: {}",
                            v.name,
                            e.message()
                        ),
                    );
                }
            }
        }
    }
    out
}

/// Named sample requests every spec must render.
fn samples() -> Vec<(&'static str, ChatRequest)> {
    let tool = json!({"type": "function", "function": {"name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}});
    let raw = [
        (
            "plain",
            json!({"model": "m", "messages": [{"role": "user", "content": "Hi \"there\" {{x}} </script>\n\u{1F600}"}]}),
        ),
        (
            "multi-turn",
            json!({"model": "m", "temperature": 0.2, "max_tokens": 50, "stop": "END", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Again"}]}),
        ),
        (
            "tools",
            json!({"model": "m", "tools": [tool], "tool_choice": "auto", "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null,
                "thinking_blocks": [{"type": "thinking", "thinking": "Needs the tool.", "signature": "c2ln"},
                    {"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="}],
                "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                "provider_specific_fields": {"thought_signature": "c2ln"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]}),
        ),
        (
            "images",
            json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}]}),
        ),
        (
            "json-schema",
            json!({"model": "m", "messages": [{"role": "user", "content": "Give JSON"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}}}}),
        ),
        (
            "stream",
            json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "Hi"}]}),
        ),
    ];
    let samples: Vec<(&'static str, ChatRequest)> = raw
        .into_iter()
        .filter_map(|(n, v)| serde_json::from_value(v).ok().map(|r| (n, r)))
        .collect();
    debug_assert_eq!(samples.len(), 6, "every sample request parses");
    samples
}
