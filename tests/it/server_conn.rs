//! The proxy's connections, on a real socket on 127.0.0.1 with raw HTTP/1.1
//! written by hand: the header-read, keep-alive and body-read deadlines
//! (on tokio's paused clock: no test waits for real), the connection cap,
//! requests hyper cannot parse answered in the OpenAI error JSON, and
//! SIGTERM on the real binary draining calls in flight, cutting a stalled
//! stream at the deadline, writing the spend log and exiting 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, ServerSettings, Store, serve};
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

/// An upstream that takes one request, writes `first` (nothing, or a head
/// and the first bytes of a body), says so on `received`, and writes `rest`
/// once `release` fires; while `release` is held it stalls.
async fn held_upstream(
    first: String,
    rest: String,
) -> (
    String,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (received, is_received) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.ends_with(b"}") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            seen.extend_from_slice(&buf[..n]);
        }
        sock.write_all(first.as_bytes()).await.unwrap();
        let _ = received.send(());
        if released.await.is_ok() {
            let _ = sock.write_all(rest.as_bytes()).await;
        } else {
            // Stalled for good: hold the socket until the proxy lets go.
            let _ = sock.read(&mut buf).await;
        }
    });
    (url, is_received, release)
}

/// SIGTERM while one JSON call waits on its upstream and one stream is
/// stalled mid-way: the JSON call still gets its 200 (drained), the
/// stream is cut at the deadline, both are in the spend log, and the
/// process exits 0 instead of waiting on the stalled upstream.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_calls_in_flight_then_cuts_a_stalled_stream() {
    use tokio::io::AsyncBufReadExt;
    let reply = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "late"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
    .to_string();
    let (json_up, json_received, release_json) = held_upstream(
        String::new(),
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        ),
    )
    .await;
    let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": null}]});
    let event = format!("data: {chunk}\n\n");
    let (stream_up, stream_received, _never) = held_upstream(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
            event.len()
        ),
        String::new(),
    )
    .await;

    let dir = std::env::temp_dir().join(format!("switchboard-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("spend.db");
    let _ = std::fs::remove_file(&db);
    let config = dir.join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nport = 0\nworkers = 2\nshutdown-timeout-secs = 3\nmaster-key = \"drain-master-key\"\n\
             database-url = \"sqlite://{}\"\n\n\
             [[deployments]]\ngroup = \"json\"\nmodel = \"openai/gpt-4o-mini\"\napi-key = \"k\"\napi-base = \"{json_up}/v1\"\n\n\
             [[deployments]]\ngroup = \"stream\"\nmodel = \"openai/gpt-4o-mini\"\napi-key = \"k\"\napi-base = \"{stream_up}/v1\"\n",
            db.display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut logged = Vec::new();
    let mut until = async |needle: &str| -> String {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(60), log.next_line())
                .await
                .unwrap_or_else(|_| panic!("no log line with {needle:?}: {logged:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("the server exited before {needle:?}: {logged:?}"));
            logged.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    };
    let serving = until("on http://").await;
    let base = format!(
        "http://{}",
        serving
            .split("on http://")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
    );

    let http = reqwest::Client::new();
    let ask = |group: &str, stream: bool| {
        http.post(format!("{base}/v1/chat/completions"))
            .bearer_auth("drain-master-key")
            .json(&json!({"model": group, "stream": stream,
                "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let streamed = ask("stream", true).await.unwrap();
    assert_eq!(streamed.status(), 200);
    stream_received.await.unwrap();
    let mut streamed = streamed.bytes_stream();
    let first = futures::StreamExt::next(&mut streamed)
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Hel"));
    let waiting = tokio::spawn(ask("json", false));
    json_received.await.unwrap();

    // SAFETY: signals our own child process.
    assert_eq!(
        unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) },
        0
    );
    let draining = until("shutting down").await;
    assert!(draining.contains("2 connections open"), "{draining}");
    release_json.send(()).unwrap();
    let answered = waiting.await.unwrap().unwrap();
    assert_eq!(
        answered.status(),
        200,
        "a call in flight finishes during the drain"
    );
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "late");

    let mut rest = Vec::new();
    while let Some(Ok(piece)) = futures::StreamExt::next(&mut streamed).await {
        rest.extend_from_slice(&piece);
    }
    assert!(
        !String::from_utf8_lossy(&rest).contains("[DONE]"),
        "the stalled stream was cut, not finished"
    );
    until("cutting 1 connection still open after 3 s").await;
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the server outlived its drain deadline")
        .unwrap();
    assert!(status.success(), "{status}");

    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut rows: Vec<(String, String)> = store
        .spend_logs(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.model_group, r.status))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("json".to_string(), "success".to_string()),
            ("stream".to_string(), "failure".to_string())
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
