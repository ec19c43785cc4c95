//! The Router against mock upstreams on 127.0.0.1 that inject faults:
//! which upstream gets called, how often and in what order, on a manual
//! clock (sleeps are recorded, never waited) with a seeded random source.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::json;
use switchboard::router::{
    Cooling, DeploymentConfig, ManualClock, Rng, RouteOptions, Settings, SharedCooldowns, Strategy,
};
use switchboard::{ChatRequest, Client, ErrorKind, Router, RouterConfig};

use crate::support::{Mock, Reply};

pub(crate) fn ok(text: &str) -> Reply {
    Reply::json(
        200,
        &json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
        }),
    )
}

pub(crate) fn rate_limited(secs: u64) -> Reply {
    Reply::json(429, &json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))
        .header("retry-after", &secs.to_string())
}

fn server_error(status: u16) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"message": "upstream trouble", "type": "server_error", "code": null}}),
    )
}

pub(crate) fn dep(group: &str, model: &str, mock: &Mock, id: &str) -> DeploymentConfig {
    DeploymentConfig::new(group, model)
        .api_key("k")
        .api_base(format!("{}/v1", mock.url))
        .id(id)
}

pub(crate) fn router(
    deployments: Vec<DeploymentConfig>,
    settings: Settings,
) -> (Router, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let config = RouterConfig {
        router: settings,
        deployments,
    };
    let r = Router::with_clock(
        Client::new().unwrap(),
        config,
        clock.clone(),
        Rng::seeded(7),
    )
    .unwrap();
    (r, clock)
}

pub(crate) fn req(group: &str) -> ChatRequest {
    ChatRequest::new(group).user("Summarize this.")
}

#[tokio::test]
async fn a_rate_limited_key_hands_over_to_the_other_key_and_cools_down() {
    let a = Mock::start(vec![rate_limited(2)]).await;
    let b = Mock::start(vec![ok("from b")]).await;
    let (r, clock) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &a, "key-a").weight(1000.0),
            dep("chat", "openai/gpt-4o-mini", &b, "key-b"),
        ],
        Settings::default(),
    );
    let first = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(first.deployment, "key-b");
    assert_eq!(first.response.text(), Some("from b"));
    let kinds: Vec<_> = first
        .attempts
        .iter()
        .map(|a| (a.deployment.as_str(), a.kind))
        .collect();
    assert_eq!(
        kinds,
        [("key-a", Some(ErrorKind::RateLimit)), ("key-b", None)]
    );
    assert!(
        clock.sleeps().is_empty(),
        "switching deployments needs no wait"
    );
    // key-a is cooling down for its Retry-After: the next call skips it despite its weight.
    let second = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(second.deployment, "key-b");
    assert_eq!((a.requests().len(), b.requests().len()), (1, 2));
    // After the Retry-After, key-a comes back by itself.
    clock.advance(Duration::from_secs(3));
    let _ = r.completion(&req("chat"), &RouteOptions::default()).await;
    assert_eq!(a.requests().len(), 2);
}

#[tokio::test]
async fn a_single_deployment_waits_for_retry_after_then_succeeds() {
    let m = Mock::start(vec![rate_limited(2), ok("done")]).await;
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings {
            allowed_fails: 5,
            ..Settings::default()
        },
    );
    let s = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.response.text(), Some("done"));
    assert_eq!(m.requests().len(), 2);
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2)],
        "waited exactly the Retry-After"
    );
}

