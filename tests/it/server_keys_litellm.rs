//! `/key/generate` as litellm's admin clients call it (issue 12): its
//! common fields accepted, `max_parallel_requests` enforced (429 past the
//! cap; a slot freed when a call finishes, fails or is cut, streams
//! included), the fields with no meaning here kept in `metadata` with a
//! warning each, and `/key/info` showing them. In-memory SQLite, mock
//! upstreams on 127.0.0.1, through `tower::ServiceExt::oneshot`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::server::{AppState, ServerConfig, Store, app};
use tower::ServiceExt;

use crate::server_litellm::{KEY, call, dep};
use crate::support::{Mock, Reply};

async fn keyed_server(config: ServerConfig) -> axum::Router {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let state = AppState::new(Client::new().unwrap(), config)
        .unwrap()
        .with_store(store);
    app(Arc::new(state))
}

fn config(deployments: Vec<switchboard::router::DeploymentConfig>) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.server.master_key = Some(KEY.into());
    c.router.router.retries = 0;
    c.router.deployments = deployments;
    c
}

fn hi(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn key_generate_takes_litellms_fields_and_keeps_the_rest_with_warnings() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let app = keyed_server(config(vec![dep("chat", "openai/gpt-4o-mini", &up)])).await;
    let (status, made) = call(
        &app,
        "POST",
        "/key/generate",
        KEY,
        Some(json!({
            "key_alias": "ci-bot",
            "models": ["chat"],
            "max_budget": 10.0,
            "budget_duration": "30d",
            "duration": "7d",
            "rpm_limit": 100,
            "tpm_limit": 10000,
            "max_parallel_requests": 2,
            "metadata": {"owner": "ci"},
            "user_id": "u-1",
            "team_id": "t-1",
            "tags": ["prod"],
            "some_future_field": {"x": 1},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["max_parallel_requests"], 2);
    assert_eq!(made["key_alias"], "ci-bot");
    assert_eq!(made["rpm_limit"], 100);
    let warnings: Vec<&str> = made["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    for field in ["user_id", "team_id", "tags", "some_future_field"] {
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&format!("{field} is stored in metadata, not enforced"))),
            "{field}: {warnings:?}"
        );
    }
    let key = made["key"].as_str().unwrap();
    let (status, info) = call(&app, "GET", &format!("/key/info?key={key}"), KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let info = &info["info"];
    assert_eq!(info["max_parallel_requests"], 2);
    assert_eq!(info["budget_duration"], "30d");
    assert_eq!(
        info["metadata"],
        json!({"owner": "ci", "user_id": "u-1", "team_id": "t-1", "tags": ["prod"],
            "some_future_field": {"x": 1}})
    );

    // /key/update takes them too, and answers with its own warnings.
    let (status, updated) = call(
        &app,
        "POST",
        "/key/update",
        KEY,
        Some(json!({"key": key, "max_parallel_requests": 5, "team_id": "t-2"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["info"]["max_parallel_requests"], 5);
    assert_eq!(updated["info"]["metadata"]["team_id"], "t-2");
    assert_eq!(updated["warnings"].as_array().unwrap().len(), 1);

    // Absurd values of the fields it enforces are still a 400 naming them.
    let (status, e) = call(
        &app,
        "POST",
        "/key/generate",
        KEY,
        Some(json!({"max_parallel_requests": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["param"], "max_parallel_requests", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_parallel_requests must be ≥ 1"),
        "{e}"
    );
}

/// An OpenAI stream that sends its first event, then stalls (connection open).
fn stalled_stream() -> Reply {
    let first = format!(
        "data: {}\n\n",
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": null}]})
    );
    let n = first.len();
    Reply::stream("text/event-stream", format!("{first}data: [DONE]\n\n")).stalled_after(n)
}

/// Starts a streamed call and returns its open body once the head is in.
async fn open_stream(app: &axum::Router, key: &str) -> Body {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(hi("held", true).to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body().into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Hel"));
    Body::from_stream(body)
}

#[tokio::test]
async fn max_parallel_requests_caps_calls_in_flight_and_every_end_frees_a_slot() {
    let held = Mock::start(vec![stalled_stream()]).await;
    let fine = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let failing = Mock::start(vec![Reply::json(
        500,
        &json!({"error": {"message": "boom", "type": "server_error"}}),
    )])
    .await;
    let app = keyed_server(config(vec![
        dep("held", "openai/gpt-4o-mini", &held),
        dep("fine", "openai/gpt-4o-mini", &fine),
        dep("failing", "openai/gpt-4o-mini", &failing),
    ]))
    .await;
    let (_, made) = call(
        &app,
        "POST",
        "/key/generate",
        KEY,
        Some(json!({"max_parallel_requests": 2})),
    )
    .await;
    let key = made["key"].as_str().unwrap().to_string();

    let first = open_stream(&app, &key).await;
    let second = open_stream(&app, &key).await;
    let (status, refused) = call(
        &app,
        "POST",
        "/v1/chat/completions",
        &key,
        Some(hi("fine", false)),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"]["code"], "parallel_request_limit_reached");
    assert_eq!(fine.requests().len(), 0, "refused before any upstream call");
    // Another key, or the master key, is not held back by this one.
    let (status, _) = call(
        &app,
        "POST",
        "/v1/chat/completions",
        KEY,
        Some(hi("fine", false)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The client goes away from one stream: its slot is free.
    drop(first);
    for _ in 0..3 {
        // Finished and failed calls give their slot back too.
        let (status, answer) = call(
            &app,
            "POST",
            "/v1/chat/completions",
            &key,
            Some(hi("fine", false)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, _) = call(
            &app,
            "POST",
            "/v1/chat/completions",
            &key,
            Some(hi("failing", false)),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    // A refused call (a model the key may not use) holds nothing either.
    let (status, _) = call(
        &app,
        "POST",
        "/v1/chat/completions",
        &key,
        Some(hi("nope", false)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let third = open_stream(&app, &key).await;
    let (status, _) = call(
        &app,
        "POST",
        "/v1/chat/completions",
        &key,
        Some(hi("fine", false)),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    drop((second, third));
    let (status, _) = call(
        &app,
        "POST",
        "/v1/chat/completions",
        &key,
        Some(hi("fine", false)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn model_info_routes_answer_in_litellms_shapes_for_what_the_key_may_use() {
    let up = Mock::start(vec![Reply::openai_chat("ok", 3, 1)]).await;
    let mut chat = dep("chat", "openai/gpt-4o-mini", &up);
    chat.rpm = Some(100);
    let app = keyed_server(config(vec![
        chat,
        dep("secret-group", "openai/gpt-4o", &up),
    ]))
    .await;

    let (status, all) = call(&app, "GET", "/v1/model/info", KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    assert!(
        !all.to_string().contains("upstream-key"),
        "a key leaked: {all}"
    );
    let entry = &all["data"][0];
    assert_eq!(entry["model_name"], "chat");
    assert_eq!(entry["litellm_params"]["model"], "openai/gpt-4o-mini");
    assert_eq!(entry["litellm_params"]["rpm"], 100);
    assert_eq!(
        entry["litellm_params"]["api_base"],
        format!("{}/v1", up.url)
    );
    assert!(entry["litellm_params"].get("api_key").is_none());
    let info = &entry["model_info"];
    assert_eq!(info["id"], "chat-dep");
    assert_eq!(info["litellm_provider"], "openai");
    assert_eq!(info["mode"], "chat");
    assert_eq!(info["max_input_tokens"], 128000);
    assert_eq!(info["max_output_tokens"], 16384);
    // pricing/openai.toml: $0.15 and $0.60 per million tokens.
    assert!((info["input_cost_per_token"].as_f64().unwrap() - 0.15e-6).abs() < 1e-15);
    assert!((info["output_cost_per_token"].as_f64().unwrap() - 0.6e-6).abs() < 1e-15);
    assert_eq!(info["supports_vision"], true);
    assert_eq!(info["supports_function_calling"], true);
    assert!(
        info["supported_openai_params"]
            .as_array()
            .unwrap()
            .contains(&json!("temperature"))
    );

    let (status, groups) = call(&app, "GET", "/model_group/info", KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    let g = &groups["data"][0];
    assert_eq!(g["model_group"], "chat");
    assert_eq!(g["providers"], json!(["openai"]));
    assert_eq!(g["max_input_tokens"], 128000);
    assert_eq!(g["rpm"], 100);
    assert_eq!(g["tpm"], Value::Null);
    assert_eq!(g["mode"], "chat");
    assert_eq!(g["supports_parallel_function_calling"], true);
    let (_, one) = call(
        &app,
        "GET",
        "/model_group/info?model_group=secret-group",
        KEY,
        None,
    )
    .await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["data"][0]["model_group"], "secret-group");

    // A key limited to `chat` sees nothing of the other group.
    let (_, made) = call(
        &app,
        "POST",
        "/key/generate",
        KEY,
        Some(json!({"models": ["chat"]})),
    )
    .await;
    let key = made["key"].as_str().unwrap();
    for path in ["/v1/model/info", "/model_group/info", "/model/info"] {
        let (status, seen) = call(&app, "GET", path, key, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {seen}");
        assert_eq!(seen["data"].as_array().unwrap().len(), 1, "{path}: {seen}");
        assert!(!seen.to_string().contains("secret-group"), "{path}: {seen}");
    }
    // And no key at all is a 401, as for /v1/models.
    let (status, _) = call(&app, "GET", "/v1/model/info", "sk-wrong", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
