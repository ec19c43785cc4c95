//! The OpenAI-compatible proxy, driven through `tower::ServiceExt::oneshot`
//! with no socket of its own, in front of mock upstreams on 127.0.0.1: the
//! answers, the SSE framing, the master key, and a 4xx in the OpenAI error
//! shape for every malformed request. Last, the official `openai` Python
//! and npm SDKs against the real server (each skipped, with a reason, when
//! not installed).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, app};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

const KEY: &str = "sk-master-test";

fn chat_ok(text: &str) -> Reply {
    Reply::openai_chat(text, 5, 2)
}

fn chunk(delta: Value, finish: Value) -> String {
    let c = json!({
        "id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    format!("data: {c}\n\n")
}

/// An OpenAI SSE body: "Hel", "lo", stop, [DONE].
fn sse_body() -> String {
    [
        chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null),
        chunk(json!({"content": "lo"}), Value::Null),
        chunk(json!({}), json!("stop")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat()
}

fn embeddings_ok() -> Reply {
    Reply::json(
        200,
        &json!({
            "object": "list", "model": "text-embedding-3-small",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.5, -0.25, 1.0]},
                {"object": "embedding", "index": 1, "embedding": [0.125, 0.0, -1.0]}
            ],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        }),
    )
}

fn rate_limited() -> Reply {
    Reply::json(
        429,
        &json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
    )
    .header("retry-after", "7")
}

fn dep(group: &str, model: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, model)
        .api_key("upstream-key")
        .api_base(format!("{}/v1", mock.url))
        .id(format!("{group}-dep"))
}

/// A server config over `deployments`: no retries (no waits), master key set.
fn config(deployments: Vec<DeploymentConfig>) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.server.master_key = Some(KEY.into());
    c.router.router.retries = 0;
    c.router.deployments = deployments;
    c
}

fn server(config: ServerConfig) -> axum::Router {
    app(Arc::new(
        AppState::new(Client::new().unwrap(), config).unwrap(),
    ))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an OpenAI error object with this status and type; returns it.
    fn error(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        let body = self.json();
        let err = &body["error"];
        assert_eq!(err["type"], kind, "{body}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert!(
            err.get("code").is_some() && err.get("param").is_some(),
            "{body}"
        );
        err.clone()
    }
}

async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Body,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(app: &axum::Router, path: &str, body: impl Into<Body>) -> Answer {
    send(app, "POST", path, Some(KEY), body.into()).await
}

async fn get(app: &axum::Router, path: &str) -> Answer {
    send(app, "GET", path, Some(KEY), Body::empty()).await
}

fn chat_body(model: &str) -> String {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}).to_string()
}

fn stream_body(model: &str) -> String {
    json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]})
        .to_string()
}

#[tokio::test]
async fn chat_completion_answers_through_the_group_and_names_the_deployment() {
    let up = Mock::start(vec![chat_ok("Hello there")]).await;
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)]));
    for path in ["/v1/chat/completions", "/chat/completions"] {
        let a = post(&app, path, chat_body("chat")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.headers["x-switchboard-deployment"], "chat-dep");
        let body = a.json();
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["choices"][0]["message"]["content"], "Hello there");
        assert_eq!(body["usage"]["total_tokens"], 7);
    }
    let seen = up.requests();
    assert_eq!(seen[0].target, "/v1/chat/completions");
    assert_eq!(seen[0].header("authorization"), Some("Bearer upstream-key"));
    assert_eq!(seen[0].json()["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn chat_stream_is_one_sse_event_per_chunk_then_done() {
    let up = Mock::start(vec![Reply::stream("text/event-stream", sse_body())]).await;
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)]));
    let a = post(&app, "/v1/chat/completions", stream_body("chat")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.headers["content-type"], "text/event-stream");
    assert_eq!(a.headers["x-switchboard-deployment"], "chat-dep");
    let text = a.text();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text:?}");
    let events: Vec<&str> = text.strip_suffix("\n\n").unwrap().split("\n\n").collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let mut content = String::new();
    let mut finish = None;
    for e in &events[..events.len() - 1] {
        let data = e
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("not a data event: {e:?}"));
        assert!(!data.contains('\n'), "one line per event: {data:?}");
        let c: Value = serde_json::from_str(data).unwrap();
        assert_eq!(c["object"], "chat.completion.chunk");
        if let Some(t) = c["choices"][0]["delta"]["content"].as_str() {
            content.push_str(t);
        }
        if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_string());
        }
    }
    assert_eq!(content, "Hello");
    assert_eq!(finish.as_deref(), Some("stop"));
}