#[tokio::test]
async fn server_errors_back_off_exponentially_on_one_deployment() {
    let m = Mock::start(vec![server_error(500), server_error(503), ok("third time")]).await;
    let settings = Settings {
        allowed_fails: 10,
        backoff_ms: 100,
        ..Settings::default()
    };
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        settings,
    );
    let s = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.response.text(), Some("third time"));
    assert_eq!(m.requests().len(), 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps[0] >= Duration::from_millis(50) && sleeps[0] <= Duration::from_millis(100),
        "{sleeps:?}"
    );
    assert!(
        sleeps[1] >= Duration::from_millis(100) && sleeps[1] <= Duration::from_millis(200),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn a_bad_request_is_not_retried() {
    let m = Mock::start(vec![Reply::json(400, &json!({"error": {"message": "bad field", "type": "invalid_request_error", "code": null}})), ok("never")]).await;
    let (r, _) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings::default(),
    );
    let e = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert_eq!(m.requests().len(), 1);
    assert_eq!(e.attempts().len(), 1);
}

#[tokio::test]
async fn per_call_fallbacks_take_over_when_a_group_is_down_and_every_attempt_is_reported() {
    let down = Mock::start(vec![server_error(503)]).await;
    let up = Mock::start(vec![ok("fallback answer")]).await;
    let settings = Settings {
        retries: 1,
        ..Settings::default()
    };
    let (r, _) = router(
        vec![
            dep("main", "openai/gpt-4o", &down, "main-1"),
            dep("backup", "openai/gpt-4o-mini", &up, "backup-1"),
        ],
        settings,
    );
    let route = RouteOptions {
        fallbacks: Some(vec!["backup".into()]),
        ..Default::default()
    };
    let s = r.completion(&req("main"), &route).await.unwrap();
    assert_eq!(s.deployment, "backup-1");
    let trail: Vec<_> = s
        .attempts
        .iter()
        .map(|a| (a.deployment.as_str(), a.kind, a.status))
        .collect();
    assert_eq!(
        trail,
        [
            ("main-1", Some(ErrorKind::ServiceUnavailable), Some(503)),
            ("main-1", Some(ErrorKind::ServiceUnavailable), Some(503)),
            ("backup-1", None, None)
        ]
    );
    assert_eq!(up.requests()[0].json()["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn a_prompt_too_long_for_the_small_model_goes_to_the_large_one() {
    let small = Mock::start(vec![ok("small")]).await;
    let large = Mock::start(vec![ok("large")]).await;
    let mut settings = Settings::default();
    settings
        .context_window_fallbacks
        .insert("small".into(), vec!["large".into()]);
    // gpt-4's catalog window is 8,192 tokens; gpt-4o's 128,000.
    let (r, _) = router(
        vec![
            dep("small", "openai/gpt-4", &small, "s"),
            dep("large", "openai/gpt-4o", &large, "l"),
        ],
        settings,
    );
    let long = ChatRequest::new("small").user("word ".repeat(12_000));
    let s = r.completion(&long, &RouteOptions::default()).await.unwrap();
    assert_eq!(s.deployment, "l");
    assert_eq!(
        small.requests().len(),
        0,
        "the pre-call check skipped the small model"
    );
    // A provider's own context-window error takes the same road.
    let e = r.completion(&req("small"), &RouteOptions::default()).await;
    assert_eq!(e.unwrap().deployment, "s");
}

#[tokio::test]
async fn a_provider_context_window_error_falls_back_to_the_larger_group() {
    let small = Mock::start(vec![Reply::json(400, &json!({"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}}))]).await;
    let large = Mock::start(vec![ok("large")]).await;
    let mut settings = Settings::default();
    settings
        .context_window_fallbacks
        .insert("small".into(), vec!["large".into()]);
    let (r, _) = router(
        vec![
            dep("small", "openai/gpt-4", &small, "s"),
            dep("large", "openai/gpt-4o", &large, "l"),
        ],
        settings,
    );
    let s = r
        .completion(&req("small"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.deployment, "l");
    assert_eq!(s.attempts[0].kind, Some(ErrorKind::ContextWindowExceeded));
    assert_eq!(small.requests().len(), 1);
}

/// Cooldowns another Router announced: each id cools for its duration,
/// reported once (the local Router then keeps it).
#[derive(Default)]
struct Announced(std::sync::Mutex<std::collections::HashMap<String, Duration>>);

impl SharedCooldowns for Announced {
    fn cooling<'a>(&'a self, ids: &'a [&'a str]) -> BoxFuture<'a, Vec<Option<Duration>>> {
        let mut held = self.0.lock().unwrap();
        let left = ids.iter().map(|id| held.remove(*id)).collect();
        Box::pin(std::future::ready(left))
    }

    fn cool_down<'a>(&'a self, _id: &'a str, _left: Duration) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn when_every_deployment_cools_down_the_error_says_so_and_when_one_returns() {
    let m = Mock::start(vec![ok("back")]).await;
    let settings = Settings {
        retries: 0,
        ..Settings::default()
    };
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        settings,
    );
    let shared = Arc::new(Announced::default());
    shared
        .0
        .lock()
        .unwrap()
        .insert("only".into(), Duration::from_secs(30));
    let r = r.with_shared_cooldowns(shared);
    let cooling = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(cooling.kind(), ErrorKind::ServiceUnavailable);
    assert!(cooling.message().contains("cooling down"), "{cooling}");
    assert_eq!(cooling.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(m.requests().len(), 0);
    assert_eq!(
        r.cooling(),
        [Cooling {
            group: "chat".into(),
            deployment: "only".into(),
            left: Duration::from_secs(30)
        }]
    );
    clock.advance(Duration::from_secs(31));
    let back = r.completion(&req("chat"), &RouteOptions::default()).await;
    assert_eq!(back.unwrap().response.text(), Some("back"));
    assert_eq!(m.requests().len(), 1, "the cooldown ended by itself");
    assert!(r.cooling().is_empty());
}

#[tokio::test]
async fn with_retries_left_a_call_waits_for_the_first_deployment_to_return() {
    let m = Mock::start(vec![ok("after the wait")]).await;
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings::default(),
    );
    let shared = Arc::new(Announced::default());
    shared
        .0
        .lock()
        .unwrap()
        .insert("only".into(), Duration::from_secs(20));
    let r = r.with_shared_cooldowns(shared);
    let s = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.response.text(), Some("after the wait"));
    assert_eq!(clock.sleeps(), [Duration::from_secs(20)]);
}

#[tokio::test]
async fn a_groups_last_healthy_deployment_is_never_cooled_down() {
    let only = Mock::start(vec![server_error(500), ok("still here")]).await;
    let settings = Settings {
        allowed_fails: 1,
        retries: 0,
        ..Settings::default()
    };
    let (r, _) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &only, "only")],
        settings.clone(),
    );
    let first = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Internal);
    assert!(r.cooling().is_empty(), "{:?}", r.cooling());
    let second = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(second.response.text(), Some("still here"));

    // With two, the first to fail cools down; the other, then alone, does not.
    let a = Mock::start(vec![server_error(500)]).await;
    let b = Mock::start(vec![server_error(500)]).await;
    let (r, _) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &a, "a").weight(1000.0),
            dep("chat", "openai/gpt-4o-mini", &b, "b"),
        ],
        Settings {
            retries: 1,
            ..settings
        },
    );
    let e = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.attempts().len(), 2);
    let cooling: Vec<String> = r.cooling().into_iter().map(|c| c.deployment).collect();
    assert_eq!(cooling, ["a"]);
}

