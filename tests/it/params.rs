//! The parameter policy and what the client does before rendering, against
//! mock upstreams on 127.0.0.1: a parameter the provider does not carry is
//! refused naming it, or dropped (`drop_params` per call, per deployment,
//! in `[router]`, or in the request itself), or forced through
//! (`allowed_openai_params`); image URLs fetched for byte-only providers
//! (and not by the proxy unless allowed); base URLs from the environment;
//! `providers --params`.

use std::process::Stdio;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use serde_json::{Value, json};
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, app};
use switchboard::{
    CallOptions, ChatRequest, Client, ErrorKind, RouteOptions, Router, RouterConfig,
};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

fn anthropic_ok() -> Reply {
    Reply::json(
        200,
        &json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "391"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 9, "output_tokens": 2}}),
    )
}

fn request(extra: Value) -> ChatRequest {
    let mut body = json!({"model": "anthropic/claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "17 * 23?"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    serde_json::from_value(body).unwrap()
}

fn opts(mock: &Mock) -> CallOptions {
    CallOptions {
        api_key: Some("k".into()),
        api_base: Some(mock.url.clone()),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_requests_own_drop_params_drops_what_is_not_carried_and_is_never_sent() {
    let mock = Mock::start(vec![anthropic_ok()]).await;
    let client = Client::new().unwrap();
    let req =
        request(json!({"drop_params": true, "n": 2, "presence_penalty": 0.4, "temperature": 0.2}));
    let resp = client.completion(&req, &opts(&mock)).await.unwrap();
    assert_eq!(resp.text(), Some("391"));
    let sent = mock.requests()[0].json();
    for absent in ["drop_params", "n", "presence_penalty"] {
        assert!(sent.get(absent).is_none(), "{absent} sent: {sent}");
    }
    assert_eq!(sent["temperature"], 0.2);
}

#[tokio::test]
async fn allowed_openai_params_sends_one_anyway_and_additional_drop_params_drops_a_carried_one() {
    let mock = Mock::start(vec![anthropic_ok()]).await;
    let client = Client::new().unwrap();
    let o = CallOptions {
        allowed_openai_params: vec!["seed".into()],
        additional_drop_params: vec!["temperature".into()],
        ..opts(&mock)
    };
    let req = request(json!({"seed": 7, "temperature": 0.2}));
    client.completion(&req, &o).await.unwrap();
    let sent = mock.requests()[0].json();
    assert_eq!(sent["seed"], 7, "{sent}");
    assert!(sent.get("temperature").is_none(), "{sent}");
}

#[tokio::test]
async fn an_unsupported_parameter_is_refused_before_anything_is_sent() {
    let mock = Mock::start(vec![anthropic_ok()]).await;
    let client = Client::new().unwrap();
    let e = client
        .completion(&request(json!({"logit_bias": {"1": 5}})), &opts(&mock))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert_eq!(e.details().param(), Some("logit_bias"));
    assert!(
        e.message().contains("`logit_bias`") && e.message().contains("Anthropic"),
        "{e}"
    );
    assert!(mock.requests().is_empty());
    // The same request streamed is refused the same way.
    let mut streamed = request(json!({"logit_bias": {"1": 5}}));
    streamed.stream = Some(true);
    let e = client.stream(&streamed, &opts(&mock)).await.err().unwrap();
    assert_eq!(e.details().param(), Some("logit_bias"));
}

fn router_config(router_drop: bool, deployment_drop: Option<bool>, mock: &Mock) -> RouterConfig {
    let mut d = DeploymentConfig::new("claude", "anthropic/claude-sonnet-4-5")
        .api_key("k")
        .api_base(mock.url.clone());
    d.drop_params = deployment_drop;
    let mut c = RouterConfig::default();
    c.router.retries = 0;
    c.router.drop_params = router_drop;
    c.deployments = vec![d];
    c
}

#[tokio::test]
async fn drop_params_in_router_applies_unless_a_deployment_says_otherwise() {
    let mut req = request(json!({"n": 2}));
    req.model = "claude".into();
    let mock = Mock::start(vec![anthropic_ok()]).await;
    let router = Router::new(Client::new().unwrap(), router_config(true, None, &mock)).unwrap();
    let routed = router
        .completion(&req, &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(routed.response.text(), Some("391"));
    assert!(mock.requests()[0].json().get("n").is_none());

    let mock = Mock::start(vec![anthropic_ok()]).await;
    let router = Router::new(
        Client::new().unwrap(),
        router_config(true, Some(false), &mock),
    )
    .unwrap();
    let e = router
        .completion(&req, &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
    assert!(mock.requests().is_empty());
}

async fn proxy_post(state: Arc<AppState>, body: Value) -> (u16, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app(state).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn proxy(mock: &Mock) -> Arc<AppState> {
    let c = ServerConfig {
        router: router_config(false, None, mock),
        ..Default::default()
    };
    Arc::new(AppState::new(Client::new().unwrap(), c).unwrap())
}

#[tokio::test]
async fn the_proxy_answers_an_unsupported_parameter_with_a_400_naming_it_or_drops_it_when_asked() {
    let mock = Mock::start(vec![anthropic_ok()]).await;
    let state = proxy(&mock);
    let body = json!({"model": "claude", "n": 3, "messages": [{"role": "user", "content": "hi"}]});
    let (status, err) = proxy_post(state.clone(), body.clone()).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["param"], "n", "{err}");
    assert_eq!(err["error"]["code"], "unsupported_parameter", "{err}");
    assert!(mock.requests().is_empty());

    let mut dropped = body;
    dropped["drop_params"] = json!(true);
    let (status, answer) = proxy_post(state, dropped).await;
    assert_eq!(status, 200, "{answer}");
    let sent = mock.requests()[0].json();
    assert!(
        sent.get("n").is_none() && sent.get("drop_params").is_none(),
        "{sent}"
    );
}

fn ollama_ok() -> Reply {
    Reply::json(
        200,
        &json!({"model": "llava", "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "a cat"},
            "done": true, "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 3}),
    )
}

fn image_request(url: &str) -> ChatRequest {
    serde_json::from_value(
        json!({"model": "ollama/llava", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url}}]}]}),
    )
    .unwrap()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really a picture";

#[tokio::test]
async fn an_image_url_is_fetched_and_sent_as_bytes_to_a_provider_that_takes_bytes_only() {
    // The image host and the API are one mock: the fetch comes first.
    let mock = Mock::start(vec![Reply::raw(200, "image/png", PNG), ollama_ok()]).await;
    let client = Client::new().unwrap();
    let req = image_request(&format!("{}/cat.png?size=large", mock.url));
    let resp = client.completion(&req, &opts(&mock)).await.unwrap();
    assert_eq!(resp.text(), Some("a cat"));
    let seen = mock.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].target, "/cat.png?size=large");
    let sent = seen[1].json();
    let b64 = base64::engine::general_purpose::STANDARD.encode(PNG);
    assert_eq!(sent["messages"][0]["images"], json!([b64]), "{sent}");
}

#[tokio::test]
async fn an_image_url_is_not_fetched_when_the_call_forbids_it_nor_past_the_size_cap() {
    let mock = Mock::start(vec![Reply::raw(200, "image/png", PNG), ollama_ok()]).await;
    let client = Client::new().unwrap();
    let req = image_request(&format!("{}/cat.png", mock.url));
    let off = CallOptions {
        fetch_image_urls: Some(false),
        ..opts(&mock)
    };
    let e = client.completion(&req, &off).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert!(e.message().contains("fetch_image_urls"), "{e}");
    assert!(mock.requests().is_empty());

    let mut small = opts(&mock);
    small.limits.max_body_bytes = 8;
    let e = client.completion(&req, &small).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
    assert!(e.message().contains("could not fetch the image"), "{e}");
    assert_eq!(mock.requests().len(), 1, "the API was never called");

    let page = Mock::start(vec![Reply::raw(200, "text/html", "<html></html>")]).await;
    let e = client
        .completion(&image_request(&format!("{}/x.png", page.url)), &opts(&page))
        .await
        .unwrap_err();
    assert!(e.message().contains("is not an image"), "{e}");
}

#[tokio::test]
async fn the_proxy_fetches_no_image_url_unless_a_deployment_allows_it() {
    let mock = Mock::start(vec![Reply::raw(200, "image/png", PNG), ollama_ok()]).await;
    let deployment = |allow: Option<bool>| {
        let mut d = DeploymentConfig::new("llava", "ollama/llava").api_base(mock.url.clone());
        d.fetch_image_urls = allow;
        let mut c = ServerConfig::default();
        c.router.router.retries = 0;
        c.router.deployments = vec![d];
        Arc::new(AppState::new(Client::new().unwrap(), c).unwrap())
    };
    let body = json!({"model": "llava", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": format!("{}/cat.png", mock.url)}}]}]});
    let (status, err) = proxy_post(deployment(None), body.clone()).await;
    assert_eq!(status, 400, "{err}");
    assert!(mock.requests().is_empty());
    let (status, answer) = proxy_post(deployment(Some(true)), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(mock.requests().len(), 2);
}

/// The binary, its environment cleared of provider variables but `env`.
async fn switchboard(args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args).stdin(Stdio::null()).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("run switchboard")
}

#[tokio::test]
async fn base_urls_come_from_the_environment_as_litellm_reads_them() {
    let openai = Mock::start(vec![Reply::openai_chat("from env", 3, 2)]).await;
    let anthropic = Mock::start(vec![anthropic_ok()]).await;
    let groq = Mock::start(vec![Reply::openai_chat("groq env", 3, 2)]).await;
    let cases = [
        (
            "openai/gpt-4o-mini",
            "OPENAI_API_BASE",
            format!("{}/v1", openai.url),
            &openai,
            "/v1/chat/completions",
        ),
        (
            "openai/gpt-4o-mini",
            "OPENAI_BASE_URL",
            format!("{}/v1/", openai.url),
            &openai,
            "/v1/chat/completions",
        ),
        (
            "anthropic/claude-sonnet-4-5",
            "ANTHROPIC_BASE_URL",
            anthropic.url.clone(),
            &anthropic,
            "/v1/messages",
        ),
        // Every other spec: <ID>_API_BASE.
        (
            "groq/llama-3.3-70b",
            "GROQ_API_BASE",
            format!("{}/openai/v1", groq.url),
            &groq,
            "/openai/v1/chat/completions",
        ),
    ];
    for (i, (model, var, base, mock, path)) in cases.iter().enumerate() {
        let out = switchboard(
            &[
                "complete",
                "--model",
                model,
                "--api-key",
                "k",
                "--json",
                "hi",
            ],
            &[(var, base.clone())],
        )
        .await;
        assert!(
            out.status.success(),
            "{var}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen = mock.requests();
        let last = seen
            .last()
            .unwrap_or_else(|| panic!("{var}: nothing reached the mock ({i})"));
        assert_eq!(last.target, *path, "{var}");
    }
    // --api-base wins over the environment.
    let out = switchboard(
        &[
            "complete",
            "--model",
            "openai/gpt-4o-mini",
            "--api-key",
            "k",
            "--json",
            "--api-base",
            &format!("{}/v1", groq.url),
            "hi",
        ],
        &[("OPENAI_API_BASE", "http://127.0.0.1:9/v1".into())],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A value that is no URL is refused, naming the variable.
    let out = switchboard(
        &[
            "complete",
            "--model",
            "openai/gpt-4o-mini",
            "--api-key",
            "k",
            "--json",
            "hi",
        ],
        &[("OPENAI_API_BASE", "api.example.com".into())],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("OPENAI_API_BASE"));
}

#[tokio::test]
async fn providers_params_lists_what_a_provider_carries() {
    let out = switchboard(&["providers", "--params", "anthropic"], &[]).await;
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let library = Client::new()
        .unwrap()
        .supported_openai_params("anthropic/claude-sonnet-4-5")
        .unwrap();
    assert_eq!(listed, library);
    assert!(listed.contains(&"parallel_tool_calls".to_string()));
    assert!(!listed.contains(&"n".to_string()));
    let out = switchboard(
        &["providers", "gemini-2.5-flash", "--params", "--json"],
        &[],
    )
    .await;
    let list: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.contains(&"n".to_string()) && list.contains(&"logprobs".to_string()));
    let out = switchboard(&["providers", "--params", "no-such-provider"], &[]).await;
    assert!(!out.status.success());
}
