//! litellm's per-call arguments on `switchboard complete`: `--fallback`
//! (a model, or litellm's JSON form with its own key and base URL),
//! `--context-window-fallback`, `--num-retries`, `--mock-response`,
//! `--mock-error` and `--mock-tool-call` — the real binary against mock
//! upstreams on 127.0.0.1; and `check-key` when there is no key to check.

use serde_json::json;

use crate::cli::{last_line_json, run, stderr, stdout};
use crate::router::{ok, rate_limited};
use crate::support::{Mock, Reply};

fn fallback_json(model: &str, mock: &Mock, key: &str) -> String {
    json!({"model": model, "api_key": key, "api_base": format!("{}/v1", mock.url)}).to_string()
}

#[tokio::test]
async fn complete_falls_back_to_a_model_given_in_litellms_json_form() {
    let down = Mock::start(vec![Reply::json(
        503,
        &json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
    )])
    .await;
    let up = Mock::start(vec![ok("from the fallback")]).await;
    let base = format!("{}/v1", down.url);
    let fb = fallback_json("openai/gpt-4o-mini", &up, "fallback-key");
    let out = run(&[
        "complete",
        "--model",
        "openai/gpt-4o",
        "--api-key",
        "k",
        "--api-base",
        &base,
        "--fallback",
        &fb,
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resp = last_line_json(&out);
    assert_eq!(
        resp["choices"][0]["message"]["content"],
        "from the fallback"
    );
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer fallback-key")
    );
}

#[tokio::test]
async fn num_retries_and_a_context_window_fallback_from_the_command_line() {
    let flaky = Mock::start(vec![rate_limited(0), ok("second try")]).await;
    let base = format!("{}/v1", flaky.url);
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--api-key",
        "k",
        "--api-base",
        &base,
        "--num-retries",
        "1",
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(
        last_line_json(&out)["choices"][0]["message"]["content"],
        "second try"
    );
    assert_eq!(flaky.requests().len(), 2);

    let small = Mock::start(vec![Reply::json(
        400,
        &json!({"error": {"message": "This model's maximum context length is 8192 tokens.",
            "type": "invalid_request_error", "code": "context_length_exceeded"}}),
    )])
    .await;
    let large = Mock::start(vec![ok("large")]).await;
    let base = format!("{}/v1", small.url);
    let fb = fallback_json("openai/gpt-4.1", &large, "k2");
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4",
        "--api-key",
        "k",
        "--api-base",
        &base,
        "--context-window-fallback",
        &fb,
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(
        last_line_json(&out)["choices"][0]["message"]["content"],
        "large"
    );
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--num-retries",
        "11",
        "hi",
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error: {}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_mocked_error_falls_back_to_a_mocked_answer_offline() {
    let fb = json!({"model": "anthropic/claude-haiku-4-5", "mock_response": "offline answer",
        "api_base": "http://127.0.0.1:9"})
    .to_string();
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--mock-error",
        "litellm.RateLimitError",
        "--fallback",
        &fb,
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        last_line_json(&out)["choices"][0]["message"]["content"],
        "offline answer"
    );
    // Alone, the mocked error is the call's error, typed.
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--mock-error",
        "timeout",
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(last_line_json(&out)["error"]["kind"], "timeout");
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--mock-error",
        "slow",
        "hi",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test]
async fn a_mocked_tool_call_prints_as_openai_would() {
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--mock-tool-call",
        "get_weather={\"city\":\"Paris\"}",
        "--json",
        "weather?",
    ])
    .await;
    let resp = last_line_json(&out);
    let call = &resp["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(resp["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn a_bad_fallback_is_refused_without_repeating_its_key() {
    let fb = r#"{"model": 5, "api_key": "sk-live-very-secret-123"}"#;
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--fallback",
        fb,
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(
        last_line_json(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model"),
        "{shown}"
    );
    let broken = r#"{"model": "m", "api_key": "sk-live-very-secret-123""#;
    let out = run(&[
        "complete",
        "-m",
        "openai/gpt-4o",
        "--fallback",
        broken,
        "hi",
    ])
    .await;
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !shown.contains("very-secret") && shown.contains("not JSON"),
        "{shown}"
    );
}

#[tokio::test]
async fn check_key_without_a_key_cannot_tell_rather_than_calling_it_invalid() {
    let out = run(&["check-key", "--model", "openai/gpt-4o-mini"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("unknown: no key to check")
            && stdout(&out).contains("OPENAI_API_KEY"),
        "{}",
        stdout(&out)
    );
}
