//! The proxy as a client written for litellm's proxy uses it (issue 12):
//! litellm's own request fields acted on or taken out (asserted on what the
//! mock upstream received), per-request retries and fallbacks. Through
//! `tower::ServiceExt::oneshot`, mock upstreams on 127.0.0.1, and the
//! Router on a manual clock, so a retry never sleeps.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::{DeploymentConfig, ManualClock, Rng, Router};
use switchboard::server::{AppState, ServerConfig, app};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

pub(crate) const KEY: &str = "sk-master-litellm-test";

pub(crate) fn dep(group: &str, model: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, model)
        .api_key("upstream-key")
        .api_base(format!("{}/v1", mock.url))
        .id(format!("{group}-dep"))
}

/// A server over `deployments` (no retries unless asked), its Router on a manual clock.
pub(crate) fn server(deployments: Vec<DeploymentConfig>) -> (axum::Router, Arc<ManualClock>) {
    let mut config = ServerConfig::default();
    config.server.master_key = Some(KEY.into());
    config.router.router.retries = 0;
    config.router.deployments = deployments;
    server_of(config)
}

pub(crate) fn server_of(mut config: ServerConfig) -> (axum::Router, Arc<ManualClock>) {
    config.proxy_defaults();
    let clock = Arc::new(ManualClock::default());
    let client = Client::new().unwrap();
    let router = Router::with_clock(
        client.clone(),
        config.router.clone(),
        clock.clone(),
        Rng::seeded(3),
    )
    .unwrap();
    let state = AppState::with_router(client, router, config).unwrap();
    (app(Arc::new(state)), clock)
}

pub(crate) async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, json)
}

pub(crate) async fn chat(app: &axum::Router, body: Value) -> (StatusCode, Value) {
    call(app, "POST", "/v1/chat/completions", KEY, Some(body)).await
}

