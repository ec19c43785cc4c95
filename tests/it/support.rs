//! A mock upstream on 127.0.0.1 that speaks HTTP/1.1 and injects faults:
//! answers each request with the next scripted reply (the last one
//! repeats), records every request, and can stream a body in flushed
//! pieces, cut it mid-way, stall before the head or mid-body, drip it
//! slowly, send an endless body, or echo the request's headers in an error.
//! Also `skip`, which says why a test did not run where `cargo test` shows it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send the body chunked, in this many flushed pieces (0: Content-Length).
    pub pieces: usize,
    /// Close the connection after this many body bytes, without ending the chunked body.
    pub cut_after: Option<usize>,
    /// Read the request, then close the connection without any answer.
    pub drop_connection: bool,
    /// Read the request, then never answer (the caller's timeout must end it).
    pub hang: bool,
    /// After this many body bytes, send nothing more but keep the connection open.
    pub stall_after: Option<usize>,
    /// Wait this long before each piece after the first (a slow drip).
    pub drip: Option<Duration>,
    /// After the body, send this piece again and again until the client goes away.
    pub endless: Option<Vec<u8>>,
    /// Answer with an error body that repeats the request's headers, as some upstreams do.
    pub echo_headers: bool,
}

impl Reply {
    /// An OpenAI chat completion answering `text`, with this usage.
    pub fn openai_chat(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Reply {
        Reply::json(
            200,
            &serde_json::json!({
                "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens}
            }),
        )
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            pieces: 0,
            cut_after: None,
            drop_connection: false,
            hang: false,
            stall_after: None,
            drip: None,
            endless: None,
            echo_headers: false,
        }
    }

    /// Any status, content type and body bytes (an HTML page, garbage).
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            ..Reply::json(status, &serde_json::Value::Null)
        }
    }

    /// `status` with a JSON error whose message repeats every request header.
    pub fn echoing_headers(status: u16) -> Reply {
        Reply {
            echo_headers: true,
            ..Reply::json(status, &serde_json::Value::Null)
        }
    }

    /// A 200 head, then `start` and `piece` forever (chunked), never ending.
    pub fn endless(
        content_type: &str,
        start: impl Into<Vec<u8>>,
        piece: impl Into<Vec<u8>>,
    ) -> Reply {
        Reply {
            endless: Some(piece.into()),
            ..Reply::stream(content_type, start)
        }
    }

    /// Closes the connection after reading the request.
    pub fn drop_connection() -> Reply {
        Reply {
            drop_connection: true,
            ..Reply::json(500, &serde_json::Value::Null)
        }
    }

    /// Never answers.
    pub fn hang() -> Reply {
        Reply {
            hang: true,
            ..Reply::json(500, &serde_json::Value::Null)
        }
    }

    pub fn stream(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            pieces: 7,
            cut_after: None,
            drop_connection: false,
            hang: false,
            stall_after: None,
            drip: None,
            endless: None,
            echo_headers: false,
        }
    }

    /// The same reply, its body stalled (connection open) after `n` bytes.
    pub fn stalled_after(mut self, n: usize) -> Reply {
        self.stall_after = Some(n);
        self
    }

    /// The same reply, each piece after the first sent `every` later.
    pub fn dripped(mut self, pieces: usize, every: Duration) -> Reply {
        self.pieces = pieces;
        self.drip = Some(every);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request the mock received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub struct Mock {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    pub async fn start(replies: Vec<Reply>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((sock, _)) = listener.accept().await {
                let reply = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, reply, log).await;
                });
            }
        });
        Mock { url, seen }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn serve(
    mut sock: TcpStream,
    reply: Reply,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let echoed = reply.echo_headers.then(|| {
        let sent: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        serde_json::json!({"error": {"message": format!("bad request; you sent {}", sent.join("; ")),
            "type": "invalid_request_error", "headers": sent}})
        .to_string()
        .into_bytes()
    });
    log.lock().expect("lock").push(Seen {
        method,
        target,
        headers,
        body,
    });
    if reply.drop_connection {
        return Ok(());
    }
    if reply.hang {
        // Keep the socket open until the client gives up and closes it.
        let _ = sock.read(&mut tmp).await;
        return Ok(());
    }
    let reply = match echoed {
        Some(body) => Reply { body, ..reply },
        None => reply,
    };

    let mut out = format!("HTTP/1.1 {} Mock\r\nconnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    let chunked = reply.pieces > 0
        || reply.cut_after.is_some()
        || reply.stall_after.is_some()
        || reply.endless.is_some();
    if !chunked {
        out.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
        sock.write_all(out.as_bytes()).await?;
        sock.write_all(&reply.body).await?;
        return sock.flush().await;
    }
    out.push_str("transfer-encoding: chunked\r\n\r\n");
    sock.write_all(out.as_bytes()).await?;
    let end = [reply.cut_after, reply.stall_after]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(reply.body.len());
    let body = &reply.body[..end.min(reply.body.len())];
    let size = body.len().div_ceil(reply.pieces.max(1)).max(1);
    for (i, piece) in body.chunks(size).enumerate() {
        if let (Some(every), true) = (reply.drip, i > 0) {
            tokio::time::sleep(every).await;
        }
        write_chunk(&mut sock, piece).await?;
    }
    if reply.stall_after.is_some() {
        // Keep the socket open, silent, until the client gives up and closes it.
        let _ = sock.read(&mut tmp).await;
        return Ok(());
    }
    if let Some(piece) = &reply.endless {
        // Until the client closes the connection (a write then fails).
        loop {
            if let Some(every) = reply.drip {
                tokio::time::sleep(every).await;
            }
            write_chunk(&mut sock, piece).await?;
        }
    }
    if reply.cut_after.is_none() {
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.flush().await
}

async fn write_chunk(sock: &mut TcpStream, piece: &[u8]) -> std::io::Result<()> {
    sock.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
        .await?;
    sock.write_all(piece).await?;
    sock.write_all(b"\r\n").await?;
    sock.flush().await
}

/// Says that `test` did not run, and why, on the process's own stderr: the
/// test harness captures only the print macros, so this line shows in a
/// plain `cargo test` run (no `--nocapture`) while the test counts as passed.
// For the suites that skip without a service (Redis, PostgreSQL, the SDKs).
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED {test}: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
