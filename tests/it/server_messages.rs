//! The Anthropic Messages front door (`ingress/anthropic_messages.toml`)
//! on the proxy, through `oneshot` in front of mock upstreams on
//! 127.0.0.1: an OpenAI-shaped one (the request is mapped to chat and the
//! answer back) and an Anthropic-shaped one. The answers, the exact stream
//! event sequence, errors in Anthropic's shape, count_tokens, and the spend
//! of a virtual key. Last, the official `anthropic` Python SDK against the
//! real server (skipped, with a reason on stderr, when not installed).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, app};
use tower::ServiceExt;

use crate::proxy::{self, anthropic_dep, openai_dep, server};
use crate::support::{Mock, Reply, skip};

const KEY: &str = "sk-master-messages";

fn config(deployments: Vec<DeploymentConfig>) -> ServerConfig {
    proxy::config(KEY, deployments)
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts Anthropic's error shape with this status and type.
    fn anthropic_error(&self, status: u16, kind: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        let body = self.json();
        assert_eq!(body["type"], "error", "{body}");
        assert_eq!(body["error"]["type"], kind, "{body}");
        body["error"]["message"].as_str().unwrap().to_string()
    }

    /// The SSE events as (event name, data).
    fn events(&self) -> Vec<(String, Value)> {
        self.text()
            .split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let mut name = String::new();
                let mut data = Value::Null;
                for line in e.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(d).unwrap();
                    }
                }
                (name, data)
            })
            .collect()
    }
}

async fn send(app: &axum::Router, path: &str, auth: Option<(&str, &str)>, body: Value) -> Answer {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01");
    if let Some((h, v)) = auth {
        req = req.header(h, v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

async fn messages(app: &axum::Router, body: Value) -> Answer {
    send(app, "/v1/messages", Some(("x-api-key", KEY)), body).await
}

fn hello(model: &str) -> Value {
    json!({"model": model, "max_tokens": 256, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}]})
}

/// An OpenAI chunk.
fn chunk(delta: Value, finish: Value) -> String {
    let c = json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

/// An OpenAI stream: text, then one tool call in two fragments, then the usage chunk.
fn openai_tool_stream() -> String {
    let usage = json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini", "choices": [],
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}});
    [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Let me look."}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        format!("data: {usage}\n\n"),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat()
}

#[tokio::test]
async fn messages_over_an_openai_backend_map_the_request_and_the_answer() {
    let up = Mock::start(vec![Reply::openai_chat("Hi there", 11, 4)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let mut body = hello("gpt");
    body["stop_sequences"] = json!(["END"]);
    body["metadata"] = json!({"user_id": "u-7"});
    let a = messages(&app, body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let m = a.json();
    assert_eq!(m["type"], "message");
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["content"], json!([{"type": "text", "text": "Hi there"}]));
    assert_eq!(m["stop_reason"], "end_turn");
    assert_eq!(m["usage"]["input_tokens"], 11);
    assert_eq!(m["usage"]["output_tokens"], 4);
    let sent = up.requests()[0].json();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}])
    );
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(sent["user"], "u-7");
    assert_eq!(sent["max_tokens"], 256);
}

