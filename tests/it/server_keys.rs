//! Virtual keys and the spend log, through the proxy's HTTP API in front of
//! mock upstreams on 127.0.0.1: keys generated, used, over budget, over
//! their rpm limit, limited to some models, revoked; one spend row per
//! billed call (the Router's retries inside a call charge once); pending
//! rows written on graceful shutdown. Each suite runs on an in-memory SQLite
//! database, and again on PostgreSQL when `SWITCHBOARD_TEST_POSTGRES_URL`
//! names one (CI sets it; elsewhere those tests say they are skipped).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::router::ManualClock;
use switchboard::server::app as app_of;
use switchboard::server::{AppState, ServerConfig, Store, StoreOptions, WallClock, app};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

const MASTER: &str = "sk-master-keys-test";
const POSTGRES_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

fn chat_ok() -> Reply {
    Reply::openai_chat("hi", 1000, 500)
}

fn server_error() -> Reply {
    Reply::json(
        500,
        &json!({"error": {"message": "boom", "type": "server_error"}}),
    )
}

/// An OpenAI stream with a usage chunk at the end (as include_usage asks).
fn stream_with_usage() -> Reply {
    let chunk = |choices: Value, usage: Value| {
        let mut c = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-mini", "choices": choices});
        if !usage.is_null() {
            c["usage"] = usage;
        }
        format!("data: {c}\n\n")
    };
    let body = [
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]),
            Value::Null,
        ),
        chunk(
            json!([]),
            json!({"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}),
        ),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    Reply::stream("text/event-stream", body)
}

fn dep(group: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, "openai/gpt-4o-mini")
        .api_key("upstream-key")
        .api_base(format!("{}/v1", mock.url))
        .id(format!("{group}-dep"))
}

fn config(deployments: Vec<DeploymentConfig>, retries: u32) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.server.master_key = Some(MASTER.into());
    c.router.router.retries = retries;
    c.router.router.backoff_ms = 1;
    c.router.router.max_backoff_ms = 1;
    c.router.deployments = deployments;
    c
}

/// A store whose time moves only when the test says: it starts at a whole
/// minute (so a rate window does not end mid-test) of today.
async fn clocked(url: &str) -> (Store, Arc<ManualClock>) {
    let manual = Arc::new(ManualClock::default());
    let minute = now_ms() / 60_000 * 60_000;
    let options = StoreOptions {
        clock: WallClock::driven_by(manual.clone(), minute),
        ..StoreOptions::default()
    };
    (Store::open_with(url, options).await.unwrap(), manual)
}

async fn state(config: ServerConfig, store: Store) -> Arc<AppState> {
    Arc::new(
        AppState::new(Client::new().unwrap(), config)
            .unwrap()
            .with_store(store),
    )
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// Asserts an OpenAI error with this status and type; returns its message.
    fn error(&self, status: u16, kind: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        let err = &self.body["error"];
        assert_eq!(err["type"], kind, "{}", self.body);
        err["message"].as_str().unwrap_or_default().to_string()
    }
}

async fn send(app: &axum::Router, method: &str, path: &str, key: &str, body: Value) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"));
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        body,
    }
}

async fn chat(app: &axum::Router, key: &str, model: &str) -> Answer {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    send(app, "POST", "/v1/chat/completions", key, body).await
}

/// `/key/info`'s record of a key.
async fn key_info(app: &axum::Router, key: &str) -> Value {
    let a = send(
        app,
        "GET",
        &format!("/key/info?key={key}"),
        MASTER,
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["info"].clone()
}

/// `/key/update` with these fields.
async fn update(app: &axum::Router, fields: Value) -> Answer {
    send(app, "POST", "/key/update", MASTER, fields).await
}

/// A new virtual key with these settings.
async fn generate(app: &axum::Router, fields: Value) -> String {
    let a = send(app, "POST", "/key/generate", MASTER, fields).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.get("token").is_some(), "{}", a.body);
    a.body["key"].as_str().unwrap().to_string()
}

