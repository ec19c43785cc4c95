//! The script contract of `switchboard complete`, `embed` and `schema`: the
//! real binary against a mock upstream on 127.0.0.1. With `--json`, stdout
//! holds only OpenAI-shaped JSON, one object per line, and a failure is a
//! `{"error":{…}}` last line with exit code 1.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::support::{Mock, Reply};

/// The binary with no provider environment leaking in from the caller.
fn switchboard(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    for var in [
        "OPENAI_API_KEY",
        "OPENAI_ORGANIZATION",
        "OPENAI_PROJECT",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_VERSION",
        "ANTHROPIC_BETA",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub(crate) async fn run(args: &[&str]) -> Output {
    switchboard(args).output().await.expect("run switchboard")
}

/// Runs with `stdin` written to the child's standard input.
async fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = switchboard(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin.as_bytes()).await.expect("write stdin");
    drop(pipe);
    child
        .wait_with_output()
        .await
        .expect("wait for switchboard")
}

/// A file under the system temp dir with a name no other test uses.
fn temp_file(tag: &str, contents: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "switchboard-it-{tag}-{}-{}.json",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, contents).expect("write temp file");
    path
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn last_line_json(out: &Output) -> Value {
    let text = stdout(out);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "last stdout line is not JSON ({e}):\n{text}\nstderr:\n{}",
            stderr(out)
        )
    })
}

fn hello_request() -> String {
    json!({"model": "ignored", "messages": [{"role": "user", "content": "Say hello"}]}).to_string()
}

#[tokio::test]
async fn complete_json_prints_one_chat_completion() {
    let mock = Mock::start(vec![Reply::json(
        200,
        &json!({
            "id": "chatcmpl-123",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there."},
                "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
        }),
    )])
    .await;
    let req = temp_file("complete-request", &hello_request());
    let base = format!("{}/v1", mock.url);
    let out = run(&[
        "complete",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        &base,
        "--api-key",
        "sk-test",
        "--request-file",
        req.to_str().expect("utf-8 path"),
        "--json",
    ])
    .await;
    let _ = std::fs::remove_file(&req);

    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one JSON object:\n{text}");
    let resp: Value = serde_json::from_str(lines[0]).expect("a JSON object");
    assert_eq!(resp["object"], "chat.completion");
    assert_eq!(resp["choices"][0]["message"]["content"], "Hello there.");
    assert_eq!(resp["choices"][0]["finish_reason"], "stop");
    assert_eq!(resp["usage"]["prompt_tokens"], 9);
    assert_eq!(resp["usage"]["completion_tokens"], 3);
    assert_eq!(resp["usage"]["total_tokens"], 12);

    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/v1/chat/completions");
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-test"));
    assert_eq!(seen[0].json()["model"], "gpt-4o-mini", "--model wins");
}

/// Anthropic's real event sequence, `event:` and `data:` lines.
/// https://docs.anthropic.com/en/docs/build-with-claude/streaming
const ANTHROPIC_STREAM: &str = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-0\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\n\
data: {\"type\": \"ping\"}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\", world\"}}\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}\n\n\
event: message_stop\n\
data: {\"type\":\"message_stop\"}\n\n";

#[tokio::test]
async fn complete_stream_prints_one_chunk_per_line_reading_the_request_from_stdin() {
    let mock = Mock::start(vec![Reply::stream("text/event-stream", ANTHROPIC_STREAM)]).await;
    let out = run_with_stdin(
        &[
            "complete",
            "--model",
            "anthropic/claude-sonnet-4-0",
            "--api-base",
            &mock.url,
            "--api-key",
            "sk-ant-test",
            "--request-file",
            "-",
            "--stream",
            "--json",
        ],
        &hello_request(),
    )
    .await;

    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    let chunks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{text}")))
        .collect();
    assert!(!chunks.is_empty());
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk", "{c}");
    }
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "Hello, world");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop"),
        "end_turn arrives as finish_reason stop:\n{text}"
    );

    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/v1/messages");
    assert_eq!(seen[0].header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].json()["stream"], true);
    assert_eq!(seen[0].json()["model"], "claude-sonnet-4-0");
}

