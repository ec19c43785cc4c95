//! Two proxy instances (two `AppState`s, each with its own database
//! connection and its own Router) sharing one Redis enforce one limit: a
//! virtual key's rpm, its budget, and a deployment's cooldown started by
//! one instance are the other's too, and either reports the key's shared
//! spend. Runs when `SWITCHBOARD_TEST_REDIS_URL` names a Redis (CI sets
//! it); elsewhere each test says it is skipped. Every run uses its own key
//! prefix, so parallel runs do not collide; both instances read one
//! manual clock, so no test waits for a minute to turn.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::{DeploymentConfig, ManualClock};
use switchboard::server::{AppState, ServerConfig, Store, StoreOptions, WallClock, app};
use tower::ServiceExt;

use crate::support::{Mock, Reply};

const REDIS_ENV: &str = "SWITCHBOARD_TEST_REDIS_URL";
const MASTER: &str = "sk-master-redis-test";

/// The Redis URL, or None after printing why the test is skipped.
pub(crate) fn redis_url(test: &str) -> Option<String> {
    let url = std::env::var(REDIS_ENV).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        crate::support::skip(
            test,
            &format!("{REDIS_ENV} is not set (CI sets it to redis://127.0.0.1:6379)"),
        );
    }
    url
}

/// A prefix no other run or test uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sbtest:{}:{nanos}:{test}:", std::process::id())
}

fn chat_ok() -> Reply {
    Reply::openai_chat("hi", 1000, 500)
}

pub(crate) fn config(mock: &Mock, master: bool) -> ServerConfig {
    let mut c = ServerConfig::default();
    if master {
        c.server.master_key = Some(MASTER.into());
    }
    c.router.router.retries = 0;
    c.router.router.allowed_fails = 1;
    c.router.router.cooldown_secs = 60;
    c.router.deployments = vec![
        DeploymentConfig::new("chat", "openai/gpt-4o-mini")
            .api_key("upstream-key")
            .api_base(format!("{}/v1", mock.url))
            .id("chat-dep"),
    ];
    c
}

