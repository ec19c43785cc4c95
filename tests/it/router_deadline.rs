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
