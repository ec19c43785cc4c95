//! The Client against an upstream on 127.0.0.1 that misbehaves: odd
//! Retry-After values, pages that are not JSON, stalls before the head and
//! mid-stream, slow drips, endless bodies and events, errors that echo the
//! request's headers. Each ends in a typed error (never a panic, a hang or
//! unbounded memory) that holds no secret, or in a normal answer.

use std::time::Duration;

use serde_json::json;
use switchboard::{CallOptions, ChatChunk, ChatRequest, Client, Error, ErrorKind, Limits};

use crate::streams::{stream_req, text};
use crate::support::{Mock, Reply};

const KEY: &str = "sk-faults-secret-key-0123456789";

fn opts(api_base: String) -> CallOptions {
    CallOptions {
        api_key: Some(KEY.into()),
        api_base: Some(api_base),
        ..Default::default()
    }
}

fn with_limits(api_base: String, limits: Limits) -> CallOptions {
    CallOptions {
        limits,
        ..opts(api_base)
    }
}

fn chat() -> ChatRequest {
    ChatRequest::new("openai/gpt-x").user("hi")
}

async fn complete(o: &CallOptions) -> Error {
    Client::new()
        .unwrap()
        .completion(&chat(), o)
        .await
        .expect_err("the upstream misbehaves")
}

/// The chunks before the first error, and that error.
async fn collect(req: &ChatRequest, o: &CallOptions) -> (Vec<ChatChunk>, Option<Error>) {
    crate::streams::collect(&Client::new().unwrap(), req, o).await
}

fn openai_chunk(text: &str) -> String {
    format!(
        "data: {}\n\n",
        json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    )
}

fn openai_stream(words: &[&str]) -> String {
    let mut body: String = words.iter().map(|w| openai_chunk(w)).collect();
    body.push_str(&format!(
        "data: {}\n\ndata: [DONE]\n\n",
        json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    ));
    body
}

fn limited(reply: Reply, retry_after: &str) -> Reply {
    reply.header("retry-after", retry_after)
}

#[tokio::test]
async fn odd_retry_after_values_are_clamped_or_dropped_never_a_panic() {
    let now = std::time::SystemTime::now();
    let in_a_minute = httpdate::fmt_http_date(now + Duration::from_secs(60));
    let day = switchboard::duration::MAX_RETRY_AFTER;
    for (value, expected) in [
        ("1e20", Some(day)),
        ("18446744073709551616", Some(day)),
        ("inf", Some(day)),
        ("2.5", Some(Duration::from_millis(2500))),
        ("-1", None),
        ("NaN", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some(Duration::ZERO)),
    ] {
        let reply = Reply::json(
            429,
            &json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}),
        );
        let mock = Mock::start(vec![limited(reply, value)]).await;
        let e = complete(&opts(mock.url.clone())).await;
        assert_eq!(e.kind(), ErrorKind::RateLimit, "{value}: {e}");
        assert_eq!(e.retry_after(), expected, "{value}");
    }
    let reply = Reply::json(429, &json!({"error": {"message": "slow down"}}));
    let mock = Mock::start(vec![limited(reply, &in_a_minute)]).await;
    let after = complete(&opts(mock.url.clone()))
        .await
        .retry_after()
        .unwrap();
    // The date has whole seconds; however long the machine took since `now`
    // comes off the minute.
    let took = now.elapsed().unwrap_or_default();
    let least = Duration::from_secs(59).saturating_sub(took);
    assert!(
        after >= least && after <= Duration::from_secs(60),
        "{after:?} after {took:?}"
    );
}

#[tokio::test]
async fn a_page_that_is_not_json_is_a_bad_gateway() {
    let page = "<html><body><h1>502 Bad Gateway</h1> nginx</body></html>";
    let mock = Mock::start(vec![Reply::raw(200, "text/html", page)]).await;
    let e = complete(&opts(mock.url.clone())).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert_eq!(e.kind().http_status(), 502);
    assert!(
        e.message().contains("not JSON") && e.message().contains("nginx"),
        "{e}"
    );

    // The same page where a stream was expected.
    let mock = Mock::start(vec![Reply::raw(200, "text/html", page)]).await;
    let (chunks, e) = collect(&stream_req("openai/gpt-x"), &opts(mock.url.clone())).await;
    assert!(chunks.is_empty());
    assert_eq!(e.expect("an error").kind().http_status(), 502);

    // Garbage inside a JSON-array stream, and a garbage event inside an SSE stream.
    let mock = Mock::start(vec![Reply::stream(
        "application/json",
        "[{\"candidates\":[]}, garbage",
    )])
    .await;
    let (_, e) = collect(&stream_req("gemini/gemini-x"), &opts(mock.url.clone())).await;
    assert_eq!(e.expect("an error").kind(), ErrorKind::Connection);
    let body = format!("{}data: {{not json\n\n", openai_chunk("Hi"));
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let (chunks, e) = collect(&stream_req("openai/gpt-x"), &opts(mock.url.clone())).await;
    assert_eq!(text(&chunks), "Hi");
    assert_eq!(e.expect("an error").kind().http_status(), 502);
}