#[tokio::test]
async fn provider_error_is_the_last_line_and_exit_code_1() {
    // Anthropic's 401 body, as the API sends it.
    let mock = Mock::start(vec![Reply::json(
        401,
        &json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            "request_id": "req_011CWdMEehrhsdujMyQ9pChP"}),
    )])
    .await;
    let req = temp_file("provider-error-request", &hello_request());
    let out = run(&[
        "complete",
        "--model",
        "anthropic/claude-sonnet-4-0",
        "--api-base",
        &mock.url,
        "--api-key",
        "sk-ant-wrong",
        "--request-file",
        req.to_str().expect("utf-8 path"),
        "--json",
    ])
    .await;
    let _ = std::fs::remove_file(&req);

    assert_eq!(out.status.code(), Some(1), "stdout:\n{}", stdout(&out));
    let err = &last_line_json(&out)["error"];
    assert_eq!(err["kind"], "authentication", "{err}");
    assert_eq!(err["type"], "authentication_error", "{err}");
    assert_eq!(err["status"], 401, "{err}");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("invalid x-api-key"),
        "the provider's own message is kept: {message}"
    );
    assert!(
        message.contains("anthropic/claude-sonnet-4-0"),
        "the message names provider and model: {message}"
    );
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn bad_request_file_fails_before_any_request() {
    let mock = Mock::start(vec![Reply::json(200, &json!({}))]).await;
    let req = temp_file("bad-request-file", "this is not JSON {");
    let base = format!("{}/v1", mock.url);
    let out = run(&[
        "complete",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        &base,
        "--api-key",
        "sk-test",
        "--request-file",
        req.to_str().expect("utf-8 path"),
        "--json",
    ])
    .await;
    let _ = std::fs::remove_file(&req);

    assert_eq!(out.status.code(), Some(1));
    let err = &last_line_json(&out)["error"];
    assert_eq!(err["kind"], "bad_request", "{err}");
    assert_eq!(err["type"], "invalid_request_error", "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("is not a chat request")),
        "{err}"
    );
    assert_eq!(mock.requests().len(), 0, "no request reached the upstream");
}

// `--model` should win over, and stand in for, the request's own model, but
// the request file is parsed as a ChatRequest first, whose `model` is required.
#[tokio::test]
async fn request_file_without_model_takes_it_from_the_flag() {
    let mock = Mock::start(vec![Reply::json(
        200,
        &json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}),
    )])
    .await;
    let req = temp_file(
        "no-model-request",
        &json!({"messages": [{"role": "user", "content": "Say hello"}]}).to_string(),
    );
    let base = format!("{}/v1", mock.url);
    let out = run(&[
        "complete",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        &base,
        "--api-key",
        "sk-test",
        "--request-file",
        req.to_str().expect("utf-8 path"),
        "--json",
    ])
    .await;
    let _ = std::fs::remove_file(&req);

    assert_eq!(out.status.code(), Some(0), "stdout:\n{}", stdout(&out));
    assert_eq!(mock.requests()[0].json()["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn unknown_param_is_named_in_the_error() {
    let mock = Mock::start(vec![Reply::json(200, &json!({}))]).await;
    let req = temp_file("unknown-param-request", &hello_request());
    let base = format!("{}/v1", mock.url);
    let out = run(&[
        "complete",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        &base,
        "--api-key",
        "sk-test",
        "--request-file",
        req.to_str().expect("utf-8 path"),
        "--param",
        "organisation=org-1",
    ])
    .await;
    let _ = std::fs::remove_file(&req);

    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("unknown parameter \"organisation\""),
        "names the parameter: {err}"
    );
    assert!(
        err.contains("organization, project"),
        "lists the ones the provider takes: {err}"
    );
    assert_eq!(mock.requests().len(), 0, "no request reached the upstream");
}