#[tokio::test]
async fn two_concurrent_calls_on_three_rate_limited_keys_retry_within_budget_and_end_as_rate_limit()
{
    let mocks = [
        Mock::start(vec![rate_limited(1)]).await,
        Mock::start(vec![rate_limited(1)]).await,
        Mock::start(vec![rate_limited(1)]).await,
    ];
    let settings = Settings {
        retries: 3,
        ..Settings::default()
    };
    let (r, _) = router(
        mocks
            .iter()
            .enumerate()
            .map(|(i, m)| dep("chat", "openai/gpt-4o-mini", m, &format!("key-{i}")))
            .collect(),
        settings,
    );
    let (request, route) = (req("chat"), RouteOptions::default());
    let (one, two) = tokio::join!(
        r.completion(&request, &route),
        r.completion(&request, &route)
    );
    for e in [one.unwrap_err(), two.unwrap_err()] {
        assert_eq!(e.kind(), ErrorKind::RateLimit, "{e}");
        assert_eq!(e.attempts().len(), 4, "the whole retry budget: {e}");
    }
    let calls: usize = mocks.iter().map(|m| m.requests().len()).sum();
    assert_eq!(calls, 8);
}

#[tokio::test]
async fn resets_and_timeouts_move_to_another_deployment() {
    let reset = Mock::start(vec![Reply::drop_connection()]).await;
    let slow = Mock::start(vec![Reply::hang()]).await;
    let good = Mock::start(vec![ok("good")]).await;
    let settings = Settings {
        strategy: Strategy::LeastBusy,
        retries: 3,
        ..Settings::default()
    };
    let (r, _) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &reset, "reset").weight(100.0),
            dep("chat", "openai/gpt-4o-mini", &slow, "slow")
                .weight(10.0)
                .timeout(Duration::from_millis(300)),
            dep("chat", "openai/gpt-4o-mini", &good, "good").weight(0.001),
        ],
        settings,
    );
    let s = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.deployment, "good");
    let kinds: Vec<_> = s
        .attempts
        .iter()
        .map(|a| (a.deployment.as_str(), a.kind))
        .collect();
    assert_eq!(kinds[2], ("good", None));
    assert!(
        kinds.contains(&("reset", Some(ErrorKind::Connection))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("slow", Some(ErrorKind::Timeout))),
        "{kinds:?}"
    );
}

