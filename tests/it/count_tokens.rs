//! Token counts through a provider's own API (`[count-tokens]`): each
//! exchange under tests/fixtures/<provider>/count_tokens.json rendered and
//! read by the pure functions and replayed through `Client::count_tokens`
//! against a mock upstream on 127.0.0.1; then the Messages door's
//! `/v1/messages/count_tokens` on the proxy: the provider's count where
//! the group's deployment has a count API (the caller's body passed
//! through to Anthropic), the token counter otherwise or when the count
//! fails, and a virtual key held to its models.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, Store, app};
use switchboard::{CallOptions, ChatRequest, Client, pure};
use tower::ServiceExt;

use crate::proxy::{self, anthropic_dep, openai_dep, server};
use crate::support::{Mock, Reply};

const MASTER: &str = "sk-master-count";

fn fixture(provider: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(provider)
        .join("count_tokens.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn params(fx: &Value) -> BTreeMap<String, String> {
    fx["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

const PROVIDERS: [&str; 4] = ["anthropic", "gemini", "vertex", "bedrock"];

#[test]
fn each_count_fixture_renders_its_request_and_reads_its_count() {
    let client = Client::new().unwrap();
    for provider in PROVIDERS {
        let fx = fixture(provider);
        let req: ChatRequest = serde_json::from_value(fx["input"].clone()).unwrap();
        let (spec, model) = client.registry().resolve(&req.model).unwrap();
        let r = pure::render_count(&spec, &req, &model, &params(&fx)).unwrap();
        assert_eq!(r.method.as_str(), fx["request"]["method"], "{provider}");
        assert_eq!(r.path, fx["request"]["path"], "{provider}");
        assert_eq!(
            r.body,
            fx["request"]["body"],
            "{provider}: rendered {}",
            serde_json::to_string_pretty(&r.body).unwrap()
        );
        let count = pure::read_count(&spec, &fx["response"]["body"]).unwrap();
        assert_eq!(Some(count), fx["tokens"].as_u64(), "{provider}");
    }
}

#[test]
fn an_answer_without_a_count_is_an_error_not_zero() {
    let client = Client::new().unwrap();
    let (spec, _) = client.registry().resolve("anthropic/claude-x").unwrap();
    for body in [
        json!({}),
        json!({"input_tokens": -3}),
        json!({"input_tokens": 1.5}),
        json!({"input_tokens": null}),
        json!({"input_tokens": "many"}),
        json!([1, 2]),
    ] {
        assert!(pure::read_count(&spec, &body).is_err(), "{body}");
    }
    assert_eq!(
        pure::read_count(&spec, &json!({"input_tokens": "12"})).unwrap(),
        12
    );
    let (openai, _) = client.registry().resolve("openai/gpt-4o").unwrap();
    let req = ChatRequest::new("openai/gpt-4o").user("hi");
    let e = pure::render_count(&openai, &req, "gpt-4o", &BTreeMap::new()).unwrap_err();
    assert!(e.message().contains("token-count"), "{}", e.message());
}

#[tokio::test]
async fn the_client_asks_each_provider_through_its_count_api() {
    let client = Client::new().unwrap();
    for provider in PROVIDERS {
        let fx = fixture(provider);
        let body = fx["response"]["body"].clone();
        let up = Mock::start(vec![Reply::json(200, &body)]).await;
        let req: ChatRequest = serde_json::from_value(fx["input"].clone()).unwrap();
        let opts = CallOptions {
            api_key: Some("AKIDTEST:secret-for-count".into()),
            api_base: Some(up.url.clone()),
            params: params(&fx).into_iter().collect(),
            ..Default::default()
        };
        let n = client.count_tokens(&req, &opts).await.unwrap();
        assert_eq!(Some(n), fx["tokens"].as_u64(), "{provider}");
        let seen = up.requests();
        assert_eq!(seen.len(), 1, "{provider}: one request, no retry");
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].target, fx["request"]["path"], "{provider}");
        assert_eq!(seen[0].json(), fx["request"]["body"], "{provider}");
    }
}

#[tokio::test]
async fn a_failed_count_is_a_classified_error_without_the_key() {
    let up = Mock::start(vec![Reply::echoing_headers(401)]).await;
    let client = Client::new().unwrap();
    let req = ChatRequest::new("anthropic/claude-sonnet-4-5").user("hi");
    let opts = CallOptions {
        api_key: Some("sk-ant-secret-count-key".into()),
        api_base: Some(up.url.clone()),
        ..Default::default()
    };
    let e = client.count_tokens(&req, &opts).await.unwrap_err();
    assert_eq!(e.kind(), switchboard::ErrorKind::Authentication, "{e}");
    assert!(!e.to_string().contains("secret-count-key"), "{e}");
    let none = client
        .count_tokens(&ChatRequest::new("openai/gpt-4o").user("hi"), &opts)
        .await
        .unwrap_err();
    assert!(none.message().contains("token-count"), "{none}");
}

// ---- the proxy ----

/// Retries on: a count must still be asked once.
fn config(deployments: Vec<DeploymentConfig>) -> ServerConfig {
    let mut c = proxy::config(MASTER, deployments);
    c.router.router.retries = 2;
    c.router.router.backoff_ms = 1;
    c.router.router.max_backoff_ms = 1;
    c
}

struct Counted {
    status: StatusCode,
    counter: Option<String>,
    deployment: Option<String>,
    body: Value,
}

async fn count(app: &axum::Router, key: &str, body: &Value) -> Counted {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/messages/count_tokens")
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (counter, deployment) = (
        header("x-switchboard-token-count"),
        header("x-switchboard-deployment"),
    );
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Counted {
        status,
        counter,
        deployment,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// A Messages count_tokens body with what only Anthropic's API knows:
/// cache_control on a system block, a thinking setting.
fn messages_body(model: &str) -> Value {
    json!({
        "model": model,
        "system": [{"type": "text", "text": "You are terse.",
            "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}]
    })
}

#[tokio::test]
async fn an_anthropic_group_counts_with_anthropic_and_passes_the_body_through() {
    let up = Mock::start(vec![Reply::json(200, &json!({"input_tokens": 4242}))]).await;
    let app = server(config(vec![anthropic_dep("claude", &up)]));
    let a = count(&app, MASTER, &messages_body("claude")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body, json!({"input_tokens": 4242}));
    assert_eq!(a.counter.as_deref(), Some("provider"));
    assert_eq!(a.deployment.as_deref(), Some("claude-dep"));
    let seen = up.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/v1/messages/count_tokens");
    assert_eq!(seen[0].header("x-api-key"), Some("upstream-key"));
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        seen[0].json(),
        messages_body("claude-sonnet-4-5"),
        "passed through, model replaced"
    );
}

#[tokio::test]
async fn a_group_without_a_count_api_counts_locally_and_calls_nothing() {
    let up = Mock::start(vec![Reply::openai_chat("unused", 1, 1)]).await;
    let app = server(config(vec![openai_dep("gpt", &up)]));
    let a = count(&app, MASTER, &messages_body("gpt")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.counter.as_deref(), Some("local"));
    assert_eq!(a.deployment.as_deref(), Some("gpt-dep"));
    assert!(a.body["input_tokens"].as_u64().unwrap() > 5, "{}", a.body);
    assert!(up.requests().is_empty(), "nothing was asked upstream");
}

#[tokio::test]
async fn a_failed_provider_count_falls_back_once_and_cools_nothing() {
    let up = Mock::start(vec![
        Reply::json(
            500,
            &json!({"type": "error", "error": {"type": "api_error", "message": "boom"}}),
        ),
        Reply::json(200, &json!({"input_tokens": 7})),
    ])
    .await;
    let app = server(config(vec![anthropic_dep("claude", &up)]));
    let a = count(&app, MASTER, &messages_body("claude")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.counter.as_deref(), Some("local"));
    assert!(a.body["input_tokens"].as_u64().unwrap() > 5, "{}", a.body);
    assert_eq!(up.requests().len(), 1, "a count is never retried");
    // The deployment was not cooled down: the next count reaches it.
    let b = count(&app, MASTER, &messages_body("claude")).await;
    assert_eq!(b.counter.as_deref(), Some("provider"), "{}", b.body);
    assert_eq!(b.body["input_tokens"], 7);
}

#[tokio::test]
async fn a_virtual_key_counts_only_in_its_groups() {
    let up = Mock::start(vec![Reply::json(200, &json!({"input_tokens": 11}))]).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    let deps = vec![anthropic_dep("claude", &up), anthropic_dep("other", &up)];
    let state = AppState::new(Client::new().unwrap(), config(deps))
        .unwrap()
        .with_store(store);
    let app = app(Arc::new(state));
    let req = Request::builder()
        .method("POST")
        .uri("/key/generate")
        .header("authorization", format!("Bearer {MASTER}"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"models": ["claude"]}).to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let key: Value = serde_json::from_slice(&bytes).unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let ok = count(&app, &key, &messages_body("claude")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["input_tokens"], 11);
    let refused = count(&app, &key, &messages_body("other")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.body["type"], "error", "Anthropic's error shape");
    assert_eq!(up.requests().len(), 1, "the refused count asked nothing");
    let unknown = count(&app, &key, &messages_body("nope")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
}