#[tokio::test]
async fn a_stream_over_an_openai_backend_is_anthropics_event_sequence() {
    let up = Mock::start(vec![Reply::stream(
        "text/event-stream",
        openai_tool_stream(),
    )])
    .await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let mut body = hello("gpt");
    body["stream"] = json!(true);
    let a = messages(&app, body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.content_type, "text/event-stream");
    let events = a.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_str(), "{data}");
    }
    assert_eq!(
        events[2].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        events[3].1["delta"],
        json!({"type": "text_delta", "text": "Let me look."})
    );
    assert_eq!(events[5].1["index"], 1);
    assert_eq!(
        events[5].1["content_block"],
        json!({"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}})
    );
    assert_eq!(
        events[6].1["delta"],
        json!({"type": "input_json_delta", "partial_json": "{\"city\":"})
    );
    assert_eq!(events[9].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(events[9].1["usage"]["output_tokens"], 9);
    assert_eq!(events[9].1["usage"]["input_tokens"], 20);
    // The upstream was asked for usage, so the record has it.
    assert_eq!(
        up.requests()[0].json()["stream_options"]["include_usage"],
        true
    );
}

#[tokio::test]
async fn a_tool_result_turn_becomes_a_tool_message_after_the_assistant_call() {
    let up = Mock::start(vec![Reply::openai_chat("It is sunny.", 30, 5)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let body = json!({
        "model": "gpt", "max_tokens": 100,
        "tools": [{"name": "get_weather", "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any"},
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, sunny"},
                {"type": "text", "text": "Answer in one line."}]}
        ]
    });
    let a = messages(&app, body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let sent = up.requests()[0].json();
    assert_eq!(sent["tool_choice"], "required");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["function"]["parameters"]["properties"]["city"]["type"],
        "string"
    );
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4, "{sent}");
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["tool_calls"][0]["id"], "toolu_1");
    assert_eq!(
        msgs[1]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(
        msgs[2],
        json!({"role": "tool", "tool_call_id": "toolu_1", "content": "18C, sunny"})
    );
    assert_eq!(msgs[3]["role"], "user");
}

#[tokio::test]
async fn errors_come_in_anthropics_shape_with_its_statuses() {
    let limited = Mock::start(vec![
        Reply::json(
            429,
            &json!({"error": {"message": "slow down", "type": "requests"}}),
        )
        .header("retry-after", "3"),
    ])
    .await;
    let app = server(config(vec![openai_dep("limited", &limited)]));
    let no_key = send(&app, "/v1/messages", None, hello("limited")).await;
    no_key.anthropic_error(401, "authentication_error");
    let wrong = send(
        &app,
        "/v1/messages",
        Some(("x-api-key", "sk-wrong")),
        hello("limited"),
    )
    .await;
    wrong.anthropic_error(401, "authentication_error");
    let bearer = send(
        &app,
        "/v1/messages",
        Some(("authorization", &format!("Bearer {KEY}"))),
        hello("nope"),
    )
    .await;
    let msg = bearer.anthropic_error(404, "not_found_error");
    assert!(msg.contains("nope"), "{msg}");
    let a = messages(&app, hello("limited")).await;
    let msg = a.anthropic_error(429, "rate_limit_error");
    assert!(msg.contains("slow down"), "{msg}");
    let bad = messages(&app, json!({"model": "limited", "messages": "not a list"})).await;
    bad.anthropic_error(400, "invalid_request_error");
    let block = messages(
        &app,
        json!({"model": "limited", "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}),
    )
    .await;
    block.anthropic_error(400, "invalid_request_error");
}

#[tokio::test]
async fn count_tokens_answers_input_tokens_from_the_token_counter() {
    let up = Mock::start(vec![Reply::openai_chat("unused", 1, 1)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let short = send(
        &app,
        "/v1/messages/count_tokens",
        Some(("x-api-key", KEY)),
        hello("gpt"),
    )
    .await;
    assert_eq!(short.status, StatusCode::OK, "{}", short.text());
    let n = short.json()["input_tokens"].as_u64().unwrap();
    let mut long = hello("gpt");
    long["messages"][0]["content"] = json!("Hello ".repeat(200));
    let more = send(
        &app,
        "/v1/messages/count_tokens",
        Some(("x-api-key", KEY)),
        long,
    )
    .await;
    let m = more.json()["input_tokens"].as_u64().unwrap();
    assert!(n > 0 && m >= n + 150, "{n} then {m}");
    assert!(up.requests().is_empty(), "count_tokens calls no model");
}

/// Runs tests/clients/anthropic_sdk.py against the real server on a socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_python_sdk_gets_its_usual_answers_and_exceptions() {
    let name = "the_anthropic_python_sdk_gets_its_usual_answers_and_exceptions";
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import anthropic"])
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        skip(
            name,
            "`python3 -c \"import anthropic\"` failed (pip install anthropic to run it)",
        );
        return;
    }
    let chat = Mock::start(vec![Reply::openai_chat("Hello from the mock", 9, 4)]).await;
    let stream = Mock::start(vec![Reply::stream(
        "text/event-stream",
        openai_tool_stream(),
    )])
    .await;
    let limited = Mock::start(vec![Reply::json(
        429,
        &json!({"error": {"message": "slow down", "type": "requests"}}),
    )])
    .await;
    let claude = Mock::start(vec![Reply::json(200, &anthropic_answer())]).await;
    let claude_stream =
        Mock::start(vec![Reply::stream("text/event-stream", anthropic_stream())]).await;
    let claude_count = Mock::start(vec![Reply::json(200, &json!({"input_tokens": 4242}))]).await;
    let state = AppState::new(
        Client::new().unwrap(),
        config(vec![
            openai_dep("gpt", &chat),
            openai_dep("gpt-stream", &stream),
            openai_dep("limited", &limited),
            anthropic_dep("claude", &claude),
            anthropic_dep("claude-stream", &claude_stream),
            anthropic_dep("claude-count", &claude_count),
        ]),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard::server::serve(
        listener,
        Arc::new(state),
        async move {
            let _ = stopped.await;
        },
    ));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/anthropic_sdk.py"
    );
    let run = tokio::process::Command::new("python3")
        .args([script, &url, KEY])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run).await;
    let _ = stop.send(());
    let _ = server.await;
    let out = out.expect("the SDK script ran for 120 s").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "the SDK script failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An Anthropic Messages answer, as the API documents it.
fn anthropic_answer() -> Value {
    json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Short answer.", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "Hi!", "citations": null}
        ],
        "stop_reason": "stop_sequence", "stop_sequence": "END",
        "usage": {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0, "service_tier": "standard"}
    })
}