#[tokio::test]
async fn a_stream_cut_after_its_first_chunk_ends_with_an_error_event() {
    let body = sse_body();
    let first_event = body.find("\n\n").unwrap() + 2;
    let mut reply = Reply::stream("text/event-stream", body);
    reply.cut_after = Some(first_event + 10);
    let up = Mock::start(vec![reply]).await;
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)]));
    let a = post(&app, "/v1/chat/completions", stream_body("chat")).await;
    assert_eq!(a.status, StatusCode::OK);
    let text = a.text();
    assert!(!text.contains("[DONE]"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let err: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert!(err["error"]["message"].is_string(), "{err}");
    assert!(
        text.starts_with("data: {"),
        "the first chunk still arrives: {text}"
    );
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_chunk_is_an_http_error() {
    let up = Mock::start(vec![Reply::json(
        401,
        &json!({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}),
    )])
    .await;
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)]));
    let a = post(&app, "/v1/chat/completions", stream_body("chat")).await;
    let err = a.error(401, "authentication_error");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Incorrect API key"),
        "{err}"
    );
}

#[tokio::test]
async fn embeddings_come_back_as_the_openai_list() {
    let up = Mock::start(vec![embeddings_ok()]).await;
    let app = server(config(vec![dep(
        "embed",
        "openai/text-embedding-3-small",
        &up,
    )]));
    for path in ["/v1/embeddings", "/embeddings"] {
        let a = post(
            &app,
            path,
            json!({"model": "embed", "input": ["a", "b"]}).to_string(),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.headers["x-switchboard-deployment"], "embed-dep");
        let body = a.json();
        assert_eq!(body["object"], "list");
        assert_eq!(body["data"][1]["embedding"], json!([0.125, 0.0, -1.0]));
    }
    assert_eq!(up.requests()[0].target, "/v1/embeddings");
}

#[tokio::test]
async fn models_lists_the_groups_and_health_needs_no_key() {
    let up = Mock::start(vec![chat_ok("x")]).await;
    let app = server(config(vec![
        dep("beta", "openai/gpt-4o-mini", &up),
        dep("alpha", "openai/gpt-4o", &up),
    ]));
    let a = get(&app, "/v1/models").await;
    assert_eq!(a.status, StatusCode::OK);
    let ids: Vec<Value> = a.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("alpha"), json!("beta")]);
    assert_eq!(a.json()["data"][0]["object"], "model");
    assert_eq!(get(&app, "/v1/models/alpha").await.json()["id"], "alpha");
    get(&app, "/v1/models/gamma")
        .await
        .error(404, "not_found_error");

    let live = send(&app, "GET", "/health/liveliness", None, Body::empty()).await;
    assert_eq!(live.status, StatusCode::OK);
    let ready = send(&app, "GET", "/health/readiness", None, Body::empty()).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], "healthy");
    assert!(
        up.requests().is_empty(),
        "health and models never call upstream"
    );
}

