//! A litellm `config.yaml`'s keys acting on calls through the proxy (issue
//! 12): `litellm_params` request defaults and headers (the caller's values
//! win), `order`, `router_settings.default_fallbacks` / `max_fallbacks`,
//! `model_group_alias`, `litellm_settings.drop_params`,
//! `general_settings.max_request_size_mb` and `allowed_ips`. Each config
//! is read as litellm writes it; mock upstreams on 127.0.0.1; the Router on
//! a manual clock.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::server::{AppState, ClientIp, ServerConfig, app};
use tower::ServiceExt;

use crate::server_litellm::{KEY, call, chat, server_of};
use crate::support::{Mock, Reply};

fn yaml(text: &str) -> ServerConfig {
    let (config, _warnings) = ServerConfig::from_litellm_yaml(text, "config.yaml").unwrap();
    config
}

fn hi(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

fn failing() -> Reply {
    Reply::json(
        500,
        &json!({"error": {"message": "boom", "type": "server_error"}}),
    )
}

#[tokio::test]
async fn litellm_params_defaults_and_headers_reach_the_upstream_and_the_caller_wins() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let config = yaml(&format!(
        "model_list:
  - model_name: tuned
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: {}/v1
      api_key: sk-upstream
      temperature: 0.2
      max_tokens: 256
      seed: 11
      stop: [\"END\"]
      extra_headers: {{X-Team: research}}
      organization: org-123
general_settings: {{master_key: {KEY}}}
router_settings: {{num_retries: 0}}
",
        up.url
    ));
    let (app, _) = server_of(config);
    let (status, answer) = chat(&app, hi("tuned", json!({"temperature": 0.9}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let seen = &up.requests()[0];
    let sent = seen.json();
    assert_eq!(sent["temperature"], 0.9, "the caller's value wins: {sent}");
    assert_eq!(sent["max_tokens"], 256);
    assert_eq!(sent["seed"], 11);
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(seen.header("x-team"), Some("research"));
    assert_eq!(seen.header("openai-organization"), Some("org-123"));
}

#[tokio::test]
async fn order_sends_calls_to_the_lowest_order_first_then_the_next() {
    let first = Mock::start(vec![
        Reply::openai_chat("first", 3, 1),
        Reply::openai_chat("first", 3, 1),
        failing(),
    ])
    .await;
    let second = Mock::start(vec![Reply::openai_chat("second", 3, 1)]).await;
    let config = yaml(&format!(
        "model_list:
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}/v1, api_key: k, order: 2, weight: 1000}}
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}/v1, api_key: k, order: 1}}
router_settings: {{num_retries: 1, retry_after: 0}}
general_settings: {{master_key: {KEY}}}
",
        second.url, first.url
    ));
    let (app, _) = server_of(config);
    for _ in 0..2 {
        let (status, answer) = chat(&app, hi("g", json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["choices"][0]["message"]["content"], "first");
    }
    assert!(
        second.requests().is_empty(),
        "order 1 takes every call first"
    );
    // When order 1 fails, the retry goes to order 2.
    let (status, answer) = chat(&app, hi("g", json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "second");
}

#[tokio::test]
async fn default_fallbacks_apply_to_every_group_and_max_fallbacks_caps_them() {
    let a = Mock::start(vec![failing()]).await;
    let b = Mock::start(vec![failing()]).await;
    let c = Mock::start(vec![Reply::openai_chat("from c", 3, 1)]).await;
    let text = |max: u32| {
        format!(
            "model_list:
  - model_name: a
    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}/v1, api_key: k}}
  - model_name: b
    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}/v1, api_key: k}}
  - model_name: c
    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}/v1, api_key: k}}
router_settings: {{num_retries: 0, default_fallbacks: [b, c], max_fallbacks: {max}}}
general_settings: {{master_key: {KEY}}}
",
            a.url, b.url, c.url
        )
    };
    let (app, _) = server_of(yaml(&text(1)));
    let (status, _) = chat(&app, hi("a", json!({}))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));
    assert!(c.requests().is_empty(), "max_fallbacks 1 stops after b");

    let (app, _) = server_of(yaml(&text(2)));
    let (status, answer) = chat(&app, hi("a", json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "from c");
}