/// An Anthropic Messages stream, framed as the API documents it.
fn anthropic_stream() -> String {
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    [
        ev("message_start", json!({"type": "message_start", "message": {"id": "msg_02", "type": "message",
            "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 1}}})),
        ev("content_block_start", json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}})),
        ev("ping", json!({"type": "ping"})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Hello"}})),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ev("message_delta", json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 6}})),
        ev("message_stop", json!({"type": "message_stop"})),
    ]
    .concat()
}

/// A request with what the canonical request has no field for.
fn rich_request(model: &str) -> Value {
    json!({
        "model": model, "max_tokens": 512,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "metadata": {"user_id": "u-1"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Greet.", "signature": "sig-A"},
                {"type": "text", "text": "Hello"}]},
            {"role": "user", "content": [{"type": "text", "text": "Again", "cache_control": {"type": "ephemeral"}}]}
        ]
    })
}

#[tokio::test]
async fn an_anthropic_backend_gets_the_body_as_sent_and_its_answer_goes_back_unchanged() {
    let up = Mock::start(vec![Reply::json(200, &anthropic_answer())]).await;
    let app = server(config(vec![anthropic_dep("claude", &up)]));
    let a = messages(&app, rich_request("claude")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json(), anthropic_answer(), "the provider's own answer");
    let seen = &up.requests()[0];
    assert_eq!(seen.target, "/v1/messages");
    assert_eq!(seen.header("x-api-key"), Some("upstream-key"));
    let mut want = rich_request("claude-sonnet-4-5");
    assert_eq!(seen.json(), want.take(), "only model replaced");
}

#[tokio::test]
async fn an_anthropic_stream_passes_through_event_for_event() {
    let up = Mock::start(vec![Reply::stream("text/event-stream", anthropic_stream())]).await;
    let app = server(config(vec![anthropic_dep("claude", &up)]));
    let mut body = rich_request("claude");
    body["stream"] = json!(true);
    let a = messages(&app, body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.text(), anthropic_stream());
    assert_eq!(up.requests()[0].json()["stream"], true);
    assert_eq!(up.requests()[0].json()["metadata"]["user_id"], "u-1");
}