async fn spend_logs(app: &axum::Router, key: &str) -> Vec<Value> {
    let a = send(
        app,
        "GET",
        &format!("/spend/logs?api_key={key}"),
        MASTER,
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body.as_array().unwrap().clone()
}

// ---- the suites, each on one database URL ----

async fn keys_are_generated_used_capped_and_revoked(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    // 1500 tokens of gpt-4o-mini cost well over a millionth of a dollar.
    let key = generate(
        &app,
        json!({"models": ["chat"], "max_budget": 0.000001, "metadata": {"team": "a"}, "key_alias": "ci"}),
    )
    .await;
    assert!(key.starts_with("sk-"), "{key}");

    let first = chat(&app, &key, "chat").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let info = key_info(&app, &key).await;
    let spent = info["spend"].as_f64().unwrap();
    assert!(spent > 0.000001, "{info}");
    assert_eq!(info["metadata"]["team"], "a");
    assert_eq!(info["key_alias"], "ci");

    let over = chat(&app, &key, "chat").await;
    let msg = over.error(400, "invalid_request_error");
    assert!(msg.contains("budget exceeded"), "{msg}");
    assert_eq!(over.body["error"]["code"], "budget_exceeded");

    // A higher budget lets it through again; the list shows the key.
    let up_budget = send(
        &app,
        "POST",
        "/key/update",
        MASTER,
        json!({"key": key, "max_budget": 10.0}),
    )
    .await;
    assert_eq!(up_budget.status, StatusCode::OK, "{}", up_budget.body);
    assert_eq!(up_budget.body["info"]["max_budget"], 10.0);
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    let token = info["token"].as_str().unwrap().to_string();
    let list = send(&app, "GET", "/key/list", MASTER, Value::Null).await;
    assert!(
        list.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["token"] == token.as_str()),
        "{}",
        list.body
    );

    // The admin API is the master key's alone.
    let a = send(&app, "POST", "/key/generate", &key, json!({})).await;
    a.error(401, "authentication_error");

    let del = send(&app, "POST", "/key/delete", MASTER, json!({"keys": [key]})).await;
    assert_eq!(del.body["deleted_keys"], json!([token]), "{}", del.body);
    let revoked = chat(&app, &key, "chat").await;
    revoked.error(401, "authentication_error");
    chat(&app, "sk-never-issued", "chat")
        .await
        .error(401, "authentication_error");
    // Nothing stored holds the key itself.
    assert!(!list.body.to_string().contains(&key));
}

async fn allowed_models_are_enforced(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up), dep("other", &up)], 0), store).await);
    let key = generate(&app, json!({"models": ["chat"]})).await;
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    let refused = chat(&app, &key, "other").await;
    let msg = refused.error(403, "permission_error");
    assert!(msg.contains("\"other\"") && msg.contains("chat"), "{msg}");
    assert_eq!(up.requests().len(), 1, "the refused call reached upstream");
}

async fn rpm_limit_answers_429_with_retry_after(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    let (store, clock) = clocked(url).await;
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    let key = generate(&app, json!({"rpm_limit": 2})).await;
    for _ in 0..2 {
        assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    }
    let limited = chat(&app, &key, "chat").await;
    let msg = limited.error(429, "rate_limit_error");
    assert!(msg.contains("rpm limit"), "{msg}");
    let after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        after, 60,
        "the window is a fixed minute, and it has just begun"
    );
    assert_eq!(up.requests().len(), 2);
    // The next minute is a new window.
    clock.advance(Duration::from_secs(60));
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);

    // A tpm limit counts the tokens of finished calls (1500 each here).
    let key = generate(&app, json!({"tpm_limit": 1000})).await;
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    let limited = chat(&app, &key, "chat").await;
    let msg = limited.error(429, "rate_limit_error");
    assert!(msg.contains("tpm limit"), "{msg}");
    assert!(limited.headers.contains_key("retry-after"));
}

async fn expired_and_unknown_keys_are_refused(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    let key = generate(&app, json!({"expires_at": 1})).await;
    let a = chat(&app, &key, "chat").await;
    let msg = a.error(401, "authentication_error");
    assert!(msg.contains("expired"), "{msg}");
    let key = generate(&app, json!({"duration": "1h"})).await;
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    let missing = send(&app, "GET", "/key/info?key=sk-unknown", MASTER, Value::Null).await;
    missing.error(404, "not_found_error");
    let bad = send(
        &app,
        "POST",
        "/key/generate",
        MASTER,
        json!({"duration": "soon"}),
    )
    .await;
    bad.error(400, "invalid_request_error");
    assert_eq!(up.requests().len(), 1);
}

