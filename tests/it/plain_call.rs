//! litellm's plain call through the library: `completion(model, messages,
//! fallbacks=[…], context_window_fallbacks=[…], num_retries=…,
//! mock_response=…)` as `Client::completion` / `stream` with
//! `CallOptions`, against mock upstreams on 127.0.0.1 speaking OpenAI's and
//! Anthropic's wire formats. Which upstream is called, with which key, how
//! often, and what each attempt was.

use futures::StreamExt;
use serde_json::json;
use switchboard::{
    CallOptions, ChatRequest, ChatResponse, Client, ErrorKind, Fallback, MockResponse,
};

use crate::router::{ok, rate_limited};
use crate::support::{Mock, Reply};

/// A 503 that asks for no wait (the retry loop's clock is real here).
fn unavailable() -> Reply {
    Reply::json(
        503,
        &json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
    )
    .header("retry-after", "0")
}

fn context_too_long() -> Reply {
    Reply::json(
        400,
        &json!({"error": {"message": "This model's maximum context length is 8192 tokens.",
            "type": "invalid_request_error", "code": "context_length_exceeded"}}),
    )
}

/// A fallback served by `mock` with its own key.
fn to(model: &str, mock: &Mock, key: &str) -> Fallback {
    Fallback {
        api_key: Some(key.into()),
        api_base: Some(format!("{}/v1", mock.url)),
        ..Fallback::from(model)
    }
}

/// The call's own model, served by `mock` with key "primary-key".
fn primary(mock: &Mock) -> CallOptions {
    CallOptions {
        api_key: Some("primary-key".into()),
        api_base: Some(format!("{}/v1", mock.url)),
        ..Default::default()
    }
}

fn req() -> ChatRequest {
    ChatRequest::new("openai/gpt-4o").user("Summarize this.")
}

/// The text of a whole stream (every chunk must be Ok).
async fn streamed_text(mut stream: switchboard::ChatStream) -> String {
    let mut text = String::new();
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        text.push_str(c.choices[0].delta.content.as_deref().unwrap_or_default());
    }
    text
}

/// `req()` through a fresh client with `opts`.
async fn call(opts: &CallOptions) -> switchboard::Result<ChatResponse> {
    Client::new().unwrap().completion(&req(), opts).await
}

#[tokio::test]
async fn a_failing_model_falls_back_to_the_next_with_the_fallbacks_own_key() {
    let down = Mock::start(vec![unavailable()]).await;
    let first_fb = Mock::start(vec![unavailable()]).await;
    let up = Mock::start(vec![ok("from the fallback")]).await;
    let opts = CallOptions {
        fallbacks: vec![
            to("openai/gpt-4o-mini", &first_fb, "fb1-key"),
            to("openai/gpt-4.1-mini", &up, "fb2-key"),
        ],
        ..primary(&down)
    };
    let resp = call(&opts).await.unwrap();
    assert_eq!(resp.text(), Some("from the fallback"));
    // No retries unless asked (litellm's default): one try each, in order.
    assert_eq!(
        (
            down.requests().len(),
            first_fb.requests().len(),
            up.requests().len()
        ),
        (1, 1, 1)
    );
    let seen = &up.requests()[0];
    assert_eq!(seen.header("authorization"), Some("Bearer fb2-key"));
    assert_eq!(seen.json()["model"], "gpt-4.1-mini");
    assert_eq!(
        down.requests()[0].header("authorization"),
        Some("Bearer primary-key")
    );
}