#[tokio::test]
async fn an_openai_caller_still_reaches_an_anthropic_backend_through_the_spec() {
    // Pass-through is the door's: chat callers keep the spec's mapping.
    let up = Mock::start(vec![Reply::json(200, &anthropic_answer())]).await;
    let app = server(config(vec![anthropic_dep("claude", &up)]));
    let a = send(
        &app,
        "/v1/chat/completions",
        Some(("authorization", &format!("Bearer {KEY}"))),
        json!({"model": "claude", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["choices"][0]["message"]["content"], "Hi!");
    assert_eq!(up.requests()[0].json()["max_tokens"], 4096);
}

/// A master-key JSON call to the admin API.
async fn admin(app: &axum::Router, method: &str, path: &str, body: Value) -> Value {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {KEY}"));
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn messages_calls_are_charged_to_the_key_and_logged_like_chat() {
    let gpt = Mock::start(vec![Reply::openai_chat("hi", 1000, 500)]).await;
    let claude = Mock::start(vec![Reply::stream("text/event-stream", anthropic_stream())]).await;
    let store = switchboard::server::Store::open("sqlite::memory:")
        .await
        .unwrap();
    let state = AppState::new(
        Client::new().unwrap(),
        config(vec![
            openai_dep("gpt", &gpt),
            anthropic_dep("claude", &claude),
        ]),
    )
    .unwrap()
    .with_store(store);
    let app = app(Arc::new(state));
    let key = admin(&app, "POST", "/key/generate", json!({"max_budget": 1.0})).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let as_key = Some(("x-api-key", key.as_str()));
    let a = send(&app, "/v1/messages", as_key, hello("gpt")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let mut streamed = hello("claude");
    streamed["stream"] = json!(true);
    let b = send(&app, "/v1/messages", as_key, streamed).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text());
    assert!(
        b.text()
            .ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
    );

    let rows = admin(
        &app,
        "GET",
        &format!("/spend/logs?api_key={key}"),
        Value::Null,
    )
    .await;
    let mut rows = rows.as_array().unwrap().clone();
    rows.sort_by_key(|r| r["model_group"].as_str().unwrap().to_string());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["model_group"], "claude");
    assert_eq!(rows[0]["prompt_tokens"], 12);
    assert_eq!(rows[0]["completion_tokens"], 6);
    assert_eq!(rows[1]["model_group"], "gpt");
    assert_eq!(rows[1]["prompt_tokens"], 1000);
    assert_eq!(rows[1]["completion_tokens"], 500);
    let logged: f64 = rows.iter().map(|r| r["cost"].as_f64().unwrap()).sum();
    assert!(logged > 0.0, "{rows:?}");
    let info = admin(&app, "GET", &format!("/key/info?key={key}"), Value::Null).await;
    let spent = info["info"]["spend"].as_f64().unwrap();
    assert!((spent - logged).abs() < 1e-12, "{spent} vs {logged}");

    // Over budget: refused before any upstream call, in Anthropic's shape.
    admin(
        &app,
        "POST",
        "/key/update",
        json!({"key": key, "max_budget": spent / 2.0}),
    )
    .await;
    let over = send(&app, "/v1/messages", as_key, hello("gpt")).await;
    let msg = over.anthropic_error(400, "invalid_request_error");
    assert!(msg.contains("budget"), "{msg}");
    assert_eq!(gpt.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_anthropics_error_event() {
    let body = openai_tool_stream();
    let mut cut = Reply::stream("text/event-stream", body.clone());
    let second = body.match_indices("\n\n").nth(1).unwrap().0 + 2;
    cut.cut_after = Some(second + 10);
    let up = Mock::start(vec![cut]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let mut req = hello("gpt");
    req["stream"] = json!(true);
    let a = messages(&app, req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let events = a.events();
    assert_eq!(events[0].0, "message_start");
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "{}", a.text());
    assert_eq!(data["type"], "error");
    assert_eq!(data["error"]["type"], "api_error", "{data}");
    assert!(!a.text().contains("message_stop"), "{}", a.text());
}
