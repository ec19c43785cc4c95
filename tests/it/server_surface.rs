//! What the proxy's own surface lets through, driven through `oneshot` in
//! front of mock upstreams on 127.0.0.1: known OpenAI fields out of range
//! are refused naming the field (never forwarded); a virtual key sees only
//! the model groups it may use, and an expired one is 401 on every API
//! route; no configured secret, presented key or credential-looking text
//! reaches a client in an error body or a stream's error event.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, Store, app};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

/// Neither key looks like a credential: only knowing them catches them.
const MASTER: &str = "master-surface-test-key";
const PROVIDER_KEY: &str = "prov-secret-abcdef123456";

fn dep(group: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, "openai/gpt-4o-mini")
        .api_key(PROVIDER_KEY)
        .api_base(format!("{}/v1", mock.url))
        .id(format!("{group}-dep"))
}

async fn server(deployments: Vec<DeploymentConfig>) -> axum::Router {
    let mut c = ServerConfig::default();
    c.server.master_key = Some(MASTER.into());
    c.router.router.retries = 0;
    c.router.deployments = deployments;
    let store = Store::open("sqlite::memory:").await.unwrap();
    app(Arc::new(
        AppState::new(Client::new().unwrap(), c)
            .unwrap()
            .with_store(store),
    ))
}

async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"));
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// A new virtual key for `models`, expiring at `expires_at` (ms).
async fn virtual_key(app: &axum::Router, models: &[&str], expires_at: Option<i64>) -> String {
    let mut fields = json!({"models": models});
    if let Some(at) = expires_at {
        fields["expires_at"] = json!(at);
    }
    let (status, body) = send(app, "POST", "/key/generate", MASTER, fields).await;
    assert_eq!(status, 200, "{body}");
    body["key"].as_str().unwrap().to_string()
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn out_of_range_fields_are_refused_naming_them_and_never_forwarded() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 1, 1)]).await;
    let app = server(vec![dep("chat", &up)]).await;
    let with = |field: &str, value: Value| {
        let mut body = chat("chat");
        body[field] = value;
        body
    };
    for (body, param) in [
        (with("temperature", json!(1e308)), "temperature"),
        (with("n", json!(-1)), "n"),
        (with("n", json!(0)), "n"),
        (with("n", json!(1_000_000)), "n"),
        (with("top_p", json!(2)), "top_p"),
        (with("presence_penalty", json!(-3)), "presence_penalty"),
        (
            with("frequency_penalty", json!("much")),
            "frequency_penalty",
        ),
        (
            with("logit_bias", json!({"50256": 200})),
            "logit_bias.50256",
        ),
        (with("logprobs", json!("yes")), "logprobs"),
        (with("top_logprobs", json!(30)), "top_logprobs"),
        (with("max_tokens", json!(0)), "max_tokens"),
        (with("max_tokens", json!(-5)), "max_tokens"),
        (
            with("max_completion_tokens", json!(1e20)),
            "max_completion_tokens",
        ),
        (with("stop", json!(["1", "2", "3", "4", "5"])), "stop"),
        (with("stop", json!(7)), "stop"),
        (
            with("messages", json!([{"role": "tool", "content": "42"}])),
            "messages[0].tool_call_id",
        ),
        (
            with("messages", json!([{"role": "user", "content": null}])),
            "messages[0].content",
        ),
    ] {
        let (status, answer) =
            send(&app, "POST", "/v1/chat/completions", MASTER, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
        assert_eq!(answer["error"]["param"], param, "{body}: {answer}");
    }
    assert!(
        up.requests().is_empty(),
        "nothing out of range reaches upstream"
    );
    let mut fine = chat("chat");
    fine["temperature"] = json!(0.7);
    fine["n"] = json!(1);
    fine["logit_bias"] = json!({"50256": -100});
    let (status, answer) = send(&app, "POST", "/v1/chat/completions", MASTER, fine).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_virtual_key_sees_only_the_groups_it_may_use() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 1, 1)]).await;
    let app = server(vec![
        dep("alpha", &up),
        dep("beta", &up),
        dep("secret", &up),
    ])
    .await;
    let key = virtual_key(&app, &["alpha", "ghost"], None).await;
    let key = key.as_str();

    let (status, list) = send(&app, "GET", "/v1/models", key, Value::Null).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["alpha"]);
    let (status, _) = send(&app, "GET", "/v1/models/alpha", key, Value::Null).await;
    assert_eq!(status, 200);
    for path in ["/v1/models/beta", "/v1/models/nope"] {
        let (status, body) = send(&app, "GET", path, key, Value::Null).await;
        assert_eq!(status, 404, "{body}");
        let text = body.to_string();
        assert!(!text.contains("beta") || path.ends_with("beta"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
    // A group the key names but the server lacks: 404, listing only its own.
    let (status, body) = send(&app, "POST", "/v1/chat/completions", key, chat("ghost")).await;
    assert_eq!(status, 404, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("(groups: alpha)"), "{message}");
    // The master key still sees every group.
    let (_, list) = send(&app, "GET", "/v1/models", MASTER, Value::Null).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3, "{list}");
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn an_expired_virtual_key_is_401_on_every_api_route() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 1, 1)]).await;
    let app = server(vec![dep("chat", &up)]).await;
    let key = virtual_key(&app, &[], Some(1)).await;
    for (method, path, body) in [
        ("GET", "/v1/models", Value::Null),
        ("GET", "/models", Value::Null),
        ("GET", "/v1/models/chat", Value::Null),
        ("POST", "/v1/chat/completions", chat("chat")),
        (
            "POST",
            "/v1/embeddings",
            json!({"model": "chat", "input": "a"}),
        ),
    ] {
        let (status, answer) = send(&app, method, path, &key, body).await;
        assert_eq!(status, 401, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "key_expired", "{answer}");
    }
    assert!(up.requests().is_empty());
}

