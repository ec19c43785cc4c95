//! `GET /metrics`: what the proxy's chat and embeddings calls leave in the
//! Prometheus text exposition, driven through `oneshot` in front of mock
//! upstreams on 127.0.0.1.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, app};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

const KEY: &str = "sk-master-test";

fn chat_ok() -> Reply {
    Reply::openai_chat("Hi", 1000, 200)
}

fn sse_body() -> String {
    let chunk = |delta: Value, finish: Value, usage: Value| {
        let mut c = json!({
            "id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        if !usage.is_null() {
            c["choices"] = json!([]);
            c["usage"] = usage;
        }
        format!("data: {c}\n\n")
    };
    [
        chunk(
            json!({"role": "assistant", "content": "Hel"}),
            Value::Null,
            Value::Null,
        ),
        chunk(json!({"content": "lo"}), Value::Null, Value::Null),
        chunk(json!({}), json!("stop"), Value::Null),
        chunk(
            Value::Null,
            Value::Null,
            json!({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}),
        ),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat()
}

fn server(deployments: Vec<DeploymentConfig>) -> axum::Router {
    let mut c = ServerConfig::default();
    c.server.master_key = Some(KEY.into());
    c.router.router.retries = 0;
    c.router.deployments = deployments;
    app(Arc::new(AppState::new(Client::new().unwrap(), c).unwrap()))
}

fn dep(group: &str, model: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, model)
        .api_key("upstream-key")
        .api_base(format!("{}/v1", mock.url))
        .id(format!("{group}-dep"))
}

async fn send(app: &axum::Router, method: &str, path: &str, body: String) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The exposition, read with no key (like Prometheus scraping).
async fn scrape(app: &axum::Router) -> String {
    let req = Request::get("/metrics").body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        resp.headers()
    );
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of the sample `name{labels}`, if present.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let head = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(head.as_str()))
        .map(|v| v.trim().parse().unwrap())
}

fn chat(model: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
        .to_string()
}

#[tokio::test]
async fn a_chat_completion_counts_its_request_latency_tokens_and_cost() {
    let up = Mock::start(vec![chat_ok()]).await;
    let app = server(vec![dep("g", "openai/gpt-4o-mini", &up)]);
    for _ in 0..2 {
        let (status, body) = send(&app, "POST", "/v1/chat/completions", chat("g", false)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let text = scrape(&app).await;
    let ok = r#"route="chat",model_group="g",deployment="g-dep",outcome="success""#;
    assert_eq!(
        sample(&text, "switchboard_requests_total", ok),
        Some(2.0),
        "{text}"
    );
    let by_dep = r#"model_group="g",deployment="g-dep""#;
    assert_eq!(
        sample(&text, "switchboard_prompt_tokens_total", by_dep),
        Some(2000.0)
    );
    assert_eq!(
        sample(&text, "switchboard_completion_tokens_total", by_dep),
        Some(400.0)
    );
    let cost = sample(&text, "switchboard_cost_usd_total", by_dep).expect("a cost sample");
    assert!(cost > 0.0, "gpt-4o-mini is priced: {text}");
    let group = r#"route="chat",model_group="g""#;
    assert_eq!(
        sample(&text, "switchboard_request_duration_seconds_count", group),
        Some(2.0),
        "{text}"
    );
    let all = r#"route="chat",model_group="g",le="+Inf""#;
    assert_eq!(
        sample(&text, "switchboard_request_duration_seconds_bucket", all),
        Some(2.0),
        "{text}"
    );
}

#[tokio::test]
async fn an_upstream_failure_counts_an_error_of_its_unified_kind() {
    let up = Mock::start(vec![Reply::json(
        429,
        &json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
    )])
    .await;
    let app = server(vec![dep("g", "openai/gpt-4o-mini", &up)]);
    let (status, _) = send(&app, "POST", "/v1/chat/completions", chat("g", false)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let text = scrape(&app).await;
    let kind = r#"route="chat",model_group="g",kind="rate_limit""#;
    assert_eq!(
        sample(&text, "switchboard_errors_total", kind),
        Some(1.0),
        "{text}"
    );
    let failed = r#"route="chat",model_group="g",deployment="",outcome="error""#;
    assert_eq!(
        sample(&text, "switchboard_requests_total", failed),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn a_malformed_request_counts_a_bad_request_without_a_group() {
    let up = Mock::start(vec![chat_ok()]).await;
    let app = server(vec![dep("g", "openai/gpt-4o-mini", &up)]);
    let (status, _) = send(&app, "POST", "/v1/chat/completions", "{".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = scrape(&app).await;
    let kind = r#"route="chat",model_group="",kind="bad_request""#;
    assert_eq!(
        sample(&text, "switchboard_errors_total", kind),
        Some(1.0),
        "{text}"
    );
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn a_stream_counts_time_to_first_byte_and_its_usage_once_finished() {
    let up = Mock::start(vec![Reply::stream("text/event-stream", sse_body())]).await;
    let app = server(vec![dep("g", "openai/gpt-4o-mini", &up)]);
    let (status, body) = send(&app, "POST", "/v1/chat/completions", chat("g", true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "switchboard_time_to_first_byte_seconds_count",
            r#"model_group="g""#
        ),
        Some(1.0),
        "{text}"
    );
    let ok = r#"route="chat",model_group="g",deployment="g-dep",outcome="success""#;
    assert_eq!(
        sample(&text, "switchboard_requests_total", ok),
        Some(1.0),
        "{text}"
    );
    let by_dep = r#"model_group="g",deployment="g-dep""#;
    assert_eq!(
        sample(&text, "switchboard_prompt_tokens_total", by_dep),
        Some(9.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "switchboard_completion_tokens_total", by_dep),
        Some(3.0)
    );
}

#[tokio::test]
async fn embeddings_count_their_prompt_tokens() {
    let up = Mock::start(vec![Reply::json(
        200,
        &json!({
            "object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        }),
    )])
    .await;
    let app = server(vec![dep("emb", "openai/text-embedding-3-small", &up)]);
    let body = json!({"model": "emb", "input": "hello"}).to_string();
    let (status, text) = send(&app, "POST", "/v1/embeddings", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let text = scrape(&app).await;
    let ok = r#"route="embeddings",model_group="emb",deployment="emb-dep",outcome="success""#;
    assert_eq!(
        sample(&text, "switchboard_requests_total", ok),
        Some(1.0),
        "{text}"
    );
    let by_dep = r#"model_group="emb",deployment="emb-dep""#;
    assert_eq!(
        sample(&text, "switchboard_prompt_tokens_total", by_dep),
        Some(4.0),
        "{text}"
    );
}