#[tokio::test]
async fn a_missing_or_wrong_master_key_is_401() {
    let up = Mock::start(vec![chat_ok("x")]).await;
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)]));
    for key in [None, Some("sk-wrong"), Some("")] {
        let a = send(
            &app,
            "POST",
            "/v1/chat/completions",
            key,
            Body::from(chat_body("chat")),
        )
        .await;
        a.error(401, "authentication_error");
        let a = send(&app, "GET", "/v1/models", key, Body::empty()).await;
        a.error(401, "authentication_error");
    }
    assert!(up.requests().is_empty());
    assert_eq!(
        post(&app, "/v1/chat/completions", chat_body("chat"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_that_says_what_is_wrong() {
    let up = Mock::start(vec![chat_ok("x")]).await;
    let mut c = config(vec![dep("chat", "openai/gpt-4o-mini", &up)]);
    c.server.max_body_bytes = 1024;
    let app = server(c);
    let chat = "/v1/chat/completions";

    let e = post(&app, chat, "{\"model\": \"chat\", \"messages\": [")
        .await
        .error(400, "invalid_request_error");
    assert!(
        e["message"].as_str().unwrap().contains("not valid JSON"),
        "{e}"
    );

    let e = post(
        &app,
        chat,
        json!({"model": "chat", "messages": "hi"}).to_string(),
    )
    .await;
    assert_eq!(e.error(400, "invalid_request_error")["param"], "messages");

    let body = json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"});
    let e = post(&app, chat, body.to_string())
        .await
        .error(400, "invalid_request_error");
    assert_eq!(e["param"], "temperature");
    assert!(
        e["message"].as_str().unwrap().contains("temperature"),
        "{e}"
    );

    let e = post(&app, chat, json!({"model": "chat"}).to_string())
        .await
        .error(400, "invalid_request_error");
    assert_eq!(e["param"], "messages");
    let e = post(
        &app,
        chat,
        json!({"model": "chat", "messages": []}).to_string(),
    )
    .await;
    assert_eq!(e.error(400, "invalid_request_error")["param"], "messages");
    let e = post(
        &app,
        chat,
        json!({"messages": [{"role": "user", "content": "hi"}]}).to_string(),
    )
    .await;
    assert_eq!(e.error(400, "invalid_request_error")["param"], "model");

    let e = post(&app, chat, chat_body("no-such-model"))
        .await
        .error(404, "not_found_error");
    assert!(
        e["message"].as_str().unwrap().contains("no-such-model"),
        "{e}"
    );

    let big = json!({"model": "chat", "messages": [{"role": "user", "content": "x".repeat(2000)}]});
    let e = post(&app, chat, big.to_string())
        .await
        .error(413, "invalid_request_error");
    assert!(e["message"].as_str().unwrap().contains("1024 bytes"), "{e}");

    let mut bad = chat_body("chat").into_bytes();
    let at = bad.len() - 5;
    bad[at] = 0xff;
    let e = post(&app, chat, bad)
        .await
        .error(400, "invalid_request_error");
    assert!(e["message"].as_str().unwrap().contains("UTF-8"), "{e}");

    post(&app, chat, "")
        .await
        .error(400, "invalid_request_error");
    post(&app, chat, "[1, 2]")
        .await
        .error(400, "invalid_request_error");
    post(&app, "/v1/embeddings", json!({"model": "chat"}).to_string())
        .await
        .error(400, "invalid_request_error");
    post(&app, "/v1/nope", "{}")
        .await
        .error(404, "not_found_error");
    get(&app, chat).await.error(405, "invalid_request_error");

    assert!(
        up.requests().is_empty(),
        "no malformed request reaches upstream"
    );
    // Still serving.
    assert_eq!(
        post(&app, chat, chat_body("chat")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_api_base_is_refused_unless_the_config_allows_it() {
    let configured = Mock::start(vec![chat_ok("configured")]).await;
    let chosen = Mock::start(vec![chat_ok("chosen")]).await;
    let with_base = |field: &str| {
        json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}], field: format!("{}/v1", chosen.url)})
            .to_string()
    };
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &configured)]));
    for field in ["api_base", "base_url"] {
        let e = post(&app, "/v1/chat/completions", with_base(field))
            .await
            .error(400, "invalid_request_error");
        assert_eq!(e["param"], field);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("allow-client-api-base"),
            "{e}"
        );
    }
    let e = post(
        &app,
        "/v1/embeddings",
        json!({"model": "chat", "input": "a", "api_base": "http://127.0.0.1:9"}).to_string(),
    )
    .await;
    e.error(400, "invalid_request_error");
    assert!(configured.requests().is_empty() && chosen.requests().is_empty());

    let mut allowed = config(vec![dep("chat", "openai/gpt-4o-mini", &configured)]);
    allowed.server.allow_client_api_base = true;
    let app = server(allowed);
    let a = post(&app, "/v1/chat/completions", with_base("api_base")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["choices"][0]["message"]["content"], "chosen");
    let sent = chosen.requests()[0].json();
    assert!(
        sent.get("api_base").is_none(),
        "the override is not sent upstream: {sent}"
    );
    assert!(configured.requests().is_empty());
}

#[tokio::test]
async fn an_upstream_429_is_a_429_with_retry_after() {
    let up = Mock::start(vec![rate_limited()]).await;
    let app = server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)]));
    let a = post(&app, "/v1/chat/completions", chat_body("chat")).await;
    let e = a.error(429, "rate_limit_error");
    assert_eq!(a.headers["retry-after"], "7");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Rate limit reached"),
        "{e}"
    );
    assert_eq!(e["code"], "rate_limit_exceeded");
}

