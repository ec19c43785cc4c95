//! The one call record, end to end: every way a proxied call can end leaves
//! exactly one finished record with what the call was, seen by an observer
//! the state holds (the seam logging callbacks fill). Upstreams are mock
//! deployments (no network) or raw sockets on 127.0.0.1 speaking OpenAI's
//! wire format.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use super::record::{CallRecord, Observer, Outcome};
use super::{AppState, ServerConfig, app};
use crate::error::ErrorKind;
use crate::router::DeploymentConfig;

const KEY: &str = "sk-master-record-test";

/// What a test reads of a finished record.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    route: &'static str,
    outcome: Outcome,
    group: String,
    admitted: bool,
    deployment: String,
    stream: bool,
    first_byte: bool,
    total_tokens: Option<u64>,
    priced: bool,
    attempts: usize,
}

#[derive(Default)]
struct Collect(Mutex<Vec<Seen>>);

impl Observer for Collect {
    fn finished(&self, c: &CallRecord) {
        let seen = Seen {
            route: c.route.label(),
            outcome: c.outcome,
            group: c.group.clone(),
            admitted: c.admitted,
            deployment: c.deployment.clone(),
            stream: c.stream,
            first_byte: c.first_byte.is_some(),
            total_tokens: c.usage.as_ref().map(|u| u.total_tokens),
            priced: c
                .usage
                .as_ref()
                .and_then(|u| u.cost)
                .is_some_and(|c| c.priced),
            attempts: c.attempts.len(),
        };
        self.0.lock().unwrap().push(seen);
    }
}

impl Collect {
    /// The one record finished since the last look.
    fn one(&self) -> Seen {
        let mut all = self.0.lock().unwrap();
        assert_eq!(all.len(), 1, "exactly one record per call: {all:?}");
        all.pop().unwrap()
    }
}

/// The requests an upstream received, whole (head and body).
type Received = Arc<Mutex<Vec<String>>>;

/// Answers every connection with `reply` (a whole HTTP response, or a cut
/// one), after reading the request; returns its base URL and what it received.
async fn upstream(reply: String) -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let received = Received::default();
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let reply = reply.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !request_complete(&seen) {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&seen).into_owned());
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, received)
}

/// A request head and as much body as its content-length says.
fn request_complete(seen: &[u8]) -> bool {
    let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    seen.len() >= end + 4 + length
}

