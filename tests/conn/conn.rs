//! The proxy's connections, on a real socket on 127.0.0.1 with raw HTTP/1.1
//! written by hand: the header-read, keep-alive and body-read deadlines
//! (on tokio's paused clock: no test waits for real), the connection cap,
//! and requests hyper cannot parse answered in the OpenAI error JSON. (SIGTERM
//! on the real binary is in the main suite, `tests/it/server_shutdown.rs`.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, ServerSettings, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A server answering group `chat` from a mock deployment (no network),
/// its `[server]` settings changed by `settings`.
async fn start(settings: impl FnOnce(&mut ServerSettings)) -> SocketAddr {
    let mut c = ServerConfig::default();
    c.router.deployments =
        vec![DeploymentConfig::new("chat", "openai/gpt-4o-mini").mock_response("hi")];
    settings(&mut c.server);
    let state = Arc::new(AppState::new(Client::new().unwrap(), c).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state, std::future::pending()));
    addr
}

/// Everything the server sends until it closes the connection.
async fn read_to_end(sock: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// One answer on a kept-alive connection: its status and body.
async fn read_answer(sock: &mut TcpStream) -> (u16, String) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed before an answer: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content-length");
    while seen.len() < head_end + len {
        let n = sock.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed mid-body");
        seen.extend_from_slice(&buf[..n]);
    }
    let status = head[9..12].parse().unwrap();
    (
        status,
        String::from_utf8_lossy(&seen[head_end..head_end + len]).into_owned(),
    )
}

/// The status and OpenAI error JSON of a whole answer.
fn error_answer(text: &str) -> (u16, Value) {
    assert!(
        text.starts_with("HTTP/1.1 "),
        "not an HTTP answer: {text:?}"
    );
    let status = text[9..12].parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or_default();
    let json: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    assert!(json["error"]["message"].is_string(), "{json}");
    (status, json)
}

const LIVELINESS: &[u8] = b"GET /health/liveliness HTTP/1.1\r\nhost: x\r\n\r\n";

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_closed_at_the_header_read_timeout() {
    let addr = start(|s| s.header_read_timeout_secs = secs(10.0)).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let opened = Instant::now();
    assert_eq!(
        read_to_end(&mut silent).await,
        "",
        "closed without an answer"
    );
    assert!(
        opened.elapsed() >= Duration::from_secs(10),
        "{:?}",
        opened.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_head_that_stalls_gets_a_408_in_json() {
    let addr = start(|s| s.header_read_timeout_secs = secs(10.0)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let (status, body) = error_answer(&read_to_end(&mut slow).await);
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
}

#[tokio::test(start_paused = true)]
async fn an_idle_kept_alive_connection_lives_until_the_keep_alive_timeout() {
    let addr = start(|s| {
        s.header_read_timeout_secs = secs(5.0);
        s.keep_alive_timeout_secs = secs(20.0);
    })
    .await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(LIVELINESS).await.unwrap();
    assert_eq!(read_answer(&mut sock).await.0, 200);
    // Idle past the header-read timeout, within the keep-alive one: still served.
    tokio::time::sleep(Duration::from_secs(15)).await;
    sock.write_all(LIVELINESS).await.unwrap();
    assert_eq!(read_answer(&mut sock).await.0, 200);
    let answered = Instant::now();
    assert_eq!(read_to_end(&mut sock).await, "", "closed quietly");
    assert!(
        answered.elapsed() >= Duration::from_secs(20),
        "{:?}",
        answered.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stalls_gets_a_408_in_json() {
    let addr = start(|s| s.body_read_timeout_secs = secs(5.0)).await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":",
    )
    .await
    .unwrap();
    let sent = Instant::now();
    let (status, body) = read_answer(&mut sock).await;
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("\"request_timeout\""), "{body}");
    assert!(sent.elapsed() >= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn at_the_connection_limit_new_connections_wait_for_a_free_slot() {
    let addr = start(|s| {
        s.max_connections = 2;
        s.header_read_timeout_secs = secs(10.0);
    })
    .await;
    let _a = TcpStream::connect(addr).await.unwrap();
    let _b = TcpStream::connect(addr).await.unwrap();
    let mut c = TcpStream::connect(addr).await.unwrap();
    let asked = Instant::now();
    c.write_all(LIVELINESS).await.unwrap();
    // Answered only once the two silent ones are closed (at their header deadline).
    assert_eq!(read_answer(&mut c).await.0, 200);
    assert!(
        asked.elapsed() >= Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    c.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (_, metrics) = read_answer(&mut c).await;
    assert!(
        metrics.contains("switchboard_connection_limit_reached_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_open_connections 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn requests_hyper_cannot_parse_are_answered_in_json() {
    let addr = start(|_| {}).await;
    let long = "a".repeat(70 * 1024);
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello".to_vec(),
            400,
            "malformed_request",
        ),
        (
            b"GET /health/liveliness HTTP/1.1\r\nho\x01st: x\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (b"HELLO\r\n\r\n".to_vec(), 400, "malformed_request"),
        (
            format!("GET /health/liveliness HTTP/1.1\r\nhost: x\r\nx-big: {long}\r\n\r\n").into_bytes(),
            431,
            "request_head_too_large",
        ),
        (
            format!("GET /{long} HTTP/1.1\r\nhost: x\r\n\r\n").into_bytes(),
            431,
            "request_head_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let mut sock = TcpStream::connect(addr).await.unwrap();
        // The server may answer and close before taking all of a huge head.
        let _ = sock.write_all(&request).await;
        let text = read_to_end(&mut sock).await;
        let (got, body) = error_answer(&text);
        assert_eq!(
            got,
            status,
            "{}: {text}",
            String::from_utf8_lossy(&request[..request.len().min(40)])
        );
        assert_eq!(body["error"]["code"], code, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    }
    // Still serving.
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(LIVELINESS).await.unwrap();
    assert_eq!(read_answer(&mut sock).await.0, 200);
}

fn secs(s: f64) -> switchboard::duration::Seconds {
    switchboard::duration::Seconds::new(s, "test").unwrap()
}