#[tokio::test]
async fn server_errors_keep_their_kind_and_status() {
    for (status, kind) in [
        (500, ErrorKind::Internal),
        (502, ErrorKind::ServiceUnavailable),
        (503, ErrorKind::ServiceUnavailable),
        (529, ErrorKind::ServiceUnavailable),
    ] {
        let mock = Mock::start(vec![Reply::raw(status, "text/html", "<h1>down</h1>")]).await;
        let e = complete(&opts(mock.url.clone())).await;
        assert_eq!((e.kind(), e.status()), (kind, Some(status)), "{e}");
    }
}

#[tokio::test]
async fn a_stall_before_the_head_times_out_within_the_first_byte_limit() {
    let mock = Mock::start(vec![Reply::hang()]).await;
    let limits = Limits {
        first_byte: Duration::from_millis(200),
        ..Limits::default()
    };
    let e = complete(&with_limits(mock.url.clone(), limits)).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.kind().http_status(), 504);
    assert!(e.message().contains("first-byte"), "{e}");
    let (_, e) = collect(
        &stream_req("openai/gpt-x"),
        &with_limits(mock.url.clone(), limits),
    )
    .await;
    assert_eq!(e.expect("an error").kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_stall_mid_stream_ends_in_a_timeout_after_the_text_so_far() {
    let body = openai_stream(&["Hel", "lo"]);
    let stall_at = openai_chunk("Hel").len() + openai_chunk("lo").len();
    let mock = Mock::start(vec![
        Reply::stream("text/event-stream", body).stalled_after(stall_at),
    ])
    .await;
    let limits = Limits {
        idle: Duration::from_millis(300),
        ..Limits::default()
    };
    let (chunks, e) = collect(
        &stream_req("openai/gpt-x"),
        &with_limits(mock.url.clone(), limits),
    )
    .await;
    assert_eq!(text(&chunks), "Hello");
    let e = e.expect("a stalled stream must not hang");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("idle"), "{e}");
}

#[tokio::test]
async fn a_stall_mid_body_of_a_json_answer_times_out() {
    let body = json!({"id": "c1", "choices": []}).to_string();
    let mock = Mock::start(vec![
        Reply::raw(200, "application/json", body).stalled_after(5),
    ])
    .await;
    let limits = Limits {
        idle: Duration::from_millis(200),
        ..Limits::default()
    };
    let e = complete(&with_limits(mock.url.clone(), limits)).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn a_slow_healthy_stream_outlives_the_calls_timeout() {
    let words = ["a", "b", "c", "d", "e", "f"];
    let body = openai_stream(&words);
    let mock = Mock::start(vec![
        Reply::stream("text/event-stream", body)
            .dripped(words.len() + 1, Duration::from_millis(100)),
    ])
    .await;
    let o = CallOptions {
        // The head comes at once; the answer takes about 0.6 s in all.
        timeout: Some(Duration::from_millis(250)),
        ..opts(mock.url.clone())
    };
    let (chunks, e) = collect(&stream_req("openai/gpt-x"), &o).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&chunks), "abcdef");
}

#[tokio::test]
async fn a_total_limit_ends_even_a_healthy_stream() {
    let mock = Mock::start(vec![
        Reply::endless("text/event-stream", openai_chunk("x"), ": keep-alive\n\n")
            .dripped(1, Duration::from_millis(20)),
    ])
    .await;
    let limits = Limits {
        total: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let (chunks, e) = collect(
        &stream_req("openai/gpt-x"),
        &with_limits(mock.url.clone(), limits),
    )
    .await;
    assert_eq!(text(&chunks), "x");
    let e = e.expect("the total limit must end it");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.message().contains("total"), "{e}");
}

