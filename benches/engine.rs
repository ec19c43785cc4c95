//! Benchmarks the pure engine: rendering an OpenAI chat request for a
//! provider, mapping that provider's response back, and decoding and
//! mapping a streamed body. Touches no network and no files: every input
//! lives in this file, shaped after the recorded exchanges in the shared
//! cassettes (`openai/chat_text`, `openai/chat_stream_include_usage`,
//! `anthropic/chat_text`, `anthropic/chat_stream`,
//! `gemini/generate_content_text`, `gemini/stream_generate_content_sse`).
//!
//! Every input is checked once before it is timed, so a broken spec shows
//! up as a panic here instead of as the speed of an error path.

// A benchmark: unwrap, expect and panic are how a test fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use switchboard::{ChatRequest, Registry, Spec, pure};

const PROVIDERS: [&str; 3] = ["openai", "anthropic", "gemini"];

/// Stream bodies are fed to the decoder in pieces of this many bytes, about
/// what one network read hands over.
const PIECE: usize = 4096;

/// Content-delta events per stream body.
const STREAM_EVENTS: usize = 200;

/// A support-desk conversation: a system prompt, four turns and one tool,
/// about 1 KB as OpenAI JSON.
fn chat_request() -> ChatRequest {
    let body = json!({
        "model": "placeholder",
        "messages": [
            {"role": "system", "content": "You are the support assistant for an online running-gear shop. Answer in plain English, quote order numbers exactly as the customer wrote them, and call lookup_order before saying anything about a specific order. Never invent tracking numbers."},
            {"role": "user", "content": "Hi, I ordered a pair of trail shoes last Tuesday (order #A-48213) and the tracking page has said 'label created' for four days. Is that normal?"},
            {"role": "assistant", "content": "Sorry about the wait. A 'label created' status that lasts a few days usually means the parcel is packed but the carrier has not scanned it yet. I can look the order up if you like."},
            {"role": "user", "content": "Yes please. And if it is stuck, can I switch it to express shipping at no extra cost?"}
        ],
        "tools": [{
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Fetch the status, carrier and tracking events of one order.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "order_id": {"type": "string", "description": "The order number, e.g. A-48213"},
                        "include_history": {"type": "boolean"}
                    },
                    "required": ["order_id"]
                }
            }
        }],
        "temperature": 0.3,
        "max_tokens": 512
    });
    serde_json::from_value(body).expect("the benchmark request is a valid ChatRequest")
}

const ANSWER: &str = "I checked order #A-48213: it was packed on Wednesday and handed to the carrier this morning, so the first scan should appear on the tracking page within 24 hours. Because the parcel sat in our warehouse longer than our two-day promise, I have upgraded it to express shipping at no extra cost; the new estimated delivery date is Friday. You will get an email with the updated tracking link as soon as the carrier confirms the pickup.";

/// A non-streamed response body in the provider's own shape, and the
/// provider-side model name.
fn response_body(provider: &str) -> (&'static str, Value) {
    match provider {
        "openai" => (
            "gpt-4o",
            json!({
                "id": "chatcmpl-CRkJFgcA6BuMrBur38ZHUXgT6zRjg",
                "object": "chat.completion",
                "created": 1760728905,
                "model": "gpt-4o-2024-08-06",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER, "refusal": null, "annotations": []},
                    "logprobs": null,
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": 231,
                    "completion_tokens": 92,
                    "total_tokens": 323,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
                },
                "service_tier": "default",
                "system_fingerprint": "fp_f64f290af2"
            }),
        ),
        "anthropic" => (
            "claude-sonnet-4-20250514",
            json!({
                "model": "claude-sonnet-4-20250514",
                "id": "msg_01EXuhhFC9buDpjCcznFPSDs",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": ANSWER}],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": {
                    "input_tokens": 247,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                    "output_tokens": 95,
                    "service_tier": "standard"
                }
            }),
        ),
        "gemini" => (
            "gemini-2.5-flash",
            json!({
                "candidates": [{
                    "content": {"parts": [{"text": ANSWER}], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0
                }],
                "usageMetadata": {
                    "promptTokenCount": 226,
                    "candidatesTokenCount": 90,
                    "totalTokenCount": 341,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 226}],
                    "thoughtsTokenCount": 25
                },
                "modelVersion": "gemini-2.5-flash",
                "responseId": "SJfyaMbrNJKlqtsPvNOW8Ao"
            }),
        ),
        other => panic!("no benchmark response for {other}"),
    }
}

