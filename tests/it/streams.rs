//! Calls through a mock upstream on 127.0.0.1: streams that end badly end
//! in an error (never silently), errors inside a 200 stream are typed,
//! tool-call fragments join, and transport failures are typed too.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use switchboard::{CallOptions, ChatChunk, ChatRequest, Client, Error, ErrorKind};

use crate::support::{Mock, Reply};

fn opts(api_base: String) -> CallOptions {
    CallOptions {
        api_key: Some("test-key".into()),
        api_base: Some(api_base),
        ..Default::default()
    }
}

pub(crate) fn stream_req(model: &str) -> ChatRequest {
    let mut req = ChatRequest::new(model).user("hi");
    req.stream = Some(true);
    req
}

/// Collects a stream: the chunks before the first error, and that error.
pub(crate) async fn collect(
    client: &Client,
    req: &ChatRequest,
    opts: &CallOptions,
) -> (Vec<ChatChunk>, Option<Error>) {
    let mut stream = match client.stream(req, opts).await {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(c) => chunks.push(c),
            Err(e) => return (chunks, Some(e)),
        }
    }
    (chunks, None)
}

pub(crate) fn text(chunks: &[ChatChunk]) -> String {
    chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .filter_map(|c| c.delta.content.as_deref())
        .collect()
}

fn sse(events: &[(&str, serde_json::Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn anthropic_events(stop: bool) -> String {
    let mut ev = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 7, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
        ),
    ];
    if stop {
        ev.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        ev.push(("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}})));
        ev.push(("message_stop", json!({"type": "message_stop"})));
    }
    sse(&ev)
}

#[tokio::test]
async fn a_stream_that_ends_before_its_end_event_is_an_error_after_the_text_so_far() {
    let mock = Mock::start(vec![Reply::stream(
        "text/event-stream",
        anthropic_events(false),
    )])
    .await;
    let client = Client::new().unwrap();
    let (chunks, err) = collect(
        &client,
        &stream_req("anthropic/claude-x"),
        &opts(mock.url.clone()),
    )
    .await;
    assert_eq!(text(&chunks), "Hello");
    let err = err.expect("a cut stream must end in an error");
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(err.to_string().contains("anthropic/claude-x"), "{err}");
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_an_error() {
    let body = anthropic_events(true);
    let mut reply = Reply::stream("text/event-stream", body.clone());
    reply.cut_after = Some(body.len() / 2);
    let mock = Mock::start(vec![reply]).await;
    let client = Client::new().unwrap();
    let (_, err) = collect(
        &client,
        &stream_req("anthropic/claude-x"),
        &opts(mock.url.clone()),
    )
    .await;
    assert!(
        err.is_some(),
        "a dropped connection must not end the stream silently"
    );
}

#[tokio::test]
async fn a_complete_stream_ends_with_finish_reason_and_usage() {
    let mock = Mock::start(vec![Reply::stream(
        "text/event-stream",
        anthropic_events(true),
    )])
    .await;
    let client = Client::new().unwrap();
    let mut req = stream_req("anthropic/claude-x");
    req.stream_options = Some(switchboard::StreamOptions {
        include_usage: Some(true),
    });
    let (chunks, err) = collect(&client, &req, &opts(mock.url.clone())).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(text(&chunks), "Hello");
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert_eq!(chunks[0].id, "msg_1");
    let finish: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.finish_reason.as_deref())
        .collect();
    assert_eq!(finish, ["stop"]);
    let usage = chunks
        .last()
        .unwrap()
        .usage
        .clone()
        .expect("final usage chunk");
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (7, 3, 10)
    );
    assert!(chunks.last().unwrap().choices.is_empty());
}

#[tokio::test]
async fn an_error_event_inside_a_200_stream_is_typed() {
    let mut body = anthropic_events(false);
    body.push_str(&sse(&[(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )]));
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let client = Client::new().unwrap();
    let (chunks, err) = collect(
        &client,
        &stream_req("anthropic/claude-x"),
        &opts(mock.url.clone()),
    )
    .await;
    assert_eq!(text(&chunks), "Hello");
    let err = err.expect("error event");
    assert_eq!(err.kind(), ErrorKind::ServiceUnavailable);
    assert!(err.message().contains("Overloaded"));
}

#[tokio::test]
async fn an_openai_error_object_inside_a_200_stream_is_typed() {
    let body = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n\
                data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"code\":\"server_error\"}}\n\n";
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let client = Client::new().unwrap();
    let (chunks, err) = collect(
        &client,
        &stream_req("openai/gpt-x"),
        &opts(format!("{}/v1", mock.url)),
    )
    .await;
    assert_eq!(text(&chunks), "Hi");
    assert_eq!(err.expect("error").kind(), ErrorKind::Internal);
}

#[tokio::test]
async fn tool_call_fragments_join_under_a_dense_index() {
    // The tool_use block is the provider's block 1 (after a text block); OpenAI numbers tool calls from 0.
    let body = sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 5}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "ris\"}"}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let client = Client::new().unwrap();
    let (chunks, err) = collect(&client, &stream_req("anthropic/c"), &opts(mock.url.clone())).await;
    assert!(err.is_none(), "{err:?}");
    let deltas: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .flat_map(|c| &c.delta.tool_calls)
        .collect();
    assert!(deltas.iter().all(|d| d.index == 0));
    assert_eq!(deltas[0].id.as_deref(), Some("toolu_1"));
    assert_eq!(deltas[0].function.name.as_deref(), Some("get_weather"));
    let args: String = deltas
        .iter()
        .filter_map(|d| d.function.arguments.as_deref())
        .collect();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&args).unwrap(),
        json!({"city": "Paris"})
    );
    let finish: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.finish_reason.as_deref())
        .collect();
    assert_eq!(finish, ["tool_calls"]);
}

