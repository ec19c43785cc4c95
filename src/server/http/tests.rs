//! The HTTP surface's tests that need what only a test build has: a route
//! that panics, and the body reader's internals under random input.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

use super::{app, body};
use crate::server::{AppState, ServerConfig};
use crate::types::ChatRequest;

/// `GET /__test/panic` (test builds only): a handler bug.
pub(super) async fn panic() -> &'static str {
    panic!("a handler bug, on purpose")
}

fn state() -> Arc<AppState> {
    let config = ServerConfig::one_model("openai/gpt-4o-mini");
    Arc::new(AppState::new(crate::Client::new().unwrap(), config).unwrap())
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_panicking_handler_answers_500_in_json_is_counted_and_the_server_serves_on() {
    let app = app(state());
    let (status, body) = get(&app, "/__test/panic").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"]["code"], "internal_error", "{json}");
    assert!(json["error"]["message"].is_string(), "{json}");
    let (_, metrics) = get(&app, "/metrics").await;
    assert!(
        metrics.contains("switchboard_panics_total{route=\"other\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(get(&app, "/health/liveliness").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_panicking_handler_on_a_socket_answers_500_in_json_and_the_connection_serves_on() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(super::serve(listener, state(), std::future::pending()));
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{base}/__test/panic"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["error"]["code"], "internal_error", "{json}");
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_panics_total{route=\"other\"} 1\n"),
        "{metrics}"
    );
}

/// What the chat handler does with a body before routing it.
async fn read_chat(bytes: Vec<u8>) -> Result<ChatRequest, super::error::ApiError> {
    let limits = body::Limits {
        max_bytes: 4096,
        timeout: std::time::Duration::from_secs(5),
    };
    let bytes = body::read(&HeaderMap::new(), Body::from(bytes), limits).await?;
    let req: ChatRequest = body::typed(body::object(&bytes)?)?;
    req.validate()
        .map_err(|e| super::error::ApiError::invalid(e.message(), Some(e.param().to_string())))?;
    Ok(req)
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z\"\\\\{}é\u{0}-\u{1f}]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("role".to_string()),
                    Just("content".to_string()),
                    Just("tool_call_id".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A chat-shaped body: known fields with arbitrary values.
fn chat_shaped() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("model"),
        Just("messages"),
        Just("temperature"),
        Just("n"),
        Just("stop"),
        Just("logit_bias"),
        Just("top_logprobs"),
        Just("max_tokens"),
        Just("stream"),
        Just("tools"),
    ];
    prop::collection::vec((field, json()), 0..6).prop_map(|fields| {
        let mut body =
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        for (k, v) in fields {
            body[k] = v;
        }
        body.to_string().into_bytes()
    })
}

fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(read_chat(bytes)) {
        Ok(req) => prop_assert!(!req.messages.is_empty()),
        Err(e) => {
            prop_assert!(e.status().is_client_error(), "{:?}", e.status());
            prop_assert!(e.body()["error"]["message"].is_string());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn random_bytes_are_a_typed_4xx_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check(bytes)?;
    }

    #[test]
    fn chat_shaped_json_is_a_typed_request_or_a_typed_4xx(bytes in chat_shaped()) {
        check(bytes)?;
    }
}