/// The text of stream delta `i`: the answer's words in turn, as
/// token-sized pieces with their leading space.
fn token(i: usize) -> String {
    let words: Vec<&str> = ANSWER.split(' ').collect();
    let word = words[i % words.len()];
    if i == 0 {
        word.to_string()
    } else {
        format!(" {word}")
    }
}

/// Fills `{TEXT}` in a recorded event with the JSON string for `text`.
fn with_text(template: &str, text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("a string serializes");
    template.replace("\"{TEXT}\"", &quoted)
}

/// A stream body with `STREAM_EVENTS` content deltas in the provider's wire
/// format, and its content type. The events are the recorded ones with
/// only the text changed.
fn stream_body(provider: &str) -> (&'static str, Vec<u8>) {
    let mut body = String::new();
    match provider {
        "openai" => {
            const HEAD: &str = r#"{"id":"chatcmpl-CoDWl5rS0pF10P0W0TDVgY3NA26dk","object":"chat.completion.chunk","created":1766084435,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_deacdd5f6f","#;
            body += &format!(
                "data: {HEAD}\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null,\"obfuscation\":\"nYdSaPIbhl6FsC\"}}\n\n"
            );
            let delta = format!(
                "data: {HEAD}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{{TEXT}}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null,\"obfuscation\":\"I7vgPNTGnEaEu\"}}\n\n"
            );
            for i in 0..STREAM_EVENTS {
                body += &with_text(&delta, &token(i));
            }
            body += &format!(
                "data: {HEAD}\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":null,\"obfuscation\":\"hQlQUXqkME\"}}\n\n"
            );
            body += &format!(
                "data: {HEAD}\"choices\":[],\"usage\":{{\"prompt_tokens\":231,\"completion_tokens\":200,\"total_tokens\":431,\"prompt_tokens_details\":{{\"cached_tokens\":0,\"audio_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}},\"obfuscation\":\"177fY0rBeHpThLi\"}}\n\n"
            );
            body += "data: [DONE]\n\n";
            ("text/event-stream; charset=utf-8", body.into_bytes())
        }
        "anthropic" => {
            // The padding before some closing braces is in the recording.
            body += "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-20250514\",\"id\":\"msg_01T8kTq7cYyYJeQ5DxcVUc6D\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"stop_details\":null,\"usage\":{\"input_tokens\":247,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":2,\"service_tier\":\"standard\",\"inference_geo\":\"not_available\"}} }\n\n";
            body += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}               }\n\n";
            body += "event: ping\ndata: {\"type\": \"ping\"}\n\n";
            let delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"{TEXT}\"}               }\n\n";
            for i in 0..STREAM_EVENTS {
                body += &with_text(delta, &token(i));
            }
            body += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0    }\n\n";
            body += "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"stop_details\":null},\"usage\":{\"input_tokens\":247,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":200}}\n\n";
            body += "event: message_stop\ndata: {\"type\":\"message_stop\"   }\n\n";
            ("text/event-stream; charset=utf-8", body.into_bytes())
        }
        "gemini" => {
            // Gemini repeats usageMetadata in every event and ends with
            // finishReason on the last one; events are CRLF-separated.
            let delta = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"{TEXT}\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 226,\"candidatesTokenCount\": 50,\"totalTokenCount\": 351,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 226}],\"thoughtsTokenCount\": 75},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"VJfyaP7eE_6zmtkP4qLV6Ao\"}\r\n\r\n";
            let last = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"{TEXT}\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 226,\"candidatesTokenCount\": 200,\"totalTokenCount\": 501,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 226}],\"thoughtsTokenCount\": 75},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"VJfyaP7eE_6zmtkP4qLV6Ao\"}\r\n\r\n";
            for i in 0..STREAM_EVENTS {
                let template = if i + 1 == STREAM_EVENTS { last } else { delta };
                body += &with_text(template, &token(i));
            }
            ("text/event-stream", body.into_bytes())
        }
        other => panic!("no benchmark stream for {other}"),
    }
}

fn spec<'a>(registry: &'a Registry, provider: &str) -> &'a Arc<Spec> {
    registry
        .get(provider)
        .unwrap_or_else(|| panic!("{provider} is a built-in spec"))
}