async fn one_spend_row_per_billed_call(url: &str) {
    // The first attempt fails and the Router retries it: one call, one row.
    let up = Mock::start(vec![server_error(), chat_ok(), chat_ok()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 1), store).await);
    let key = generate(&app, json!({})).await;
    for _ in 0..2 {
        let a = chat(&app, &key, "chat").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    assert_eq!(up.requests().len(), 3);
    let rows = spend_logs(&app, &key).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let mut total = 0.0;
    for r in &rows {
        assert_eq!(r["status"], "success");
        assert_eq!(r["model_group"], "chat");
        assert_eq!(r["deployment"], "chat-dep");
        assert_eq!(r["prompt_tokens"], 1000);
        assert_eq!(r["completion_tokens"], 500);
        assert_eq!(r["total_tokens"], 1500);
        assert!(r["latency_ms"].as_i64().unwrap() >= 0);
        assert!(r["created_at"].as_i64().unwrap() > 0);
        total += r["cost"].as_f64().unwrap();
    }
    assert!(total > 0.0);
    let spent = key_info(&app, &key).await["spend"].as_f64().unwrap();
    assert!((spent - total).abs() < 1e-12, "{spent} vs {total}");
}

async fn a_stream_is_billed_once_from_its_usage(url: &str) {
    let up = Mock::start(vec![stream_with_usage()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    let key = generate(&app, json!({})).await;
    let body =
        json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let a = send(&app, "POST", "/v1/chat/completions", &key, body).await;
    assert_eq!(a.status, StatusCode::OK);
    let text = a.body.as_str().unwrap().to_string();
    assert!(
        text.contains("Hel") && text.ends_with("data: [DONE]\n\n"),
        "{text}"
    );
    // The client did not ask for usage: the chunk the meter needed stays here.
    assert!(!text.contains("\"usage\""), "{text}");
    // The upstream was asked for it.
    assert_eq!(
        up.requests()[0].json()["stream_options"]["include_usage"],
        true
    );
    let rows = spend_logs(&app, &key).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "success");
    assert_eq!(rows[0]["total_tokens"], 1500);
    assert!(rows[0]["cost"].as_f64().unwrap() > 0.0);
}

async fn failed_calls_are_logged_but_not_billed(url: &str) {
    let up = Mock::start(vec![server_error()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    let key = generate(&app, json!({})).await;
    let a = chat(&app, &key, "chat").await;
    assert!(a.status.is_server_error(), "{}", a.body);
    let rows = spend_logs(&app, &key).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "failure");
    assert_eq!(rows[0]["cost"], 0.0);
}

async fn shutdown_writes_pending_rows(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    // Batches wait an hour: only the shutdown flush writes this row.
    let options = StoreOptions {
        flush_interval: Duration::from_secs(3600),
        ..StoreOptions::default()
    };
    let store = Store::open_with(url, options).await.unwrap();
    let state = state(config(vec![dep("chat", &up)], 0), store.clone()).await;
    let key = generate(&app(state.clone()), json!({})).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard::server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let _ = resp.bytes().await;
    assert!(
        store.spend_logs(Some(&key), 10).await.unwrap().is_empty(),
        "the row should still be pending"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let rows = store.spend_logs(Some(&key), 10).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "success");
    assert_eq!(rows[0].total_tokens, 1500);
}

async fn a_budget_per_period_resets(url: &str, reopen: bool) {
    let up = Mock::start(vec![chat_ok()]).await;
    let manual = Arc::new(ManualClock::default());
    let clock = WallClock::driven_by(manual.clone(), now_ms());
    let options = StoreOptions {
        clock: clock.clone(),
        ..StoreOptions::default()
    };
    let store = Store::open_with(url, options.clone()).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store.clone()).await);
    let key = generate(
        &app,
        json!({"max_budget": 0.000001, "budget_duration": "3s"}),
    )
    .await;
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    let over = chat(&app, &key, "chat").await;
    let msg = over.error(400, "invalid_request_error");
    assert!(
        msg.contains("for this 3s period") && msg.contains("resets in"),
        "{msg}"
    );
    let first = key_info(&app, &key).await;
    assert_eq!(first["budget_duration"], "3s", "{first}");
    let one_call = first["budget_spend"].as_f64().unwrap();
    assert!(one_call > 0.000001, "{first}");
    assert_eq!(first["spend"].as_f64().unwrap(), one_call, "{first}");

    // A spend log read back by another server counts against this period.
    if reopen {
        store.flush().await;
        let other = Store::open_with(url, options).await.unwrap();
        let app2 = app_of(state(config(vec![dep("chat", &up)], 0), other).await);
        let again = chat(&app2, &key, "chat").await;
        again.error(400, "invalid_request_error");
        let seen = key_info(&app2, &key).await;
        assert_eq!(seen["budget_spend"].as_f64().unwrap(), one_call, "{seen}");
    }

    // Once the period ends the budget is whole again; lifetime spend adds up.
    let reset_at = first["budget_reset_at"].as_i64().unwrap();
    let wait = reset_at - clock.now_ms();
    assert!((1..=3000).contains(&wait), "reset {wait} ms away");
    manual.advance(Duration::from_millis(wait as u64));
    let after = chat(&app, &key, "chat").await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    let now = key_info(&app, &key).await;
    assert!(
        now["budget_reset_at"].as_i64().unwrap() >= reset_at + 3000,
        "{now}"
    );
    assert_eq!(now["budget_spend"].as_f64().unwrap(), one_call, "{now}");
    assert!(
        (now["spend"].as_f64().unwrap() - 2.0 * one_call).abs() < 1e-12,
        "{now}"
    );

    // Bad periods are refused; an empty one makes the budget lifelong again.
    let bad = update(&app, json!({"key": key, "budget_duration": "3 weeks"})).await;
    let msg = bad.error(400, "invalid_request_error");
    assert!(msg.contains("budget_duration"), "{msg}");
    let life = update(&app, json!({"key": key, "budget_duration": ""})).await;
    assert_eq!(life.status, StatusCode::OK, "{}", life.body);
    assert!(
        life.body["info"]["budget_reset_at"].is_null(),
        "{}",
        life.body
    );
    chat(&app, &key, "chat")
        .await
        .error(400, "invalid_request_error");
}