/// The clock two instances share: a manual one, at the start of a minute.
pub(crate) fn shared_clock() -> (WallClock, Arc<ManualClock>) {
    let manual = Arc::new(ManualClock::default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (
        WallClock::driven_by(manual.clone(), now / 60_000 * 60_000),
        manual,
    )
}

/// One proxy instance on the shared Redis (and, with a database, on it too).
pub(crate) async fn instance(
    config: ServerConfig,
    db: Option<&str>,
    redis: &str,
    prefix: &str,
    clock: &WallClock,
) -> axum::Router {
    let mut state = AppState::new(Client::new().unwrap(), config).unwrap();
    if let Some(db) = db {
        // A long flush interval: the spend log cannot be what shares spend.
        let options = StoreOptions {
            flush_interval: Duration::from_secs(600),
            clock: clock.clone(),
            ..StoreOptions::default()
        };
        state = state.with_store(Store::open_with(db, options).await.unwrap());
    }
    let state = state.with_redis_prefix(redis, prefix).await.unwrap();
    app(Arc::new(state))
}

/// Deletes this test's keys (a running spend has no expiry).
pub(crate) async fn clean(redis: &str, prefix: &str) {
    let client = redis::Client::open(redis).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// A SQLite file both instances open.
pub(crate) fn shared_db(test: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "sb-redis-{test}-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    format!("sqlite://{}", path.display())
}

pub(crate) async fn send(
    app: &axum::Router,
    path: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

async fn chat(app: &axum::Router, key: &str) -> (StatusCode, Value) {
    let body = json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});
    send(app, "/v1/chat/completions", key, body).await
}

pub(crate) async fn generate(app: &axum::Router, fields: Value) -> String {
    let (status, body) = send(app, "/key/generate", MASTER, fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn two_instances_enforce_one_rpm_limit() {
    let Some(redis) = redis_url("two_instances_enforce_one_rpm_limit") else {
        return;
    };
    let prefix = unique_prefix("rpm");
    let up = Mock::start(vec![chat_ok()]).await;
    let db = shared_db("rpm");
    let (clock, manual) = shared_clock();
    let a = instance(config(&up, true), Some(&db), &redis, &prefix, &clock).await;
    let b = instance(config(&up, true), Some(&db), &redis, &prefix, &clock).await;
    let key = generate(&a, json!({"rpm_limit": 2})).await;

    for _ in 0..2 {
        let (status, body) = chat(&a, &key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The second proxy has never seen this key, yet the quota is spent.
    let (status, body) = chat(&b, &key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("rpm limit reached"), "{msg}");
    let (status, _) = chat(&a, &key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(up.requests().len(), 2, "refused calls never reach upstream");
    // A new minute, a new window, for both.
    manual.advance(Duration::from_secs(60));
    let (status, body) = chat(&b, &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    clean(&redis, &prefix).await;
}

#[tokio::test]
async fn two_instances_enforce_one_budget() {
    // 1500 tokens of gpt-4o-mini cost well over a millionth of a dollar.
    one_budget_across_instances("budget", json!({"max_budget": 0.000001})).await;
}

#[tokio::test]
async fn two_instances_enforce_one_budget_per_period() {
    let fields = json!({"max_budget": 0.000001, "budget_duration": "1h"});
    one_budget_across_instances("budget-period", fields).await;
}

/// A key with these budget fields, spent on one instance, is refused by
/// the other before either has written the spend log.
async fn one_budget_across_instances(name: &str, fields: Value) {
    let Some(redis) = redis_url(name) else {
        return;
    };
    let prefix = unique_prefix(name);
    let up = Mock::start(vec![chat_ok()]).await;
    let db = shared_db(name);
    let (clock, _) = shared_clock();
    let a = instance(config(&up, true), Some(&db), &redis, &prefix, &clock).await;
    let b = instance(config(&up, true), Some(&db), &redis, &prefix, &clock).await;
    let key = generate(&a, fields).await;

    let (status, body) = chat(&a, &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A's report waits for its own settlement, then reads the fleet's.
    let on_a = key_info(&a, &key).await;
    let spent = on_a["spend"].as_f64().unwrap();
    assert!(spent > 0.000001, "{on_a}");
    let token = on_a["token"].as_str().unwrap().to_string();
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let counters: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}{{{token}}}:spend*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!counters.is_empty(), "no shared spend under {prefix}");

    // The database has not been written yet (long flush interval), so
    // only the shared spend can refuse this, and only it can tell B what
    // A's call cost.
    let on_b = key_info(&b, &key).await;
    assert_eq!(on_b["spend"].as_f64().unwrap(), spent, "{on_b}");
    if !on_a["budget_spend"].is_null() {
        assert_eq!(on_b["budget_spend"], on_a["budget_spend"], "{on_b}");
    }
    let (status, body) = chat(&b, &key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "budget_exceeded", "{body}");
    assert_eq!(up.requests().len(), 1);
    // The list reports the shared figure too.
    let list = get(&b, "/key/list").await;
    let listed = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["token"] == token.as_str())
        .cloned()
        .unwrap();
    assert_eq!(listed["spend"].as_f64().unwrap(), spent, "{listed}");
    clean(&redis, &prefix).await;
}

pub(crate) async fn get(app: &axum::Router, path: &str) -> Value {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {MASTER}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `/key/info`'s record of a key.
pub(crate) async fn key_info(app: &axum::Router, key: &str) -> Value {
    get(app, &format!("/key/info?key={key}")).await["info"].clone()
}

#[tokio::test]
async fn a_cooldown_one_instance_starts_is_seen_by_the_other() {
    let Some(redis) = redis_url("a_cooldown_one_instance_starts_is_seen_by_the_other") else {
        return;
    };
    let prefix = unique_prefix("cool");
    let up = Mock::start(vec![Reply::json(
        500,
        &json!({"error": {"message": "boom", "type": "server_error"}}),
    )])
    .await;
    // A second deployment: a group's last healthy one is never cooled down.
    let spare = Mock::start(vec![chat_ok()]).await;
    let with_spare = || {
        let mut c = config(&up, false);
        c.router.deployments[0] = c.router.deployments[0].clone().weight(1e6);
        c.router.deployments.push(
            DeploymentConfig::new("chat", "openai/gpt-4o-mini")
                .api_key("upstream-key")
                .api_base(format!("{}/v1", spare.url))
                .weight(1e-6)
                .id("chat-spare"),
        );
        c
    };
    let (clock, _) = shared_clock();
    let a = instance(with_spare(), None, &redis, &prefix, &clock).await;
    let b = instance(with_spare(), None, &redis, &prefix, &clock).await;

    let (status, body) = chat(&a, "unused").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(up.requests().len(), 1);
    // One failure cools the deployment down, for instance B too: B does
    // not call the cooled-down deployment despite its weight.
    let (status, body) = chat(&b, "unused").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        up.requests().len(),
        1,
        "B must not call a cooled-down deployment"
    );
    assert_eq!(spare.requests().len(), 1);
    clean(&redis, &prefix).await;
}
