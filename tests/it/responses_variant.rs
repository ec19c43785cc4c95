//! Endpoint variants end to end: a model the catalog lists in mode
//! "responses" is called through OpenAI's Responses API (`POST /v1/responses`,
//! the only route the mock upstream answers) and comes back as a chat
//! completion, priced from the catalog; streams too; a chat-mode model
//! still goes to /chat/completions; the proxy serves a responses-only group
//! on /v1/chat/completions, to the official openai SDK as well.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, app};
use switchboard::{CallOptions, ChatRequest, Client};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

/// The recorded-style upstream answer of fixture `openai/<case>`.
fn fixture_reply(case: &str) -> Reply {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openai")
        .join(format!("{case}.json"));
    let rec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    match &rec["response"]["body"] {
        Value::String(sse) => Reply::stream("text/event-stream", sse.clone()),
        body => Reply::json(200, body),
    }
}

fn opts(mock: &Mock) -> CallOptions {
    CallOptions {
        api_key: Some("test-key".into()),
        api_base: Some(format!("{}/v1", mock.url)),
        ..Default::default()
    }
}

fn request(model: &str) -> ChatRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}))
        .unwrap()
}

/// USD per million tokens on OpenAI's pricing page: gpt-5-pro 15 in, 120
/// out; gpt-5-codex 1.25 in, 10 out.
fn usd(prompt: u64, completion: u64, input: f64, output: f64) -> f64 {
    (prompt as f64 * input + completion as f64 * output) / 1e6
}

#[tokio::test]
async fn a_responses_only_model_is_called_through_v1_responses_and_priced() {
    let mock = Mock::only("/v1/responses", vec![fixture_reply("responses_text")]).await;
    let client = Client::new().unwrap();
    let resp = client
        .completion(&request("openai/gpt-5-pro"), &opts(&mock))
        .await
        .unwrap();
    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/v1/responses");
    assert_eq!(seen[0].header("authorization"), Some("Bearer test-key"));
    let body = seen[0].json();
    assert_eq!(body["model"], "gpt-5-pro");
    assert_eq!(
        body["input"][0]["content"][0],
        json!({"type": "input_text", "text": "Hi"})
    );
    assert!(body.get("messages").is_none(), "{body}");
    assert_eq!(resp.object, "chat.completion");
    assert_eq!(resp.text(), Some("Paris is the capital of France."));
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
    let usage = resp.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (21, 84));
    let cost = usage.cost.unwrap();
    assert!(cost.priced);
    assert!(
        (cost.usd - usd(21, 84, 15.0, 120.0)).abs() < 1e-12,
        "{}",
        cost.usd
    );
}

#[tokio::test]
async fn a_responses_only_model_streams_chat_chunks_from_response_events() {
    let mock = Mock::only(
        "/v1/responses",
        vec![fixture_reply("responses_stream_text")],
    )
    .await;
    let client = Client::new().unwrap();
    let mut req = request("openai/gpt-5-codex");
    req.stream = Some(true);
    let mut stream = client.stream(&req, &opts(&mock)).await.unwrap();
    let (mut text, mut finish) = (String::new(), None);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert_eq!(chunk.object, "chat.completion.chunk");
        for c in &chunk.choices {
            text.push_str(c.delta.content.as_deref().unwrap_or_default());
            finish = c.finish_reason.clone().or(finish);
        }
    }
    assert_eq!(text, "Hello there!");
    assert_eq!(finish.as_deref(), Some("stop"));
    assert_eq!(mock.requests()[0].json()["stream"], true);
    let usage = stream.usage().unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (12, 5));
    let cost = usage.cost.unwrap();
    assert!(
        (cost.usd - usd(12, 5, 1.25, 10.0)).abs() < 1e-12,
        "{}",
        cost.usd
    );
}