#[tokio::test]
async fn embed_json_prints_the_openai_list() {
    let mock = Mock::start(vec![Reply::json(
        200,
        &json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1.0]},
                {"object": "embedding", "index": 1, "embedding": [0.5, 0.0, -1.0]}
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        }),
    )])
    .await;
    let req = temp_file(
        "embed-request",
        &json!({"model": "ignored", "input": ["hello", "world"]}).to_string(),
    );
    let base = format!("{}/v1", mock.url);
    let out = run(&[
        "embed",
        "--model",
        "openai/text-embedding-3-small",
        "--api-base",
        &base,
        "--api-key",
        "sk-test",
        "--request-file",
        req.to_str().expect("utf-8 path"),
        "--json",
    ])
    .await;
    let _ = std::fs::remove_file(&req);

    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "exactly one JSON object:\n{text}");
    let list: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"][0]["object"], "embedding");
    assert_eq!(list["data"][0]["index"], 0);
    assert_eq!(list["data"][0]["embedding"], json!([0.25, -0.5, 1.0]));
    assert_eq!(list["data"][1]["index"], 1);
    assert_eq!(list["data"][1]["embedding"], json!([0.5, 0.0, -1.0]));
    assert_eq!(list["usage"]["prompt_tokens"], 4);

    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/v1/embeddings");
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-test"));
    assert_eq!(
        seen[0].json(),
        json!({"model": "text-embedding-3-small", "input": ["hello", "world"]})
    );
}