#[tokio::test]
async fn a_model_group_alias_is_its_group() {
    let up = Mock::start(vec![Reply::openai_chat("via alias", 3, 1)]).await;
    let config = yaml(&format!(
        "model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: {}/v1, api_key: k}}
router_settings:
  num_retries: 0
  model_group_alias: {{gpt4: gpt-4o, hidden-one: {{model: gpt-4o, hidden: true}}}}
general_settings: {{master_key: {KEY}}}
",
        up.url
    ));
    let (app, _) = server_of(config);
    for alias in ["gpt4", "hidden-one"] {
        let (status, answer) = chat(&app, hi(alias, json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{alias}: {answer}");
        assert_eq!(answer["choices"][0]["message"]["content"], "via alias");
    }
    assert_eq!(up.requests()[0].json()["model"], "gpt-4o");
    // An alias of a group that does not exist stops the start.
    let bad = yaml(
        "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o}\nrouter_settings: {model_group_alias: {x: nope}}\n",
    );
    let e = AppState::new(Client::new().unwrap(), bad)
        .err()
        .expect("refused");
    assert!(e.message().contains("model-group-alias"), "{e}");
}

#[tokio::test]
async fn drop_params_from_litellm_settings_drops_what_the_provider_does_not_carry() {
    // A user's provider that carries no `seed`.
    let dir = std::env::temp_dir().join(format!("switchboard-dropparams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("acme.toml"),
        "extends = \"openai\"\nname = \"Acme\"\nbase-url = \"https://acme.invalid/v1\"\n\
         auth = { scheme = \"bearer\", env = \"ACME_TEST_SURELY_UNSET_KEY\" }\n\
         [openai-params]\nseed = false\n",
    )
    .unwrap();
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let text = |drop: bool| {
        format!(
            "model_list:
  - model_name: g
    litellm_params: {{model: acme/large, api_base: {}/v1, api_key: k}}
litellm_settings: {{drop_params: {drop}}}
router_settings: {{num_retries: 0}}
",
            up.url
        )
    };
    let serve = |config: ServerConfig| {
        let client = Client::with_spec_dir(&dir).unwrap();
        app(Arc::new(AppState::new(client, config).unwrap()))
    };
    let app_drop = serve(yaml(&text(true)));
    let (status, answer) = call(
        &app_drop,
        "POST",
        "/v1/chat/completions",
        "",
        Some(hi("g", json!({"seed": 3}))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(up.requests()[0].json().get("seed").is_none());
    let app_strict = serve(yaml(&text(false)));
    let (status, answer) = call(
        &app_strict,
        "POST",
        "/v1/chat/completions",
        "",
        Some(hi("g", json!({"seed": 3}))),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "unsupported_parameter");
}

async fn from(app: &axum::Router, ip: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    if let Some(ip) = ip {
        req.extensions_mut()
            .insert(ClientIp(ip.parse::<IpAddr>().unwrap()));
    }
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn allowed_ips_refuse_other_clients_and_max_request_size_mb_caps_bodies() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let config = yaml(&format!(
        "model_list:
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}/v1, api_key: k}}
general_settings:
  master_key: {KEY}
  allowed_ips: [\"10.0.0.0/8\", \"127.0.0.1\"]
  max_request_size_mb: 1
",
        up.url
    ));
    let (app, _) = server_of(config);
    let body = hi("g", json!({})).to_string().into_bytes();
    let (status, _) = from(&app, Some("10.1.2.3"), body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    for ip in [Some("192.168.0.9"), None] {
        let (status, answer) = from(&app, ip, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{ip:?}: {answer}");
        assert_eq!(answer["error"]["code"], "ip_not_allowed");
    }
    // Health probes too: the whole server is closed to them.
    let (status, _) = call(&app, "GET", "/health/readiness", "", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(up.requests().len(), 1);

    let mut big = hi("g", json!({})).to_string();
    big.insert_str(1, &format!("\"pad\": \"{}\",", "x".repeat(1024 * 1024)));
    let (status, answer) = from(&app, Some("127.0.0.1"), big.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");

    // A bad entry stops the start, naming it.
    let bad = yaml(
        "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o}\ngeneral_settings: {allowed_ips: [\"10.0.0.0/40\"]}\n",
    );
    let e = AppState::new(Client::new().unwrap(), bad)
        .err()
        .expect("refused");
    assert!(e.message().contains("10.0.0.0/40"), "{e}");
}