/// An upstream that answers every request with an error echoing all it was
/// sent (request line, headers with the provider key, body): a 400, or with
/// `stream` a 200 stream whose second event is that error.
async fn echoing_upstream(stream: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 8192];
                // The request ends with its JSON body's closing brace.
                while !seen.ends_with(b"}") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let echo = json!({"error": {"message": String::from_utf8_lossy(&seen), "type": "invalid_request_error"}});
                let (status, kind, body) = if stream {
                    let first = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": null}]});
                    (
                        200,
                        "text/event-stream",
                        format!("data: {first}\n\ndata: {echo}\n\n"),
                    )
                } else {
                    (400, "application/json", echo.to_string())
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(format!("{head}{body}").as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn no_secret_reaches_a_client_in_an_error_body_or_stream_event() {
    let echo = echoing_upstream(false).await;
    let streamer = echoing_upstream(true).await;
    let at = |group: &str, url: &str| {
        DeploymentConfig::new(group, "openai/gpt-4o-mini")
            .api_key(PROVIDER_KEY)
            .api_base(format!("{url}/v1"))
    };
    let app = server(vec![at("echo", &echo), at("streamer", &streamer)]).await;
    let virtual_key = virtual_key(&app, &[], None).await;
    let secrets = [
        PROVIDER_KEY,
        MASTER,
        virtual_key.as_str(),
        "zz-unknown-format-secret",
        "sk-proj-AbCdEf0123456789xyz",
    ];
    let assert_no_secret = |text: &str| {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("[REDACTED]"), "{text}");
    };
    // What the client sends, the upstream echoes back in its error.
    let leaky = |group: &str, stream: bool| {
        let mut req = chat(group);
        req["user"] = json!(format!(
            "master {MASTER}; theirs {PROVIDER_KEY}; mine {virtual_key}; x-api-key: zz-unknown-format-secret; sk-proj-AbCdEf0123456789xyz"
        ));
        req["stream"] = json!(stream);
        req
    };
    for key in [MASTER, virtual_key.as_str()] {
        let (status, body) = send(
            &app,
            "POST",
            "/v1/chat/completions",
            key,
            leaky("echo", false),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body.to_string().contains("authorization"),
            "the echo came back: {body}"
        );
        assert_no_secret(&body.to_string());
    }
    let (status, body) = send(
        &app,
        "POST",
        "/v1/chat/completions",
        &virtual_key,
        leaky("streamer", true),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let text = body.as_str().unwrap();
    assert!(text.starts_with("data: {"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("data: {\"error\""), "{text}");
    assert_no_secret(last);
}

#[tokio::test]
async fn a_request_the_routes_refuse_is_answered_in_json() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 1, 1)]).await;
    let app = server(vec![dep("chat", &up)]).await;
    for method in ["PUT", "DELETE", "PATCH", "BREW"] {
        let (status, body) = send(&app, method, "/v1/chat/completions", MASTER, Value::Null).await;
        assert_eq!(status, 405, "{method}: {body}");
        assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    }
    let (status, body) = send(&app, "GET", "/v2/anything", MASTER, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND.as_u16(), "{body}");
    assert_eq!(body["error"]["type"], "not_found_error", "{body}");
    // An extractor's own rejection (a path that is not UTF-8) is JSON too.
    let (status, body) = send(&app, "GET", "/v1/models/%FF", MASTER, Value::Null).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
}
