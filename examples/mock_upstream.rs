//! A fast local stand-in for an OpenAI-compatible upstream, for load
//! benchmarks (`scripts/bench_proxy.sh`): answers `POST
//! /v1/chat/completions` at once with a fixed completion, or, when the
//! request says `"stream": true`, with a short SSE stream (the first chunk
//! at once, the rest `MOCK_CHUNK_DELAY_MS` apart, default 5).
//!
//! ```sh
//! cargo run --release --example mock_upstream -- 127.0.0.1:9100
//! ```

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};

fn completion() -> Value {
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    })
}

fn chunk(delta: Value, finish: Value) -> Bytes {
    let c = json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    Bytes::from(format!("data: {c}\n\n"))
}

async fn chat(body: Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if req["stream"] != json!(true) {
        return axum::Json(completion()).into_response();
    }
    let delay = std::env::var("MOCK_CHUNK_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let events = vec![
        chunk(
            json!({"role": "assistant", "content": "Hello"}),
            Value::Null,
        ),
        chunk(json!({"content": " from"}), Value::Null),
        chunk(json!({"content": " the mock."}), Value::Null),
        chunk(json!({}), json!("stop")),
        Bytes::from_static(b"data: [DONE]\n\n"),
    ];
    let stream =
        futures::stream::iter(events.into_iter().enumerate()).then(move |(i, e)| async move {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            Ok::<_, std::convert::Infallible>(e)
        });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("mock upstream on http://{addr}/v1");
    axum::serve(listener, app).await
}