fn openai_stream(words: &[&str], finish: bool) -> String {
    let mut body = String::new();
    for w in words {
        body.push_str(&format!(
            "data: {}\n\n",
            json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": null}]})
        ));
    }
    if finish {
        body.push_str(&format!(
            "data: {}\n\ndata: [DONE]\n\n",
            json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        ));
    }
    body
}

#[tokio::test]
async fn a_stream_failing_before_its_first_chunk_is_retried_elsewhere() {
    let bad = Mock::start(vec![server_error(503)]).await;
    let good = Mock::start(vec![Reply::stream(
        "text/event-stream",
        openai_stream(&["Hel", "lo"], true),
    )])
    .await;
    let (r, _) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &bad, "bad").weight(100.0),
            dep("chat", "openai/gpt-4o-mini", &good, "good"),
        ],
        Settings::default(),
    );
    let mut request = req("chat");
    request.stream = Some(true);
    let routed = r.stream(&request, &RouteOptions::default()).await.unwrap();
    assert_eq!(routed.deployment, "good");
    let text: String = routed
        .response
        .map(|c| {
            c.unwrap()
                .choices
                .first()
                .and_then(|c| c.delta.content.clone())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .await
        .concat();
    assert_eq!(text, "Hello");
}

#[tokio::test]
async fn a_stream_cut_after_its_first_chunks_ends_in_an_error_without_switching() {
    let cut = Mock::start(vec![Reply::stream(
        "text/event-stream",
        openai_stream(&["One", " two"], false),
    )])
    .await;
    let other = Mock::start(vec![Reply::stream(
        "text/event-stream",
        openai_stream(&["never"], true),
    )])
    .await;
    let (r, _) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &cut, "cut").weight(1000.0),
            dep("chat", "openai/gpt-4o-mini", &other, "other"),
        ],
        Settings::default(),
    );
    let mut request = req("chat");
    request.stream = Some(true);
    let routed = r.stream(&request, &RouteOptions::default()).await.unwrap();
    let items: Vec<_> = routed.response.collect().await;
    assert!(items[0].is_ok());
    assert_eq!(
        items.last().unwrap().as_ref().unwrap_err().kind(),
        ErrorKind::Connection
    );
    assert_eq!(
        other.requests().len(),
        0,
        "never a silent switch mid-answer"
    );
}