#[tokio::test]
async fn schema_describes_a_provider_file() {
    let out = run(&["schema"]).await;
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("JSON Schema");
    let props = schema["properties"].as_object().expect("properties");
    for key in [
        "base-url",
        "auth",
        "chat",
        "extends",
        "embeddings",
        "errors",
    ] {
        assert!(props.contains_key(key), "schema lacks {key}");
    }
    assert!(
        schema["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("base-url")))
    );
}

#[tokio::test]
async fn schema_ingress_describes_a_front_door_file() {
    let out = run(&["schema", "--ingress"]).await;
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("JSON Schema");
    let props = schema["properties"].as_object().expect("properties");
    for key in [
        "path",
        "dialect",
        "request",
        "response",
        "errors",
        "stream",
        "count-tokens",
    ] {
        assert!(props.contains_key(key), "schema lacks {key}");
    }
    let required = schema["required"].as_array().unwrap();
    assert!(required.contains(&json!("request")), "{required:?}");
}

#[tokio::test]
async fn check_key_says_valid_or_invalid_and_why() {
    let rejected = Mock::start(vec![Reply::json(
        401,
        &json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
    )])
    .await;
    let out = run(&[
        "check-key",
        "--model",
        "anthropic/claude-haiku-4-5",
        "--api-key",
        "bad",
        "--api-base",
        &rejected.url,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("invalid: ") && stdout(&out).contains("invalid x-api-key"),
        "{}",
        stdout(&out)
    );
    let sent = rejected.requests()[0].json();
    assert_eq!(sent["max_tokens"], 1, "the cheapest call: one token");

    let accepted = Mock::start(vec![Reply::json(
        200,
        &json!({"id": "m", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "H"}], "stop_reason": "max_tokens", "usage": {"input_tokens": 8, "output_tokens": 1}}),
    )])
    .await;
    let out = run(&[
        "check-key",
        "--model",
        "anthropic/claude-haiku-4-5",
        "--api-key",
        "good",
        "--api-base",
        &accepted.url,
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(last_line_json(&out)["valid"], true);
}

#[tokio::test]
async fn providers_lists_every_spec_with_its_key_variable() {
    let out = run(&["providers"]).await;
    let text = stdout(&out);
    assert!(text.lines().count() > 40, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("anthropic ") && l.contains("ANTHROPIC_API_KEY"))
    );
}

#[tokio::test]
async fn complete_for_people_streams_plain_text_to_the_terminal() {
    let mock = Mock::start(vec![Reply::stream("text/event-stream", ANTHROPIC_STREAM)]).await;
    let out = run(&[
        "complete",
        "-m",
        "anthropic/claude-sonnet-4-0",
        "--api-base",
        &mock.url,
        "--api-key",
        "k",
        "Say",
        "hello",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert_eq!(stdout(&out), "Hello, world\n");
    let sent = mock.requests()[0].json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["messages"][0]["content"], "Say hello");
}

/// `complete` against `base` with `extra` flags, `--json`, the prompt "hi".
async fn complete_json(base: &str, key: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "complete",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        base,
        "--api-key",
        key,
        "--json",
        "--no-stream",
    ];
    args.extend_from_slice(extra);
    args.push("hi");
    run(&args).await
}

#[tokio::test]
async fn an_absurd_timeout_is_a_usage_error_not_a_panic() {
    for bad in ["NaN", "-1", "inf", "1e30", "0", "soon"] {
        let flag = format!("--timeout={bad}");
        let out = complete_json("http://127.0.0.1:9", "k", &[&flag]).await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("--timeout") && err.contains("seconds"),
            "{bad}: {err}"
        );
    }
    let out = complete_json("http://127.0.0.1:9", "k", &["--idle-timeout=-5"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test]
async fn a_huge_retry_after_is_a_clean_rate_limit_error() {
    let mock = Mock::start(vec![
        Reply::json(
            429,
            &json!({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}),
        )
        .header("retry-after", "1e20"),
    ])
    .await;
    let out = complete_json(&mock.url, "k", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = &last_line_json(&out)["error"];
    assert_eq!(err["kind"], "rate_limit", "{err}");
    assert_eq!(err["retry_after"], 86_400.0, "clamped to a day: {err}");
}

#[tokio::test]
async fn a_stalled_upstream_ends_in_a_timeout_error() {
    let mock = Mock::start(vec![Reply::hang()]).await;
    let out = complete_json(&mock.url, "k", &["--timeout", "0.3"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = &last_line_json(&out)["error"];
    assert_eq!(err["kind"], "timeout", "{err}");
    assert_eq!(err["type"], "timeout_error", "{err}");
}

#[tokio::test]
async fn a_stream_stalled_mid_way_ends_in_an_error_line() {
    let chunk = json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]});
    let body = format!("data: {chunk}\n\ndata: {chunk}\n\n");
    let stall = body.len();
    let mock = Mock::start(vec![
        Reply::stream("text/event-stream", body.repeat(2)).stalled_after(stall),
    ])
    .await;
    let out = run(&[
        "complete",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        &mock.url,
        "--api-key",
        "k",
        "--json",
        "--stream",
        "--idle-timeout",
        "0.3",
        "hi",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "two chunks, then the error: {lines:?}");
    assert_eq!(last_line_json(&out)["error"]["kind"], "timeout");
}

#[tokio::test]
async fn the_key_never_appears_in_an_error_the_upstream_echoes() {
    let key = "sk-cli-secret-key-0123456789abcdef";
    let mock = Mock::start(vec![Reply::echoing_headers(401)]).await;
    let out = complete_json(&mock.url, key, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!shown.contains(key), "{shown}");
    assert_eq!(last_line_json(&out)["error"]["kind"], "authentication");
}

#[tokio::test]
async fn check_key_cannot_tell_from_a_404() {
    let mock = Mock::start(vec![Reply::raw(404, "text/html", "<h1>Not Found</h1>")]).await;
    let out = run(&[
        "check-key",
        "--model",
        "openai/gpt-4o-mini",
        "--api-key",
        "k",
        "--api-base",
        &mock.url,
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("unknown: "), "{}", stdout(&out));
}

/// Issue 12: a 404 whose JSON body the error table reads as another kind
/// (here a rate limit, which would mean "the key was accepted") is still a
/// wrong base URL or path that may never have seen the key.
#[tokio::test]
async fn check_key_cannot_tell_from_a_404_whatever_its_body_says() {
    let body = serde_json::json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}});
    let mock = Mock::start(vec![Reply::json(404, &body)]).await;
    let out = run(&[
        "check-key",
        "--model",
        "openai/gpt-4o-mini",
        "--api-key",
        "k",
        "--api-base",
        &mock.url,
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("unknown: "), "{}", stdout(&out));
}