fn hi(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

fn server_error() -> Reply {
    Reply::json(
        503,
        &json!({"error": {"message": "overloaded", "type": "server_error"}}),
    )
}

/// litellm's proxy-only fields, as a litellm client sends them.
fn litellm_fields() -> Value {
    json!({
        "metadata": {"generation_name": "ft-run", "trace_id": "t-1"},
        "tags": ["prod", "team-a"],
        "caching": false,
        "cache": {"no-cache": true},
        "timeout": 30,
        "num_retries": 0,
        "drop_params": true,
        "litellm_session_id": "s-1",
        "temperature": 0.5,
    })
}

#[tokio::test]
async fn litellm_only_fields_never_reach_the_upstream() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let (app, _) = server(vec![dep("chat", "openai/gpt-4o-mini", &up)]);
    let mut body = hi("chat", litellm_fields());
    body["user"] = json!("end-user-7");
    let (status, answer) = chat(&app, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let sent = up.requests()[0].json();
    for field in [
        "metadata",
        "tags",
        "caching",
        "cache",
        "timeout",
        "num_retries",
        "drop_params",
        "litellm_session_id",
    ] {
        assert!(sent.get(field).is_none(), "{field} was forwarded: {sent}");
    }
    assert_eq!(sent["temperature"], 0.5);
    // OpenAI takes `user`: it goes through.
    assert_eq!(sent["user"], "end-user-7");
}

#[tokio::test]
async fn user_is_dropped_for_a_provider_that_takes_none() {
    // Mistral's API speaks OpenAI's format but takes no `user`.
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let (app, _) = server(vec![dep("chat", "mistral/mistral-small-latest", &up)]);
    let (status, answer) = chat(&app, hi("chat", json!({"user": "end-user-7"}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let sent = up.requests()[0].json();
    assert!(sent.get("user").is_none(), "{sent}");
    assert_eq!(sent["messages"][0]["content"], "hi");
}

#[tokio::test]
async fn fields_that_would_set_keys_deployments_or_prices_are_refused() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let (app, _) = server(vec![dep("chat", "openai/gpt-4o-mini", &up)]);
    for field in [
        "api_key",
        "input_cost_per_token",
        "model_list",
        "user_config",
    ] {
        let (status, answer) = chat(&app, hi("chat", json!({ field: "x" }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert_eq!(answer["error"]["param"], field, "{answer}");
    }
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn per_request_num_retries_retries_the_group() {
    let up = Mock::start(vec![server_error(), Reply::openai_chat("second try", 3, 1)]).await;
    let (app, clock) = server(vec![dep("chat", "openai/gpt-4o-mini", &up)]);
    let (status, answer) = chat(&app, hi("chat", json!({"num_retries": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "second try");
    assert_eq!(up.requests().len(), 2);
    assert_eq!(clock.sleeps().len(), 1, "one backoff, on the manual clock");
    assert!(up.requests()[1].json().get("num_retries").is_none());

    // Without it, the server's `retries = 0` holds: one attempt.
    let up = Mock::start(vec![server_error(), Reply::openai_chat("never", 3, 1)]).await;
    let (app, _) = server(vec![dep("chat", "openai/gpt-4o-mini", &up)]);
    let (status, _) = chat(&app, hi("chat", json!({}))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test]
async fn per_request_fallbacks_go_to_another_group() {
    let main = Mock::start(vec![server_error()]).await;
    let backup = Mock::start(vec![Reply::openai_chat("from backup", 3, 1)]).await;
    let (app, _) = server(vec![
        dep("main", "openai/gpt-4o", &main),
        dep("backup", "openai/gpt-4o-mini", &backup),
    ]);
    let (status, answer) = chat(&app, hi("main", json!({"fallbacks": ["backup"]}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "from backup");
    let sent = backup.requests()[0].json();
    assert!(sent.get("fallbacks").is_none(), "{sent}");
    assert_eq!(sent["model"], "gpt-4o-mini");

    // A fallback the server does not serve is refused before any call.
    let (status, answer) = chat(&app, hi("main", json!({"fallbacks": ["openai/gpt-4.1"]}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("openai/gpt-4.1"),
        "{answer}"
    );
    // …and one with its own key or base URL.
    let (status, _) = chat(
        &app,
        hi(
            "main",
            json!({"fallbacks": [{"model": "backup", "api_base": "http://127.0.0.1:9"}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(main.requests().len(), 1);
}

#[tokio::test]
async fn per_request_context_window_fallbacks_and_mock_response() {
    let small = Mock::start(vec![Reply::json(
        400,
        &json!({"error": {"message": "This model's maximum context length is 8192 tokens", "type": "invalid_request_error", "code": "context_length_exceeded"}}),
    )])
    .await;
    let large = Mock::start(vec![Reply::openai_chat("from large", 3, 1)]).await;
    let (app, _) = server(vec![
        dep("small", "openai/gpt-4o-mini", &small),
        dep("large", "openai/gpt-4.1", &large),
    ]);
    let (status, answer) = chat(
        &app,
        hi(
            "small",
            json!({"context_window_fallbacks": [{"small": ["large"]}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "from large");

    // mock_response answers without calling, and as litellm's exception name, fails so.
    let (status, answer) = chat(&app, hi("large", json!({"mock_response": "canned"}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "canned");
    let (status, answer) = chat(
        &app,
        hi("large", json!({"mock_response": "litellm.RateLimitError"})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(large.requests().len(), 1, "mocks call nothing");
}

#[tokio::test]
async fn absurd_litellm_values_are_a_400_naming_the_field() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let (app, _) = server(vec![dep("chat", "openai/gpt-4o-mini", &up)]);
    for (extra, field) in [
        (json!({"num_retries": 1000}), "num_retries"),
        (json!({"num_retries": "many"}), "num_retries"),
        (json!({"timeout": -1}), "timeout"),
        (json!({"timeout": 1e300}), "timeout"),
        (json!({"request_timeout": "soon"}), "request_timeout"),
        (json!({"fallbacks": 7}), "fallbacks"),
    ] {
        let (status, answer) = chat(&app, hi("chat", extra.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {answer}");
        assert_eq!(answer["error"]["param"], field, "{extra}: {answer}");
    }
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn readiness_reports_cooled_deployments_and_a_lone_one_is_never_cooled() {
    let solo = Mock::start(vec![server_error(), Reply::openai_chat("still here", 3, 1)]).await;
    let a = Mock::start(vec![server_error()]).await;
    let b = Mock::start(vec![Reply::openai_chat("b", 3, 1)]).await;
    let mut config = ServerConfig::default();
    config.server.master_key = Some(KEY.into());
    config.router.router.retries = 0;
    config.router.router.allowed_fails = 1;
    config.router.deployments = vec![
        dep("solo", "openai/gpt-4o-mini", &solo),
        dep("pair", "openai/gpt-4o", &a).id("pair-a").weight(1000.0),
        dep("pair", "openai/gpt-4o", &b).id("pair-b"),
    ];
    let (app, _) = server_of(config);

    let (status, _) = chat(&app, hi("solo", json!({}))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, answer) = chat(&app, hi("solo", json!({}))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the lone deployment was not cooled: {answer}"
    );
    let (status, ready) = call(&app, "GET", "/health/readiness", "", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "healthy", "{ready}");
    assert_eq!(ready["cooling"], json!([]));

    let (status, _) = chat(&app, hi("pair", json!({}))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, ready) = call(&app, "GET", "/health/readiness", "", None).await;
    assert_eq!(status, StatusCode::OK, "pair-b still serves: {ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["cooling"][0]["model_group"], "pair");
    assert_eq!(ready["cooling"][0]["deployment"], "pair-a");
    assert!(ready["cooling"][0]["seconds_left"].as_f64().unwrap() > 0.0);
    assert_eq!(ready["unavailable_model_groups"], json!([]));
    let (status, answer) = chat(&app, hi("pair", json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "b");
}

/// Cooldowns another instance announced (as Redis shares them).
struct Announced(Vec<(&'static str, std::time::Duration)>);

impl switchboard::router::SharedCooldowns for Announced {
    fn cooling<'a>(
        &'a self,
        ids: &'a [&'a str],
    ) -> futures::future::BoxFuture<'a, Vec<Option<std::time::Duration>>> {
        let out = ids
            .iter()
            .map(|id| self.0.iter().find(|(d, _)| d == id).map(|(_, left)| *left))
            .collect();
        Box::pin(std::future::ready(out))
    }

    fn cool_down<'a>(
        &'a self,
        _id: &'a str,
        _left: std::time::Duration,
    ) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn readiness_is_503_when_a_group_has_no_deployment_left() {
    let up = Mock::start(vec![Reply::openai_chat("x", 3, 1)]).await;
    let mut config = ServerConfig::default();
    config.router.router.retries = 0;
    config.router.deployments = vec![
        dep("solo", "openai/gpt-4o-mini", &up),
        dep("other", "openai/gpt-4o", &up),
    ];
    config.proxy_defaults();
    let client = Client::new().unwrap();
    let shared = Arc::new(Announced(vec![(
        "solo-dep",
        std::time::Duration::from_secs(30),
    )]));
    let router = Router::with_clock(
        client.clone(),
        config.router.clone(),
        Arc::new(ManualClock::default()),
        Rng::seeded(3),
    )
    .unwrap()
    .with_shared_cooldowns(shared);
    let app = app(Arc::new(
        AppState::with_router(client, router, config).unwrap(),
    ));
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/chat/completions",
        "",
        Some(hi("solo", json!({}))),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(up.requests().is_empty());
    let (status, ready) = call(&app, "GET", "/health/readiness", "", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "unhealthy");
    assert_eq!(ready["unavailable_model_groups"], json!(["solo"]));
    assert_eq!(ready["cooling"][0]["deployment"], "solo-dep");
}
