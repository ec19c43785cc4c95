//! The OpenAI Responses front door (`ingress/openai_responses.toml`) on
//! the proxy, through `oneshot` in front of mock upstreams on 127.0.0.1: an
//! OpenAI-chat-shaped one (the request is mapped to chat and the answer
//! back) and an Anthropic-shaped one. The Response object, the exact
//! stream event sequence with its sequence numbers, a function-call round
//! trip, the refusal of `previous_response_id`, errors in OpenAI's shape
//! (JSON and mid-stream). Last, the official `openai` Python SDK's
//! `responses.create` against the real server (skipped, with a reason on
//! stderr, when not installed).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig};
use tower::ServiceExt;

use crate::proxy::{self, anthropic_dep, openai_dep, server};
use crate::support::{Mock, Reply, skip};

const KEY: &str = "sk-master-responses";

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

    /// Asserts OpenAI's error shape with this status and type; the message.
    fn openai_error(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        let body = self.json();
        assert_eq!(body["error"]["type"], kind, "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"].clone()
    }

    /// The SSE events as (event name, data); each name must match its
    /// data's `type`, as the Responses API sends them.
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
                        data = serde_json::from_str(d)
                            .unwrap_or_else(|err| panic!("data is not JSON ({err}): {d}"));
                    }
                }
                assert_eq!(data["type"], name.as_str(), "{data}");
                (name, data)
            })
            .collect()
    }
}

async fn responses(app: &axum::Router, key: &str, body: Value) -> Answer {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/responses")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
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

/// An OpenAI chunk.
fn chunk(delta: Value, finish: Value) -> String {
    let c = json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

/// An OpenAI chat stream: text, then one tool call in two fragments, then the usage chunk.
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

/// An Anthropic Messages answer with thinking, text and a tool call, as the API documents it.
fn anthropic_answer() -> Value {
    json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Check the weather.", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "Looking it up."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0}
    })
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}})
}

#[tokio::test]
async fn responses_over_an_openai_backend_map_the_request_and_the_answer() {
    let up = Mock::start(vec![Reply::openai_chat("{\"colour\":\"teal\"}", 11, 4)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let schema = json!({"type": "object", "properties": {"colour": {"type": "string"}},
        "required": ["colour"], "additionalProperties": false});
    let a = responses(
        &app,
        KEY,
        json!({"model": "gpt", "instructions": "Be brief.", "input": "A colour?",
            "max_output_tokens": 50, "temperature": 0.3, "reasoning": {"effort": "low"},
            "text": {"format": {"type": "json_schema", "name": "colour", "schema": schema, "strict": true}},
            "store": false}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(
        a.content_type.starts_with("application/json"),
        "{}",
        a.content_type
    );
    let body = a.json();
    assert!(body["id"].as_str().unwrap().starts_with("resp_"), "{body}");
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["output"][0]["type"], "message");
    assert_eq!(body["output"][0]["role"], "assistant");
    assert_eq!(body["output"][0]["content"][0]["type"], "output_text");
    assert_eq!(
        body["output"][0]["content"][0]["text"],
        "{\"colour\":\"teal\"}"
    );
    assert_eq!(body["usage"]["input_tokens"], 11);
    assert_eq!(body["usage"]["output_tokens"], 4);
    assert_eq!(body["usage"]["total_tokens"], 15);
    assert_eq!(
        body["usage"]["output_tokens_details"]["reasoning_tokens"],
        0
    );

    let sent = up.requests()[0].json();
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A colour?"}])
    );
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["temperature"], 0.3);
    assert_eq!(sent["reasoning_effort"], "low");
    let max = sent
        .get("max_completion_tokens")
        .or_else(|| sent.get("max_tokens"));
    assert_eq!(max, Some(&json!(50)), "{sent}");
    assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}");
    assert_eq!(sent["response_format"]["json_schema"]["name"], "colour");
    assert_eq!(sent["response_format"]["json_schema"]["schema"], schema);
}