#[tokio::test]
async fn an_endless_body_stops_at_the_size_cap() {
    let mock = Mock::start(vec![Reply::endless(
        "application/json",
        "{\"a\":\"",
        vec![b'x'; 64 * 1024],
    )])
    .await;
    let limits = Limits {
        max_body_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let e = complete(&with_limits(mock.url.clone(), limits)).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.message().contains("larger than 1048576 bytes"), "{e}");
}

#[tokio::test]
async fn one_endless_stream_event_stops_at_the_event_cap() {
    let mock = Mock::start(vec![Reply::endless(
        "text/event-stream",
        format!("{}data: {{\"x\":\"", openai_chunk("Hi")),
        vec![b'x'; 64 * 1024],
    )])
    .await;
    let limits = Limits {
        max_event_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let (chunks, e) = collect(
        &stream_req("openai/gpt-x"),
        &with_limits(mock.url.clone(), limits),
    )
    .await;
    assert_eq!(text(&chunks), "Hi");
    let e = e.expect("an endless event must end in an error");
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(e.message().contains("larger than 1048576 bytes"), "{e}");
}

#[tokio::test]
async fn an_error_that_echoes_the_request_never_shows_the_key() {
    // Bearer (the header has a known shape) and a custom header (only the key is known).
    for model in ["openai/gpt-x", "anthropic/claude-x"] {
        let mock = Mock::start(vec![Reply::echoing_headers(400)]).await;
        let e = Client::new()
            .unwrap()
            .completion(&ChatRequest::new(model).user("hi"), &opts(mock.url.clone()))
            .await
            .unwrap_err();
        let seen = mock.requests()[0].headers.clone();
        assert!(
            seen.iter().any(|(_, v)| v.contains(KEY)),
            "the key was sent"
        );
        let shown = format!("{e} {}", e.to_openai_json());
        assert!(
            !shown.contains(KEY) && !shown.contains("0123456789"),
            "{model}: {shown}"
        );
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}

#[tokio::test]
async fn a_stream_error_event_that_echoes_the_key_never_shows_it() {
    let body = format!(
        "{}data: {}\n\n",
        openai_chunk("Hi"),
        json!({"error": {"message": format!("key {KEY} is over quota"), "code": "insufficient_quota"}})
    );
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let (_, e) = collect(&stream_req("openai/gpt-x"), &opts(mock.url.clone())).await;
    let e = e.expect("the error event");
    assert_eq!(e.kind(), ErrorKind::RateLimit);
    assert!(!e.to_string().contains(KEY), "{e}");
}

#[tokio::test]
async fn transport_errors_show_the_url_without_its_query() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let base = format!("http://{addr}/v1?key=query-secret-value");
    let e = complete(&opts(base)).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(!e.to_string().contains("query-secret-value"), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("http://{addr}/v1/chat/completions")),
        "{e}"
    );

    let mock = Mock::start(vec![Reply::hang()]).await;
    let o = CallOptions {
        timeout: Some(Duration::from_millis(200)),
        ..opts(format!("{}/v1?key=query-secret-value", mock.url))
    };
    let e = complete(&o).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(!e.to_string().contains("query-secret-value"), "{e}");
}

#[tokio::test]
async fn a_base_url_with_a_query_gets_the_path_before_it() {
    let mock = Mock::start(vec![Reply::openai_chat("ok", 1, 1)]).await;
    let resp = Client::new()
        .unwrap()
        .completion(&chat(), &opts(format!("{}/v1?tenant=t1", mock.url)))
        .await
        .unwrap();
    assert_eq!(resp.text(), Some("ok"));
    assert_eq!(mock.requests()[0].target, "/v1/chat/completions?tenant=t1");
}

#[tokio::test]
async fn an_error_event_is_classified_like_the_same_error_response() {
    let error = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "messages: bad role"}});
    let mock = Mock::start(vec![Reply::json(400, &error)]).await;
    let as_response = Client::new()
        .unwrap()
        .completion(
            &ChatRequest::new("anthropic/claude-x").user("hi"),
            &opts(mock.url.clone()),
        )
        .await
        .unwrap_err();
    let body = format!("event: error\ndata: {error}\n\n");
    let mock = Mock::start(vec![Reply::stream("text/event-stream", body)]).await;
    let (_, as_event) = collect(&stream_req("anthropic/claude-x"), &opts(mock.url.clone())).await;
    let as_event = as_event.expect("the error event");
    assert_eq!(as_response.kind(), ErrorKind::BadRequest);
    assert_eq!(as_event.kind(), as_response.kind());
    assert_eq!(as_event.message(), as_response.message());
    assert_eq!(as_event.code(), Some("invalid_request_error"));
}