#[tokio::test]
async fn weighted_shuffle_follows_the_weights() {
    let a = Mock::start(vec![ok("a")]).await;
    let b = Mock::start(vec![ok("b")]).await;
    let (r, _) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &a, "a").weight(3.0),
            dep("chat", "openai/gpt-4o-mini", &b, "b").weight(1.0),
        ],
        Settings::default(),
    );
    let picks: Vec<String> = (0..400).map(|_| r.pick_for("chat", 10).unwrap()).collect();
    let share_a = picks.iter().filter(|p| *p == "a").count() as f64 / 400.0;
    assert!((0.65..=0.85).contains(&share_a), "share of a: {share_a}");
}

#[test]
fn a_toml_config_reads_groups_keys_from_env_and_fallbacks() {
    let text = r#"
        [router]
        strategy = "latency-based"
        retries = 3
        fallbacks = { chat = ["cheap"] }

        [[deployments]]
        group = "chat"
        model = "openai/gpt-4o"
        api-key = "literal-key"
        rpm = 100

        [[deployments]]
        group = "cheap"
        model = "anthropic/claude-haiku-4-5"
        api-key = "env:SWITCHBOARD_ROUTER_TEST_KEY_UNSET"
    "#;
    let cfg = RouterConfig::from_toml(text).unwrap();
    assert_eq!(cfg.router.strategy, Strategy::LatencyBased);
    assert_eq!(cfg.deployments.len(), 2);
    let err = Router::new(Client::new().unwrap(), cfg)
        .err()
        .expect("unset env reference");
    assert!(
        err.message().contains("SWITCHBOARD_ROUTER_TEST_KEY_UNSET"),
        "{err}"
    );
    let bad = RouterConfig::from_toml("[router]\nstrategy = \"fastest\"\n").unwrap_err();
    assert!(bad.message().contains("fastest"), "{bad}");
}

/// A base URL the caller chose (a proxy client's `api_base`) is a route
/// option: the picked deployment's key and model go there, and a failure
/// there is the host's, so no deployment cools down for it.
#[tokio::test]
async fn a_caller_base_url_gets_the_deployments_key_and_its_failures_cool_nothing() {
    let a = Mock::start(vec![ok("from a")]).await;
    let b = Mock::start(vec![ok("from b")]).await;
    let chosen = Mock::start(vec![server_error(503), ok("from the chosen host")]).await;
    let settings = Settings {
        retries: 0,
        allowed_fails: 1,
        ..Settings::default()
    };
    let (r, _clock) = router(
        vec![
            dep("chat", "openai/gpt-4o-mini", &a, "key-a"),
            dep("chat", "openai/gpt-4o-mini", &b, "key-b"),
        ],
        settings,
    );
    let route = RouteOptions {
        api_base: Some(format!("{}/v1", chosen.url)),
        ..RouteOptions::default()
    };
    let e = r.completion(&req("chat"), &route).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServiceUnavailable);
    assert_eq!(e.attempts().len(), 1);
    assert!(r.cooling().is_empty(), "{:?}", r.cooling());
    let got = r.completion(&req("chat"), &route).await.unwrap();
    assert_eq!(got.response.text(), Some("from the chosen host"));
    let sent = chosen.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].header("authorization"), Some("Bearer k"));
    assert_eq!(sent[1].json()["model"], "gpt-4o-mini");
    assert!(a.requests().is_empty() && b.requests().is_empty());
    let with_key = RouteOptions {
        api_base: Some("https://h.example/v1?key=sekrit-123".into()),
        ..RouteOptions::default()
    };
    let shown = format!("{with_key:?}");
    assert!(
        shown.contains("h.example") && !shown.contains("sekrit"),
        "{shown}"
    );
}