#[tokio::test]
async fn a_json_array_stream_is_read_by_its_content_type() {
    let body = "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Sc\"}],\"role\":\"model\"}}]}\n,\r\n\
                {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"oop\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],\
                \"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"totalTokenCount\":5}}]";
    let mock = Mock::start(vec![Reply::stream("application/json; charset=UTF-8", body)]).await;
    let client = Client::new().unwrap();
    let (chunks, err) = collect(
        &client,
        &stream_req("gemini/gemini-x"),
        &opts(mock.url.clone()),
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(text(&chunks), "Scoop");
}

#[tokio::test]
async fn rate_limits_carry_retry_after() {
    let reply = Reply::json(429, &json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))
        .header("retry-after", "2");
    let mock = Mock::start(vec![reply]).await;
    let client = Client::new().unwrap();
    let err = client
        .completion(
            &ChatRequest::new("openai/gpt-x").user("hi"),
            &opts(format!("{}/v1", mock.url)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimit);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(err.status(), Some(429));
    assert_eq!(
        err.to_string(),
        "rate limit exceeded for openai/gpt-x (429, retry after 2s): Rate limit reached"
    );
}

#[tokio::test]
async fn a_silent_upstream_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept, never answer
        }
    });
    let client = Client::new().unwrap();
    let mut o = opts(url);
    o.timeout = Some(Duration::from_millis(300));
    let err = client
        .completion(&ChatRequest::new("anthropic/c").user("hi"), &o)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new().unwrap();
    let err = client
        .completion(&ChatRequest::new("anthropic/c").user("hi"), &opts(url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
}

#[tokio::test]
async fn mock_response_answers_without_any_network() {
    let client = Client::new().unwrap();
    let o = CallOptions {
        mock_response: Some("Hello there world".into()),
        api_base: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    };
    let resp = client
        .completion(&ChatRequest::new("anthropic/claude-x").user("hi"), &o)
        .await
        .unwrap();
    assert_eq!(resp.text(), Some("Hello there world"));
    assert!(resp.usage.as_ref().unwrap().completion_tokens > 0);
    let (chunks, err) = collect(&client, &stream_req("gemini/gemini-x"), &o).await;
    assert!(err.is_none());
    assert_eq!(text(&chunks), "Hello there world");
}

#[tokio::test]
async fn a_missing_key_fails_before_any_request() {
    let dir = std::env::temp_dir().join(format!("sb-nokey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("acme.toml"),
        "extends = \"openai\"\nbase-url = \"http://127.0.0.1:9\"\nauth = { scheme = \"bearer\", env = \"SWITCHBOARD_TEST_KEY_THAT_IS_NEVER_SET\" }\n",
    )
    .unwrap();
    let client = Client::with_spec_dir(&dir).unwrap();
    let err = client
        .completion(
            &ChatRequest::new("acme/m").user("hi"),
            &CallOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(
        err.message()
            .contains("SWITCHBOARD_TEST_KEY_THAT_IS_NEVER_SET"),
        "{err}"
    );
}

#[tokio::test]
async fn a_user_spec_file_adds_a_provider_with_no_rust() {
    let mock = Mock::start(vec![Reply::json(200, &json!({
        "id": "c1", "object": "chat.completion", "created": 1, "model": "small",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    }))])
    .await;
    let dir = std::env::temp_dir().join(format!("sb-userspec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("acme.toml"),
        format!("extends = \"openai\"\nbase-url = \"{}/api\"\nmodel-prefixes = [\"acme-\"]\nauth = {{ scheme = \"header\", header = \"x-acme-key\", env = \"ACME_KEY\" }}\n", mock.url),
    )
    .unwrap();
    let client = Client::with_spec_dir(&dir).unwrap();
    let o = CallOptions {
        api_key: Some("k1".into()),
        ..Default::default()
    };
    let resp = client
        .completion(&ChatRequest::new("acme-small").user("ping"), &o)
        .await
        .unwrap();
    assert_eq!(resp.text(), Some("pong"));
    let seen = &mock.requests()[0];
    assert_eq!(seen.target, "/api/chat/completions");
    assert_eq!(seen.header("x-acme-key"), Some("k1"));
    assert_eq!(seen.json()["model"], "acme-small");
}