fn http(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// An OpenAI stream chunk: a delta, or (with `usage`) the usage chunk.
fn chunk(delta: serde_json::Value, finish: Option<&str>, usage: Option<[u64; 2]>) -> String {
    let mut c = json!({
        "id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    if let Some([prompt, completion]) = usage {
        c["choices"] = json!([]);
        c["usage"] = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    }
    format!("data: {c}\n\n")
}

/// An OpenAI stream that ends with its usage chunk (as include_usage asks).
fn whole_stream() -> String {
    let body = [
        chunk(json!({"role": "assistant", "content": "Hel"}), None, None),
        chunk(json!({"content": "lo"}), Some("stop"), None),
        chunk(json!({}), None, Some([9, 3])),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    http("200 OK", "text/event-stream", &body)
}

/// An OpenAI stream whose connection closes after its first event.
fn cut_stream() -> String {
    let first = chunk(json!({"role": "assistant", "content": "Hel"}), None, None);
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{first}"
    )
}

fn dep(group: &str, base: Option<&str>) -> DeploymentConfig {
    let d = DeploymentConfig::new(group, "openai/gpt-4o-mini")
        .id(format!("{group}-dep"))
        .api_key("upstream-key");
    match base {
        Some(url) => d.api_base(url),
        None => d.mock_response("Hi there you"),
    }
}

async fn server(collect: Arc<Collect>) -> (axum::Router, Received) {
    let limited = http(
        "429 Too Many Requests",
        "application/json",
        &json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}})
            .to_string(),
    );
    let embedded = http(
        "200 OK",
        "application/json",
        &json!({
            "object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        })
        .to_string(),
    );
    let mut c = ServerConfig::default();
    c.server.master_key = Some(KEY.into());
    c.router.router.retries = 0;
    let (streamer, received) = upstream(whole_stream()).await;
    c.router.deployments = vec![
        dep("mock", None),
        dep("streamer", Some(&streamer)),
        dep("limited", Some(&upstream(limited).await.0)),
        dep("cut", Some(&upstream(cut_stream()).await.0)),
        DeploymentConfig::new("emb", "openai/text-embedding-3-small")
            .id("emb-dep")
            .api_key("upstream-key")
            .api_base(upstream(embedded).await.0),
    ];
    let state = AppState::new(crate::Client::new().unwrap(), c)
        .unwrap()
        .with_observer(collect);
    (app(Arc::new(state)), received)
}

fn post(path: &str, key: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    req.body(body.into()).unwrap()
}

fn chat(model: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
        .to_string()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn every_way_a_call_ends_leaves_exactly_one_record() {
    let seen = Arc::new(Collect::default());
    let (app, streamed) = server(seen.clone()).await;
    let chat_path = "/v1/chat/completions";

    // A JSON answer: who served, its usage and cost.
    let (status, body) = call(&app, post(chat_path, Some(KEY), chat("mock", false))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = seen.one();
    assert_eq!(
        (r.route, r.outcome, r.group.as_str(), r.deployment.as_str()),
        ("chat", Outcome::Success, "mock", "mock-dep")
    );
    assert!(
        r.admitted && !r.stream && !r.first_byte && r.attempts == 1,
        "{r:?}"
    );
    assert!(r.total_tokens.is_some_and(|t| t > 0) && r.priced, "{r:?}");

    // A stream the client did not ask usage of: the record has it anyway,
    // the client does not see it.
    let (status, body) = call(&app, post(chat_path, Some(KEY), chat("mock", true))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert!(!body.contains("\"usage\""), "{body}");
    let r = seen.one();
    assert_eq!(
        (r.outcome, r.deployment.as_str()),
        (Outcome::Success, "mock-dep")
    );
    assert!(r.stream && r.first_byte, "{r:?}");
    assert!(r.total_tokens.is_some_and(|t| t > 0) && r.priced, "{r:?}");

    // The same from an OpenAI upstream: asked for its usage chunk, which
    // the engine reads and the client (which did not ask) never sees.
    let (status, body) = call(&app, post(chat_path, Some(KEY), chat("streamer", true))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("\"lo\"") && body.ends_with("data: [DONE]\n\n"),
        "{body}"
    );
    assert!(!body.contains("\"usage\""), "{body}");
    let sent = streamed.lock().unwrap().pop().unwrap();
    assert!(
        sent.contains(r#""stream_options":{"include_usage":true}"#),
        "{sent}"
    );
    let r = seen.one();
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.total_tokens, Some(12));
    assert!(r.priced && r.first_byte, "{r:?}");
    // A client that asks sees the usage chunk, learned the same way.
    let asked = json!({"model": "streamer", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]});
    let (_, body) = call(&app, post(chat_path, Some(KEY), asked.to_string())).await;
    assert_eq!(body.matches("\"total_tokens\":12").count(), 1, "{body}");
    assert_eq!(seen.one().total_tokens, Some(12));

    // The client goes away after the first event.
    let resp = app
        .clone()
        .oneshot(post(chat_path, Some(KEY), chat("mock", true)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut events = resp.into_body().into_data_stream();
    let first = events.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: {"), "{first:?}");
    assert!(
        seen.0.lock().unwrap().is_empty(),
        "not finished while streaming"
    );
    drop(events);
    let r = seen.one();
    assert_eq!(r.outcome, Outcome::Cancelled);
    assert_eq!(r.total_tokens, None, "a cancelled stream bills nothing");

    // The upstream refuses: the kind, the attempt, no deployment served.
    let (status, _) = call(&app, post(chat_path, Some(KEY), chat("limited", false))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let r = seen.one();
    assert_eq!(r.outcome, Outcome::Failed(ErrorKind::RateLimit));
    assert_eq!((r.group.as_str(), r.deployment.as_str()), ("limited", ""));
    assert!(r.admitted && r.attempts == 1, "{r:?}");

    // A stream cut after its first event: an error event, a failed record.
    let (status, body) = call(&app, post(chat_path, Some(KEY), chat("cut", true))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("\"Hel\"") && body.contains("data: {\"error\""),
        "{body}"
    );
    let r = seen.one();
    assert_eq!(r.outcome, Outcome::Failed(ErrorKind::Connection));
    assert_eq!(r.deployment, "cut-dep");

    // Refused before routing: a malformed body, an unknown group, no key.
    let (status, _) = call(&app, post(chat_path, Some(KEY), "{")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = seen.one();
    assert_eq!(
        (r.outcome, r.group.as_str()),
        (Outcome::Failed(ErrorKind::BadRequest), "")
    );
    let (status, _) = call(&app, post(chat_path, Some(KEY), chat("nope", false))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = seen.one();
    assert_eq!(
        (r.outcome, r.group.as_str()),
        (Outcome::Failed(ErrorKind::NotFound), "nope")
    );
    let refused = app
        .clone()
        .oneshot(post(chat_path, None, chat("mock", false)))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    // Its body was never read: the client must not send another request on it.
    assert_eq!(refused.headers()["connection"], "close");
    let r = seen.one();
    assert_eq!(r.outcome, Outcome::Failed(ErrorKind::Authentication));
    assert!(!r.admitted && r.attempts == 0, "refused at the door: {r:?}");

    // Embeddings, through the same record.
    let body = json!({"model": "emb", "input": "hello"}).to_string();
    let (status, text) = call(&app, post("/v1/embeddings", Some(KEY), body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let r = seen.one();
    assert_eq!(
        (r.route, r.outcome, r.deployment.as_str(), r.total_tokens),
        ("embeddings", Outcome::Success, "emb-dep", Some(4))
    );

    // Not a call: no record.
    let resp = app
        .clone()
        .oneshot(
            Request::get("/v1/models")
                .header("authorization", format!("Bearer {KEY}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(seen.0.lock().unwrap().is_empty());
}
