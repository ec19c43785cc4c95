//! The Router keeps a call's deadline: each attempt gets only what is
//! left, a wait (Retry-After, backoff) that does not fit ends the call at
//! once with the wait passed on, and nothing waits longer than the Router
//! sits out. On a manual clock, except where a real stall is the point.

use std::sync::Arc;
use std::time::Duration;

use switchboard::duration::Seconds;
use switchboard::router::{Rng, RouteOptions, Settings};
use switchboard::{Client, ErrorKind, Router, RouterConfig};

use crate::router::{dep, ok, rate_limited, req, router};
use crate::support::{Mock, Reply};

#[tokio::test]
async fn a_retry_after_longer_than_what_is_left_fails_at_once_as_rate_limit() {
    let m = Mock::start(vec![rate_limited(3600)]).await;
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings {
            timeout_secs: Some(Seconds::new(5.0, "timeout-secs").unwrap()),
            ..Settings::default()
        },
    );
    let e = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimit);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    assert_eq!(m.requests().len(), 1);
}

#[tokio::test]
async fn retries_wait_only_while_the_deadline_allows() {
    let m = Mock::start(vec![rate_limited(3)]).await;
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings {
            allowed_fails: 10,
            retries: 5,
            ..Settings::default()
        },
    );
    let route = RouteOptions {
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    let e = r.completion(&req("chat"), &route).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimit);
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(3)],
        "3 s fit in 5, 6 do not"
    );
    assert_eq!(m.requests().len(), 2);
}

#[tokio::test]
async fn a_retry_after_past_what_the_router_sits_out_is_passed_on() {
    let m = Mock::start(vec![rate_limited(600), ok("never")]).await;
    let (r, clock) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings::default(),
    );
    let e = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimit);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(600)));
    assert!(clock.sleeps().is_empty());
    assert_eq!(m.requests().len(), 1);
}

#[tokio::test]
async fn a_hung_attempt_uses_up_the_deadline_and_is_not_retried() {
    let m = Mock::start(vec![Reply::hang()]).await;
    let clock = Arc::new(switchboard::router::TokioClock::default());
    let config = RouterConfig {
        router: Settings {
            retries: 2,
            timeout_secs: Some(Seconds::new(0.3, "timeout-secs").unwrap()),
            ..Settings::default()
        },
        deployments: vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
    };
    let r = Router::with_clock(Client::new().unwrap(), config, clock, Rng::seeded(7)).unwrap();
    let e = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.kind().http_status(), 504);
    assert_eq!(m.requests().len(), 1, "no retry past the deadline");
}

#[tokio::test]
async fn the_deadline_ends_at_a_streams_first_chunk_not_its_last() {
    let words = ["a", "b", "c", "d", "e", "f"];
    let mut body = String::new();
    for w in words {
        body.push_str(&format!(
            "data: {}\n\n",
            serde_json::json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": null}]})
        ));
    }
    body.push_str(&format!(
        "data: {}\n\ndata: [DONE]\n\n",
        serde_json::json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    ));
    let m = Mock::start(vec![
        Reply::stream("text/event-stream", body)
            .dripped(words.len() + 1, Duration::from_millis(100)),
    ])
    .await;
    let (r, _) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings {
            timeout_secs: Some(Seconds::new(0.25, "timeout-secs").unwrap()),
            ..Settings::default()
        },
    );
    let mut request = req("chat");
    request.stream = Some(true);
    let routed = r.stream(&request, &RouteOptions::default()).await.unwrap();
    let items: Vec<_> = futures::StreamExt::collect(routed.response).await;
    let text: String = items
        .iter()
        .map(|c| {
            c.as_ref()
                .unwrap_or_else(|e| panic!("a healthy stream was cut: {e}"))
                .choices
                .first()
                .and_then(|c| c.delta.content.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(text, "abcdef");
}

#[tokio::test]
async fn a_stream_silent_before_its_first_chunk_is_a_timeout() {
    let m = Mock::start(vec![
        Reply::stream("text/event-stream", ": hello\n\n").stalled_after(9),
    ])
    .await;
    let (r, _) = router(
        vec![dep("chat", "openai/gpt-4o-mini", &m, "only")],
        Settings {
            retries: 0,
            first_token_timeout_secs: Some(Seconds::new(0.3, "first-token-timeout-secs").unwrap()),
            ..Settings::default()
        },
    );
    let mut request = req("chat");
    request.stream = Some(true);
    let e = r
        .stream(&request, &RouteOptions::default())
        .await
        .err()
        .expect("no first chunk");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.kind().http_status(), 504);
}