#[tokio::test]
async fn when_every_model_fails_the_error_reports_every_attempt() {
    let down = Mock::start(vec![unavailable()]).await;
    let also = Mock::start(vec![rate_limited(0)]).await;
    let opts = CallOptions {
        fallbacks: vec![to("openai/gpt-4o-mini", &also, "k")],
        num_retries: Some(1),
        ..primary(&down)
    };
    let e = call(&opts).await.unwrap_err();
    let trail: Vec<_> = e
        .attempts()
        .iter()
        .map(|a| (a.model.as_str(), a.kind))
        .collect();
    assert_eq!(
        trail,
        [
            ("openai/gpt-4o", Some(ErrorKind::ServiceUnavailable)),
            ("openai/gpt-4o", Some(ErrorKind::ServiceUnavailable)),
            ("openai/gpt-4o-mini", Some(ErrorKind::RateLimit)),
            ("openai/gpt-4o-mini", Some(ErrorKind::RateLimit)),
        ]
    );
    assert_eq!(e.kind(), ErrorKind::RateLimit);
    let json = e.to_openai_json();
    assert_eq!(json["error"]["attempts"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn num_retries_retries_the_same_model_as_retry_after_says() {
    let m = Mock::start(vec![rate_limited(0), rate_limited(0), ok("third time")]).await;
    let opts = CallOptions {
        num_retries: Some(2),
        ..primary(&m)
    };
    let resp = call(&opts).await.unwrap();
    assert_eq!(resp.text(), Some("third time"));
    assert_eq!(m.requests().len(), 3);
}

#[tokio::test]
async fn a_context_window_error_goes_to_the_context_window_fallback_not_the_general_one() {
    let small = Mock::start(vec![context_too_long()]).await;
    let large = Mock::start(vec![ok("large")]).await;
    let general = Mock::start(vec![ok("general")]).await;
    let mut opts = CallOptions {
        fallbacks: vec![to("openai/gpt-4o-mini", &general, "g")],
        ..primary(&small)
    };
    // A table shared with other calls: the entry for another model is left out.
    opts.context_window_fallbacks
        .insert("acme/other".into(), vec!["nosuch/model".into()]);
    opts.context_window_fallbacks.insert(
        "openai/gpt-4o".into(),
        vec![to("openai/gpt-4.1", &large, "l")],
    );
    let resp = call(&opts).await.unwrap();
    assert_eq!(resp.text(), Some("large"));
    assert_eq!(general.requests().len(), 0);
    // Without a context-window fallback, the general one takes it (litellm's plain call).
    opts.context_window_fallbacks.clear();
    let resp = call(&opts).await.unwrap();
    assert_eq!(resp.text(), Some("general"));
}

#[tokio::test]
async fn a_content_policy_refusal_goes_to_the_content_policy_fallback() {
    let strict = Mock::start(vec![Reply::json(
        400,
        &json!({"error": {"message": "Your request was rejected by our safety system",
            "type": "invalid_request_error", "code": "content_policy_violation"}}),
    )])
    .await;
    let other = Mock::start(vec![ok("answered")]).await;
    let mut opts = primary(&strict);
    opts.content_policy_fallbacks.insert(
        "openai/gpt-4o".into(),
        vec![to("openai/gpt-4o-mini", &other, "k")],
    );
    let resp = call(&opts).await.unwrap();
    assert_eq!(resp.text(), Some("answered"));
    assert_eq!(strict.requests().len(), 1);
}

#[tokio::test]
async fn litellm_fields_in_the_request_are_acted_on_and_never_sent() {
    let down = Mock::start(vec![unavailable()]).await;
    let up = Mock::start(vec![ok("fallback")]).await;
    let mut r = req();
    r.extra.insert(
        "fallbacks".into(),
        json!([{"model": "openai/gpt-4o-mini", "api_key": "k2", "api_base": format!("{}/v1", up.url)}]),
    );
    r.extra.insert("num_retries".into(), json!(1));
    r.extra.insert("seed".into(), json!(7));
    let resp = Client::new()
        .unwrap()
        .completion(&r, &primary(&down))
        .await
        .unwrap();
    assert_eq!(resp.text(), Some("fallback"));
    assert_eq!(down.requests().len(), 2, "one retry of the model first");
    for seen in down.requests().iter().chain(up.requests().iter()) {
        let body = seen.json();
        assert!(
            body.get("fallbacks").is_none() && body.get("num_retries").is_none(),
            "{body}"
        );
        assert_eq!(body["seed"], 7, "other fields still go");
    }
}

#[tokio::test]
async fn absurd_routing_arguments_are_refused_before_any_request() {
    let m = Mock::start(vec![ok("never")]).await;
    let mut r = req();
    r.extra.insert("num_retries".into(), json!(1_000_000));
    let e = Client::new()
        .unwrap()
        .completion(&r, &primary(&m))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert!(e.message().contains("num_retries"), "{e}");
    let opts = CallOptions {
        fallbacks: vec![Fallback::from("openai/gpt-4o-mini"); 40],
        ..primary(&m)
    };
    let e = call(&opts).await.unwrap_err();
    assert!(e.message().contains("fallbacks"), "{e}");
    let opts = CallOptions {
        fallbacks: vec![Fallback::from("nosuch/model-x")],
        ..primary(&m)
    };
    let e = call(&opts).await.unwrap_err();
    assert!(
        e.message().starts_with("fallback \"nosuch/model-x\": "),
        "{e}"
    );
    assert_eq!(m.requests().len(), 0);
}

#[tokio::test]
async fn a_mocked_rate_limit_falls_back_with_no_network_at_all() {
    let opts = CallOptions {
        mock_response: Some("litellm.RateLimitError".into()),
        api_base: Some("http://127.0.0.1:9/v1".into()),
        fallbacks: vec![Fallback {
            mock_response: Some("from the fallback".into()),
            api_base: Some("http://127.0.0.1:9/v1".into()),
            ..Fallback::from("anthropic/claude-haiku-4-5")
        }],
        ..Default::default()
    };
    let client = Client::new().unwrap();
    let resp = client.completion(&req(), &opts).await.unwrap();
    assert_eq!(resp.text(), Some("from the fallback"));
    // The same, streamed.
    let mut r = req();
    r.stream = Some(true);
    let text = streamed_text(client.stream(&r, &opts).await.unwrap()).await;
    assert_eq!(text, "from the fallback");
    // A mocked failure alone is that failure, typed.
    let only = CallOptions {
        mock_response: Some(MockResponse::error(ErrorKind::ContextWindowExceeded)),
        ..Default::default()
    };
    let e = client.completion(&req(), &only).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextWindowExceeded);
    assert_eq!(e.status(), Some(400));
    let e = client.stream(&r, &only).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::ContextWindowExceeded);
}

#[tokio::test]
async fn a_mocked_tool_call_answers_as_openai_would_in_json_and_in_a_stream() {
    let client = Client::new().unwrap();
    let mut r = req();
    r.extra.insert(
        "mock_tool_calls".into(),
        json!([{"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]),
    );
    r.extra.insert("mock_response".into(), json!(""));
    let resp = client
        .completion(&r, &CallOptions::default())
        .await
        .unwrap();
    let choice = &resp.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(choice.message.tool_calls[0].function.name, "get_weather");
    assert_eq!(
        choice.message.tool_calls[0].function.arguments,
        "{\"city\":\"Paris\"}"
    );
    r.stream = Some(true);
    let chunks: Vec<_> = client
        .stream(&r, &CallOptions::default())
        .await
        .unwrap()
        .collect()
        .await;
    let calls: Vec<_> = chunks
        .iter()
        .flat_map(|c| c.as_ref().unwrap().choices.iter())
        .flat_map(|c| c.delta.tool_calls.iter())
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id.as_deref(), Some("call_1"));
    let last = chunks.last().unwrap().as_ref().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("tool_calls"));
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_chunk_falls_back() {
    const SSE: &str = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"streamed\"},\"finish_reason\":null}]}\n\ndata: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let down = Mock::start(vec![unavailable()]).await;
    let up = Mock::start(vec![Reply::stream("text/event-stream", SSE)]).await;
    let opts = CallOptions {
        fallbacks: vec![to("openai/gpt-4o-mini", &up, "k")],
        ..primary(&down)
    };
    let mut r = req();
    r.stream = Some(true);
    let stream = Client::new().unwrap().stream(&r, &opts).await.unwrap();
    let text = streamed_text(stream).await;
    assert_eq!(text, "streamed");
    assert_eq!(up.requests()[0].json()["stream"], true);
}

#[tokio::test]
async fn check_key_makes_one_attempt_of_the_model_alone() {
    let rejected = Mock::start(vec![Reply::json(
        401,
        &json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    )])
    .await;
    let other = Mock::start(vec![ok("would say valid")]).await;
    let opts = CallOptions {
        fallbacks: vec![to("openai/gpt-4o-mini", &other, "k")],
        num_retries: Some(3),
        ..primary(&rejected)
    };
    let client = Client::new().unwrap();
    let check = client.check_key("openai/gpt-4o", &opts).await;
    assert_eq!(check.valid, Some(false), "{}", check.reason);
    assert_eq!(rejected.requests().len(), 1);
    assert_eq!(other.requests().len(), 0);
    let mocked = CallOptions {
        mock_response: Some("hi".into()),
        ..Default::default()
    };
    assert_eq!(client.check_key("openai/gpt-4o", &mocked).await.valid, None);
}

#[tokio::test]
async fn a_calls_own_prices_price_its_answer() {
    let m = Mock::start(vec![ok("priced")]).await;
    let own = switchboard::ModelInfo::default()
        .with_token_prices(Some(0.000_002), Some(0.000_01))
        .unwrap();
    let opts = CallOptions {
        price: Some(std::sync::Arc::new(own)),
        ..primary(&m)
    };
    let resp = call(&opts).await.unwrap();
    // The mock's usage: 5 prompt and 2 completion tokens.
    let cost = resp.usage.unwrap().cost.unwrap();
    assert!(cost.priced);
    assert!(
        (cost.usd - (5.0 * 2e-6 + 2.0 * 1e-5)).abs() < 1e-15,
        "{cost:?}"
    );
}
