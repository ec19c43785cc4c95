//! SIGTERM on the real binary: calls in flight are drained, a stalled
//! stream is cut at the shutdown deadline, the spend log is written and the
//! process exits 0.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::server::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