#[tokio::test]
async fn a_chat_mode_model_still_goes_to_chat_completions() {
    let responses_only = Mock::only("/v1/responses", vec![fixture_reply("responses_text")]).await;
    let err = Client::new()
        .unwrap()
        .completion(&request("openai/gpt-4o-mini"), &opts(&responses_only))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert_eq!(responses_only.requests()[0].target, "/v1/chat/completions");

    let chat_only = Mock::only("/v1/chat/completions", vec![Reply::openai_chat("hi", 3, 1)]).await;
    let resp = Client::new()
        .unwrap()
        .completion(&request("openai/gpt-4o-mini"), &opts(&chat_only))
        .await
        .unwrap();
    assert_eq!(resp.text(), Some("hi"));
}

#[tokio::test]
async fn parameters_the_responses_api_lacks_are_refused_before_sending() {
    let mock = Mock::only("/v1/responses", vec![fixture_reply("responses_text")]).await;
    let mut req = request("openai/gpt-5-pro");
    req.seed = Some(7);
    let err = Client::new()
        .unwrap()
        .completion(&req, &opts(&mock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), switchboard::ErrorKind::BadRequest, "{err}");
    assert!(
        err.to_string()
            .contains("OpenAI (responses) does not support the OpenAI parameter `seed`"),
        "{err}"
    );
    assert!(mock.requests().is_empty());
}

fn server_config(mock: &Mock) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.server.master_key = Some("sk-master-test".into());
    c.router.router.retries = 0;
    c.router.deployments = vec![
        DeploymentConfig::new("codex", "openai/gpt-5-pro")
            .api_key("upstream-key")
            .api_base(format!("{}/v1", mock.url)),
    ];
    c
}

#[tokio::test]
async fn the_proxy_serves_a_responses_only_group_on_chat_completions() {
    let mock = Mock::only("/v1/responses", vec![fixture_reply("responses_text")]).await;
    let state = AppState::new(Client::new().unwrap(), server_config(&mock)).unwrap();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-master-test")
        .body(axum::body::Body::from(
            json!({"model": "codex", "messages": [{"role": "user", "content": "Capital of France?"}]})
                .to_string(),
        ))
        .unwrap();
    let resp = app(Arc::new(state)).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Paris is the capital of France."
    );
    assert_eq!(body["usage"]["prompt_tokens"], 21);
    assert_eq!(mock.requests()[0].target, "/v1/responses");
}

/// The official openai Python SDK's chat call, against the proxy on a socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_sdk_chat_call_reaches_a_responses_only_model() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        crate::support::skip(
            "the_openai_sdk_chat_call_reaches_a_responses_only_model",
            "`python3 -c \"import openai\"` failed (pip install openai to run it)",
        );
        return;
    }
    let mock = Mock::only(
        "/v1/responses",
        vec![
            fixture_reply("responses_text"),
            fixture_reply("responses_stream_text"),
        ],
    )
    .await;
    let state = AppState::new(Client::new().unwrap(), server_config(&mock)).unwrap();
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
    let script = r#"
import os, openai
c = openai.OpenAI(base_url=os.environ["BASE"], api_key="sk-master-test", max_retries=0)
r = c.chat.completions.create(model="codex", messages=[{"role": "user", "content": "Capital of France?"}])
assert r.choices[0].message.content == "Paris is the capital of France.", r
assert r.choices[0].finish_reason == "stop", r
assert r.usage.prompt_tokens == 21 and r.usage.completion_tokens == 84, r.usage
text = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
    model="codex", stream=True, messages=[{"role": "user", "content": "Say hello"}]) if ch.choices)
assert text == "Hello there!", text
print("all checks passed")
"#;
    let out = tokio::process::Command::new("python3")
        .args(["-c", script])
        .env("BASE", &url)
        .output()
        .await
        .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "the SDK script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        mock.requests().iter().all(|r| r.target == "/v1/responses"),
        "{:?}",
        mock.requests()
            .iter()
            .map(|r| &r.target)
            .collect::<Vec<_>>()
    );
}