#[tokio::test]
async fn a_stream_over_an_openai_backend_is_the_responses_event_sequence() {
    let up = Mock::start(vec![Reply::stream(
        "text/event-stream",
        openai_tool_stream(),
    )])
    .await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let a = responses(
        &app,
        KEY,
        json!({"model": "gpt", "input": "Weather in Paris?", "tools": [weather_tool()],
            "tool_choice": "auto", "stream": true}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(
        a.content_type.starts_with("text/event-stream"),
        "{}",
        a.content_type
    );
    assert!(
        !a.text().contains("[DONE]"),
        "the Responses API sends no [DONE]"
    );
    let events = a.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], i, "{data}");
    }
    let id = events[0].1["response"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("resp_"));
    assert_eq!(events[0].1["response"]["status"], "in_progress");
    // The text item: one id from added to done.
    let msg_id = events[2].1["item"]["id"].as_str().unwrap();
    assert_eq!(events[4].1["item_id"], msg_id);
    assert_eq!(events[4].1["delta"], "Let me look.");
    assert_eq!(events[5].1["text"], "Let me look.");
    assert_eq!(events[7].1["item"]["content"][0]["text"], "Let me look.");
    // The function call: output_index 1, arguments whole at the end.
    let added = &events[8].1;
    assert_eq!(added["output_index"], 1);
    assert_eq!(added["item"]["type"], "function_call");
    assert_eq!(added["item"]["call_id"], "call_1");
    assert_eq!(added["item"]["name"], "get_weather");
    assert_eq!(events[9].1["item_id"], added["item"]["id"]);
    assert_eq!(events[11].1["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(events[12].1["item"]["arguments"], "{\"city\":\"Paris\"}");
    // The completed response: every item, and the usage.
    let done = &events[13].1["response"];
    assert_eq!(done["id"], id.as_str());
    assert_eq!(done["status"], "completed");
    let kinds: Vec<&str> = done["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["message", "function_call"]);
    assert_eq!(done["output"][0]["id"], msg_id);
    assert_eq!(done["usage"]["input_tokens"], 20);
    assert_eq!(done["usage"]["output_tokens"], 9);
    assert_eq!(done["usage"]["total_tokens"], 29);

    let sent = up.requests()[0].json();
    assert_eq!(sent["stream"], true);
    assert_eq!(
        sent["tools"][0]["function"]["name"], "get_weather",
        "{sent}"
    );
    assert_eq!(sent["tool_choice"], "auto");
}

#[tokio::test]
async fn a_function_call_output_turn_reaches_an_anthropic_backend_as_tool_use_and_result() {
    let up = Mock::start(vec![Reply::json(200, &anthropic_answer())]).await;
    let app = server(config(vec![anthropic_dep("claude", &up)]));
    let a = responses(
        &app,
        KEY,
        json!({"model": "claude", "instructions": "Use tools.", "max_output_tokens": 300,
        "tools": [weather_tool()],
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [],
             "content": [{"type": "reasoning_text", "text": "Call the tool."}],
             "encrypted_content": "sig-1"},
            {"type": "function_call", "id": "fc_1", "call_id": "toolu_00", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "toolu_00", "output": "18C"}
        ]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let sent = up.requests()[0].json();
    let system = serde_json::to_string(&sent["system"]).unwrap();
    assert!(system.contains("Use tools."), "{sent}");
    assert_eq!(sent["max_tokens"], 300);
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{sent}");
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[1]["role"], "assistant");
    let blocks = msgs[1]["content"].as_array().unwrap();
    let thinking = blocks
        .iter()
        .find(|b| b["type"] == "thinking")
        .expect("a thinking block");
    assert_eq!(thinking["thinking"], "Call the tool.");
    assert_eq!(thinking["signature"], "sig-1");
    let call = blocks
        .iter()
        .find(|b| b["type"] == "tool_use")
        .expect("a tool_use block");
    assert_eq!(call["id"], "toolu_00");
    assert_eq!(call["input"], json!({"city": "Paris"}));
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
    assert_eq!(msgs[2]["content"][0]["tool_use_id"], "toolu_00");

    let body = a.json();
    let out = body["output"].as_array().unwrap();
    let kinds: Vec<&str> = out.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reasoning", "message", "function_call"], "{body}");
    assert_eq!(out[0]["encrypted_content"], "EqQBCgIYAhIM");
    assert_eq!(out[0]["content"][0]["text"], "Check the weather.");
    assert_eq!(out[1]["content"][0]["text"], "Looking it up.");
    assert_eq!(out[2]["call_id"], "toolu_01");
    assert_eq!(out[2]["arguments"], "{\"city\":\"Oslo\"}");
    // Anthropic's input_tokens leave out the cached ones; Responses counts them in.
    assert_eq!(body["usage"]["input_tokens"], 107);
    assert_eq!(body["usage"]["input_tokens_details"]["cached_tokens"], 100);
}

#[tokio::test]
async fn previous_response_id_is_refused_saying_responses_are_not_stored() {
    let up = Mock::start(vec![Reply::openai_chat("unused", 1, 1)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let a = responses(
        &app,
        KEY,
        json!({"model": "gpt", "input": "And then?", "previous_response_id": "resp_abc"}),
    )
    .await;
    let e = a.openai_error(400, "invalid_request_error");
    assert_eq!(e["param"], "previous_response_id", "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("does not store responses"), "{msg}");
    assert!(up.requests().is_empty(), "nothing reached the upstream");
}

#[tokio::test]
async fn errors_come_in_openais_shape_with_its_statuses() {
    let limited = Mock::start(vec![Reply::json(
        429,
        &json!({"error": {"message": "slow down", "type": "requests"}}),
    )])
    .await;
    let app = server(config(vec![openai_dep("limited", &limited)]));
    let hi = |model: &str| json!({"model": model, "input": "Hi"});
    responses(&app, "sk-wrong", hi("limited"))
        .await
        .openai_error(401, "authentication_error");
    responses(&app, KEY, hi("no-such-group"))
        .await
        .openai_error(404, "not_found_error");
    let e = responses(&app, KEY, hi("limited"))
        .await
        .openai_error(429, "rate_limit_error");
    assert!(!e.to_string().contains("upstream-key"), "{e}");
    // Absurd bodies: typed 400s, never a panic.
    for body in [
        json!({"model": "limited", "input": 42}),
        json!({"model": "limited", "input": [{"type": "no_such_item"}]}),
        json!({"model": "limited", "input": "x", "tools": [{"type": "web_search"}]}),
        json!([1, 2]),
    ] {
        responses(&app, KEY, body.clone())
            .await
            .openai_error(400, "invalid_request_error");
    }
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_error_and_response_failed() {
    let cut = [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Half"}), Value::Null),
    ]
    .concat();
    let up = Mock::start(vec![Reply::stream("text/event-stream", cut)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let a = responses(
        &app,
        KEY,
        json!({"model": "gpt", "input": "Hi", "stream": true}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let events = a.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"response.completed"), "{names:?}");
    let n = names.len();
    assert!(n >= 2, "{names:?}");
    assert_eq!(&names[n - 2..], ["error", "response.failed"], "{names:?}");
    assert!(
        events[n - 2].1["message"].is_string(),
        "{:?}",
        events[n - 2]
    );
    let failed = &events[n - 1].1["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "server_error");
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], i, "{data}");
    }
}

/// Runs tests/clients/openai_responses_sdk.py against the real server on a socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_sdk_responses_create_gets_its_usual_answers_and_exceptions() {
    let name = "the_openai_python_sdk_responses_create_gets_its_usual_answers_and_exceptions";
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import openai; openai.OpenAI().responses"])
        .env("OPENAI_API_KEY", "unused")
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        skip(
            name,
            "`python3 -c \"import openai\"` failed or has no responses API (pip install openai to run it)",
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
    let claude_count = Mock::start(vec![Reply::json(200, &json!({"input_tokens": 4242}))]).await;
    let state = AppState::new(
        Client::new().unwrap(),
        config(vec![
            openai_dep("gpt", &chat),
            openai_dep("gpt-stream", &stream),
            openai_dep("limited", &limited),
            anthropic_dep("claude", &claude),
            anthropic_dep("claude-count", &claude_count),
        ]),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
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
        "/tests/clients/openai_responses_sdk.py"
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
    // The follow-up turn reached the chat upstream as an assistant call then a tool result.
    let follow = chat
        .requests()
        .iter()
        .map(|s| s.json())
        .find(|b| {
            b["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"))
        })
        .expect("a request with a tool message");
    let msgs = follow["messages"].as_array().unwrap();
    let at = msgs.iter().position(|m| m["role"] == "tool").unwrap();
    assert_eq!(msgs[at - 1]["role"], "assistant", "{follow}");
    assert_eq!(msgs[at - 1]["tool_calls"][0]["id"], "call_1", "{follow}");
    assert_eq!(msgs[at]["tool_call_id"], "call_1");
    assert_eq!(msgs[at]["content"], "18C");
}