/// One call's worth of engine work without the body parse: render the
/// request, map the parsed response.
fn render_map(c: &mut Criterion) {
    let registry = Registry::builtin().expect("the built-in specs load");
    let req = chat_request();
    let request_bytes = serde_json::to_vec(&req)
        .expect("a request serializes")
        .len();
    assert!(
        (900..=1400).contains(&request_bytes),
        "the benchmark request should stay about 1 KB, is {request_bytes} bytes"
    );
    let params = BTreeMap::new();
    let mut group = c.benchmark_group("render_map");
    for provider in PROVIDERS {
        let spec = spec(&registry, provider);
        let (model, body) = response_body(provider);
        check_render_map(provider, spec, &req, model, &params, &body);
        group.bench_function(BenchmarkId::from_parameter(provider), |b| {
            b.iter(|| {
                let rendered = pure::render(spec, black_box(&req), model, &params);
                let mapped = pure::map(spec, black_box(&body));
                black_box((rendered, mapped))
            })
        });
    }
    group.finish();
}

/// As `render_map`, plus parsing the response bytes, as a real call does.
fn render_map_parse(c: &mut Criterion) {
    let registry = Registry::builtin().expect("the built-in specs load");
    let req = chat_request();
    let params = BTreeMap::new();
    let mut group = c.benchmark_group("render_map_parse");
    for provider in PROVIDERS {
        let spec = spec(&registry, provider);
        let (model, body) = response_body(provider);
        let bytes = serde_json::to_vec(&body).expect("a response serializes");
        check_render_map(provider, spec, &req, model, &params, &body);
        group.bench_function(BenchmarkId::from_parameter(provider), |b| {
            b.iter(|| {
                let rendered = pure::render(spec, black_box(&req), model, &params);
                let parsed: Value =
                    serde_json::from_slice(black_box(&bytes)).expect("the response is JSON");
                let mapped = pure::map(spec, &parsed);
                black_box((rendered, mapped))
            })
        });
    }
    group.finish();
}

fn check_render_map(
    provider: &str,
    spec: &Spec,
    req: &ChatRequest,
    model: &str,
    params: &BTreeMap<String, String>,
    body: &Value,
) {
    let rendered = pure::render(spec, req, model, params)
        .unwrap_or_else(|e| panic!("{provider}: render failed: {e}"));
    let sent = rendered.body.to_string();
    assert!(
        sent.contains("trail shoes") && sent.contains("lookup_order"),
        "{provider}: the rendered body lost the conversation or the tool: {sent}"
    );
    let mapped = pure::map(spec, body).unwrap_or_else(|e| panic!("{provider}: map failed: {e}"));
    assert_eq!(mapped.text(), Some(ANSWER), "{provider}: mapped content");
    assert_eq!(
        mapped.choices[0].finish_reason.as_deref(),
        Some("stop"),
        "{provider}: finish reason"
    );
    assert!(mapped.usage.is_some(), "{provider}: usage was not mapped");
}

/// Decoding and mapping a whole stream body; throughput is per content event.
fn stream(c: &mut Criterion) {
    let registry = Registry::builtin().expect("the built-in specs load");
    let mut group = c.benchmark_group("stream_200");
    group.throughput(Throughput::Elements(STREAM_EVENTS as u64));
    for provider in PROVIDERS {
        let spec = spec(&registry, provider);
        let (content_type, body) = stream_body(provider);
        check_stream(provider, spec, content_type, &body);
        group.bench_function(BenchmarkId::from_parameter(provider), |b| {
            b.iter(|| {
                black_box(pure::map_stream(
                    spec,
                    Some(content_type),
                    black_box(&body),
                    PIECE,
                    true,
                ))
            })
        });
    }
    group.finish();
}

fn check_stream(provider: &str, spec: &Arc<Spec>, content_type: &str, body: &[u8]) {
    let (chunks, error) = pure::map_stream(spec, Some(content_type), body, PIECE, true);
    if let Some(e) = error {
        panic!(
            "{provider}: the stream failed after {} chunks: {e}",
            chunks.len()
        );
    }
    let content: Vec<&str> = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.content.as_deref())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(content.len(), STREAM_EVENTS, "{provider}: content chunks");
    let expected: String = (0..STREAM_EVENTS).map(token).collect();
    assert_eq!(content.concat(), expected, "{provider}: streamed text");
    let finish = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.finish_reason.as_deref())
        .next_back();
    assert_eq!(finish, Some("stop"), "{provider}: finish reason");
    assert!(
        chunks.last().is_some_and(|c| c.usage.is_some()),
        "{provider}: no usage chunk"
    );
}

criterion_group!(benches, render_map, render_map_parse, stream);
criterion_main!(benches);
