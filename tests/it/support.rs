//! A mock upstream on 127.0.0.1: answers each request with the next
//! scripted reply (the last one repeats), records every request, and can
//! stream a body in flushed pieces or cut it mid-way.

use std::sync::{Arc, Mutex};

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
        }
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

    let mut out = format!("HTTP/1.1 {} Mock\r\nconnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if reply.pieces == 0 && reply.cut_after.is_none() {
        out.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
        sock.write_all(out.as_bytes()).await?;
        sock.write_all(&reply.body).await?;
        return sock.flush().await;
    }
    out.push_str("transfer-encoding: chunked\r\n\r\n");
    sock.write_all(out.as_bytes()).await?;
    let body = match reply.cut_after {
        Some(n) => &reply.body[..n.min(reply.body.len())],
        None => &reply.body[..],
    };
    let size = body.len().div_ceil(reply.pieces.max(1)).max(1);
    for piece in body.chunks(size) {
        sock.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .await?;
        sock.write_all(piece).await?;
        sock.write_all(b"\r\n").await?;
        sock.flush().await?;
    }
    if reply.cut_after.is_none() {
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.flush().await
}