/// Issue 10: spans that panicked the server (a cut inside a UTF-8
/// character) or wrapped into a key born expired are a 400 naming the
/// field, on generate and on update, and change nothing.
async fn absurd_durations_are_refused_naming_the_field(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    let store = Store::open(url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    let key = generate(&app, json!({"max_budget": 1.0})).await;
    let listed = || async {
        let list = send(&app, "GET", "/key/list", MASTER, Value::Null).await;
        list.body["keys"].as_array().unwrap().len()
    };
    let before = listed().await;
    let absurd = [
        (json!({"budget_duration": "1é"}), "budget_duration"),
        (json!({"duration": "5日"}), "duration"),
        (json!({"duration": "18446744073709551615d"}), "duration"),
        (json!({"duration": "99999999999999999999999s"}), "duration"),
        (json!({"budget_duration": "1.5h"}), "budget_duration"),
    ];
    for (fields, field) in &absurd {
        let a = send(&app, "POST", "/key/generate", MASTER, fields.clone()).await;
        let msg = a.error(400, "invalid_request_error");
        assert!(msg.contains(field), "{fields}: {msg}");
        let mut change = fields.clone();
        change["key"] = key.clone().into();
        let msg = update(&app, change)
            .await
            .error(400, "invalid_request_error");
        assert!(msg.contains(field), "{fields}: {msg}");
    }
    assert_eq!(listed().await, before, "a refused key was stored");
    let info = key_info(&app, &key).await;
    assert!(
        info["expires_at"].is_null() && info["budget_duration"].is_null(),
        "{info}"
    );
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
}

/// A key with a budget may not call a model nothing prices (its calls
/// would cost nothing on paper); a key without one may.
async fn a_budget_refuses_an_unpriced_model(url: &str) {
    let up = Mock::start(vec![chat_ok()]).await;
    let store = Store::open(url).await.unwrap();
    let unpriced = DeploymentConfig::new("mystery", "openai/switchboard-unpriced-model")
        .api_key("upstream-key")
        .api_base(format!("{}/v1", up.url))
        .id("mystery-dep");
    let app = app(state(config(vec![dep("chat", &up), unpriced], 0), store).await);
    let budgeted = generate(&app, json!({"max_budget": 5.0})).await;
    let refused = chat(&app, &budgeted, "mystery").await;
    let msg = refused.error(400, "invalid_request_error");
    assert_eq!(refused.body["error"]["code"], "model_not_priced");
    assert!(
        msg.contains("openai/switchboard-unpriced-model") && msg.contains("budget"),
        "{msg}"
    );
    assert_eq!(up.requests().len(), 0);
    assert_eq!(chat(&app, &budgeted, "chat").await.status, StatusCode::OK);
    let open = generate(&app, json!({})).await;
    assert_eq!(chat(&app, &open, "mystery").await.status, StatusCode::OK);
    assert_eq!(up.requests().len(), 2);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn all_suites(url: &str) {
    keys_are_generated_used_capped_and_revoked(url).await;
    allowed_models_are_enforced(url).await;
    rpm_limit_answers_429_with_retry_after(url).await;
    expired_and_unknown_keys_are_refused(url).await;
    one_spend_row_per_billed_call(url).await;
    a_stream_is_billed_once_from_its_usage(url).await;
    failed_calls_are_logged_but_not_billed(url).await;
    shutdown_writes_pending_rows(url).await;
    a_budget_per_period_resets(url, true).await;
    absurd_durations_are_refused_naming_the_field(url).await;
    a_budget_refuses_an_unpriced_model(url).await;
}

// ---- SQLite (always) ----

const MEMORY: &str = "sqlite::memory:";

#[tokio::test]
async fn sqlite_keys_are_generated_used_capped_and_revoked() {
    keys_are_generated_used_capped_and_revoked(MEMORY).await;
}

#[tokio::test]
async fn sqlite_allowed_models_are_enforced() {
    allowed_models_are_enforced(MEMORY).await;
}

#[tokio::test]
async fn sqlite_rpm_limit_answers_429_with_retry_after() {
    rpm_limit_answers_429_with_retry_after(MEMORY).await;
}

#[tokio::test]
async fn sqlite_expired_and_unknown_keys_are_refused() {
    expired_and_unknown_keys_are_refused(MEMORY).await;
}

#[tokio::test]
async fn sqlite_one_spend_row_per_billed_call() {
    one_spend_row_per_billed_call(MEMORY).await;
}

#[tokio::test]
async fn sqlite_a_stream_is_billed_once_from_its_usage() {
    a_stream_is_billed_once_from_its_usage(MEMORY).await;
}

#[tokio::test]
async fn sqlite_failed_calls_are_logged_but_not_billed() {
    failed_calls_are_logged_but_not_billed(MEMORY).await;
}

#[tokio::test]
async fn sqlite_shutdown_writes_pending_rows() {
    shutdown_writes_pending_rows(MEMORY).await;
}

#[tokio::test]
async fn sqlite_absurd_durations_are_refused_naming_the_field() {
    absurd_durations_are_refused_naming_the_field(MEMORY).await;
}

#[tokio::test]
async fn sqlite_a_budget_refuses_an_unpriced_model() {
    a_budget_refuses_an_unpriced_model(MEMORY).await;
}

#[tokio::test]
async fn sqlite_a_budget_per_period_resets() {
    let dir = std::env::temp_dir().join(format!("switchboard-period-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switchboard.db");
    let _ = std::fs::remove_file(&path);
    a_budget_per_period_resets(&format!("sqlite://{}", path.display()), true).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database made before budgets had periods is migrated in place: its
/// keys keep working and can take a period.
#[tokio::test]
async fn sqlite_a_first_version_database_is_migrated() {
    use sqlx::Connection;
    let dir = std::env::temp_dir().join(format!("switchboard-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switchboard.db");
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    let key = "sk-made-by-the-first-version";
    {
        let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        for sql in [
            "CREATE TABLE switchboard_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            "INSERT INTO switchboard_migrations VALUES (1, 'virtual keys and the spend log', 0)",
            "CREATE TABLE switchboard_keys (key_hash TEXT PRIMARY KEY, key_name TEXT NOT NULL, key_alias TEXT, models TEXT NOT NULL, max_budget DOUBLE PRECISION, rpm_limit BIGINT, tpm_limit BIGINT, expires_at BIGINT, metadata TEXT NOT NULL, spend DOUBLE PRECISION NOT NULL DEFAULT 0, created_at BIGINT NOT NULL)",
            "CREATE TABLE switchboard_spend_logs (request_id TEXT PRIMARY KEY, key_hash TEXT, model_group TEXT NOT NULL, deployment TEXT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL, cost DOUBLE PRECISION NOT NULL, latency_ms BIGINT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL)",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        sqlx::query("INSERT INTO switchboard_keys VALUES ($1, 'sk-...sion', NULL, '[]', 5.0, NULL, NULL, NULL, '{}', 0.25, 1)")
            .bind(token_of(key))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let up = Mock::start(vec![chat_ok()]).await;
    let store = Store::open(&url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    assert_eq!(chat(&app, key, "chat").await.status, StatusCode::OK);
    let up_period = update(&app, json!({"key": key, "budget_duration": "7d"})).await;
    assert_eq!(up_period.status, StatusCode::OK, "{}", up_period.body);
    let info = &up_period.body["info"];
    assert_eq!(info["budget_duration"], "7d", "{info}");
    assert_eq!(info["budget_spend"], 0.0, "{info}");
    assert!(info["spend"].as_f64().unwrap() > 0.25, "{info}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn token_of(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

#[tokio::test]
async fn sqlite_file_keeps_keys_and_spend_across_restarts() {
    let dir = std::env::temp_dir().join(format!("switchboard-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switchboard.db");
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    let up = Mock::start(vec![chat_ok()]).await;
    let key = {
        let store = Store::open(&url).await.unwrap();
        let app = app(state(config(vec![dep("chat", &up)], 0), store.clone()).await);
        let key = generate(&app, json!({})).await;
        assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
        store.flush().await;
        key
    };
    let store = Store::open(&url).await.unwrap();
    let app = app(state(config(vec![dep("chat", &up)], 0), store).await);
    assert_eq!(chat(&app, &key, "chat").await.status, StatusCode::OK);
    assert_eq!(spend_logs(&app, &key).await.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- PostgreSQL (when CI names a server) ----

#[tokio::test]
async fn postgres_runs_every_suite() {
    let Some(url) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
        crate::support::skip(
            "postgres_runs_every_suite",
            &format!(
                "{POSTGRES_ENV} is not set (CI sets it to postgres://postgres@127.0.0.1:5432/test)"
            ),
        );
        return;
    };
    all_suites(&url).await;
}

// ---- the real binary: SIGTERM flushes the spend log ----

/// `switchboard serve --config <config>`: the child, its base URL, and the
/// line that announced it.
#[cfg(unix)]
pub(crate) async fn start_serve(
    config: &std::path::Path,
) -> (tokio::process::Child, String, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server did not start")
            .unwrap()
            .expect("the server exited");
        if let Some(rest) = line.split("on http://").nth(1) {
            let base = format!("http://{}", rest.split('/').next().unwrap());
            return (child, base, line);
        }
    }
}

/// Several serving threads share one port; connections spread over them
/// all answer; a second server on the taken port is refused, not let in.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_runs_its_worker_threads_on_one_port() {
    let up = Mock::start(vec![chat_ok()]).await;
    let dir = std::env::temp_dir().join(format!("switchboard-workers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write_config = |name: &str, port: u16| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "[server]\nport = {port}\nworkers = 3\n\n\
                 [[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o-mini\"\n\
                 api-key = \"upstream-key\"\napi-base = \"{}/v1\"\n",
                up.url
            ),
        )
        .unwrap();
        path
    };
    let (mut child, base, line) = start_serve(&write_config("a.toml", 0)).await;
    assert!(line.contains("3 worker threads"), "{line}");
    let pid = child.id().unwrap();
    let workers = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with("switchboard-wor"))
        .count();
    assert_eq!(workers, 2, "threads besides the main one");
    // A new connection for each call, so the kernel deals them out.
    for _ in 0..24 {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let resp = http
            .post(format!("{base}/v1/chat/completions"))
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    assert_eq!(up.requests().len(), 24);

    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let second = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg("--config")
        .arg(write_config("b.toml", port))
        .output();
    let second = tokio::time::timeout(Duration::from_secs(30), second)
        .await
        .expect("a second server on a taken port did not give up")
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );

    // SAFETY: signals our own child process.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_on_switchboard_serve_writes_the_spend_log() {
    let up = Mock::start(vec![chat_ok()]).await;
    let dir = std::env::temp_dir().join(format!("switchboard-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("spend.db");
    let _ = std::fs::remove_file(&db);
    let config = dir.join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nport = 0\nmaster-key = \"{MASTER}\"\ndatabase-url = \"sqlite://{}\"\n\n\
             [[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o-mini\"\n\
             api-key = \"upstream-key\"\napi-base = \"{}/v1\"\n",
            db.display(),
            up.url
        ),
    )
    .unwrap();
    let (mut child, base, _) = start_serve(&config).await;
    let http = reqwest::Client::new();
    let key: Value = http
        .post(format!("{base}/key/generate"))
        .bearer_auth(MASTER)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let resp = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let pid = child.id().unwrap() as i32;
    // SAFETY: signals our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows = store.spend_logs(Some(&key), 10).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "success");
    let _ = std::fs::remove_dir_all(&dir);
}