/// An upstream that sends its first SSE event, then holds the rest until
/// `release` fires: shows whether the proxy passes each event on at once.
async fn held_upstream(release: tokio::sync::oneshot::Receiver<()>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // The request ends with its JSON body's closing brace.
        while !seen.ends_with(b"}") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            seen.extend_from_slice(&buf[..n]);
        }
        let body = sse_body();
        let split = body.find("\n\n").unwrap() + 2;
        let piece = |s: &str| format!("{:x}\r\n{s}\r\n", s.len());
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
        sock.write_all(format!("{head}{}", piece(&body[..split])).as_bytes())
            .await
            .unwrap();
        let _ = release.await;
        sock.write_all(format!("{}0\r\n\r\n", piece(&body[split..])).as_bytes())
            .await
            .unwrap();
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stream_event_reaches_the_client_before_the_next_exists() {
    let (release, held) = tokio::sync::oneshot::channel();
    let upstream = held_upstream(held).await;
    let deployment = DeploymentConfig::new("chat", "openai/gpt-4o-mini")
        .api_key("k")
        .api_base(format!("{upstream}/v1"));
    let state = AppState::new(Client::new().unwrap(), config(vec![deployment])).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(switchboard::server::serve(
        listener,
        Arc::new(state),
        std::future::pending(),
    ));
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(KEY)
        .body(stream_body("chat"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut got = Vec::new();
    while !got.ends_with(b"\n\n") {
        let piece = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
            .await
            .expect("the first event did not arrive while upstream held the rest")
            .unwrap()
            .unwrap();
        got.extend_from_slice(&piece);
    }
    let first = String::from_utf8(got.clone()).unwrap();
    assert!(
        first.starts_with("data: {") && first.contains("Hel"),
        "{first}"
    );
    assert!(!first.contains("[DONE]"), "{first}");
    release.send(()).unwrap();
    while let Some(piece) = body.next().await {
        got.extend_from_slice(&piece.unwrap());
    }
    assert!(
        String::from_utf8(got)
            .unwrap()
            .ends_with("data: [DONE]\n\n")
    );
}

/// The official `openai` Python SDK against the real server on a socket:
/// answers, a stream, embeddings, models, and its exception classes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_sdk_gets_its_usual_answers_and_exceptions() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        crate::support::skip(
            "the_openai_python_sdk_gets_its_usual_answers_and_exceptions",
            "`python3 -c \"import openai\"` failed (pip install openai to run it)",
        );
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/openai_sdk.py");
    assert_client_passed(run_client_script("python3", script).await);
}

/// The same checks through the official `openai` npm SDK
/// (tests/clients/openai_sdk.mjs, installed by `npm ci` in tests/clients).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_node_sdk_gets_its_usual_answers_and_exceptions() {
    let name = "the_openai_node_sdk_gets_its_usual_answers_and_exceptions";
    let probe = tokio::process::Command::new("node")
        .arg("--version")
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        crate::support::skip(
            name,
            "`node --version` failed (install Node.js 20+ to run it)",
        );
        return;
    }
    let clients = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients");
    if !std::path::Path::new(clients)
        .join("node_modules/openai/package.json")
        .is_file()
    {
        crate::support::skip(
            name,
            "tests/clients/node_modules/openai is missing (run `npm ci` in tests/clients to run it)",
        );
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/openai_sdk.mjs");
    assert_client_passed(run_client_script("node", script).await);
}

/// Runs `program script URL KEY` against the real server on a socket, in
/// front of the mock groups the client scripts expect (see their headers),
/// and returns what it printed; a client stuck for two minutes is killed.
async fn run_client_script(program: &str, script: &str) -> std::process::Output {
    let chat = Mock::start(vec![chat_ok("Hello from the mock")]).await;
    let stream = Mock::start(vec![Reply::stream("text/event-stream", sse_body())]).await;
    let body = sse_body();
    let mut cut = Reply::stream("text/event-stream", body.clone());
    cut.cut_after = Some(body.find("\n\n").unwrap() + 12);
    let cut = Mock::start(vec![cut]).await;
    let embed = Mock::start(vec![embeddings_ok()]).await;
    let limited = Mock::start(vec![rate_limited()]).await;
    let state = AppState::new(
        Client::new().unwrap(),
        config(vec![
            dep("chat", "openai/gpt-4o-mini", &chat),
            dep("streamer", "openai/gpt-4o-mini", &stream),
            dep("cut", "openai/gpt-4o-mini", &cut),
            dep("embedder", "openai/text-embedding-3-small", &embed),
            dep("limited", "openai/gpt-4o-mini", &limited),
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
    let run = tokio::process::Command::new(program)
        .args([script, &url, KEY])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run).await;
    let _ = stop.send(());
    let _ = server.await;
    out.unwrap_or_else(|_| panic!("{program} {script} still running after 120 s"))
        .unwrap_or_else(|e| panic!("{program} {script} did not start: {e}"))
}

/// Asserts a client script exited 0 after printing "all checks passed".
fn assert_client_passed(out: std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "the SDK script failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
