//! One client connection, served with hyper's HTTP/1.1 and bounded in time:
//!
//! - a request head (request line and headers) must arrive within the
//!   header-read timeout: counted from the accept for a new connection,
//!   from its first byte for a later request (408 when part of a head had
//!   arrived, a quiet close when nothing had);
//! - a kept-alive connection with no request under way is closed after the
//!   keep-alive timeout;
//! - no deadline while a request is being answered (the body has its own,
//!   in [`body`](super::body); upstreams have theirs);
//! - on a drain ([`Stage::Draining`]) keep-alive stops and the call in
//!   flight finishes; on a cut ([`Stage::Cut`]) the connection is dropped.
//!
//! Requests hyper cannot parse never reach the routes: hyper answers them
//! itself with an empty body — 400 (a malformed request line, header name or
//! value bytes, `Content-Length` or `Transfer-Encoding`), 431 (a head over
//! [`MAX_HEAD_BYTES`]; also a request line that long, which would otherwise
//! be 414). The socket wrapper below replaces each such answer, written
//! before any request was dispatched, with the same status and an OpenAI
//! error JSON body. An unknown method or path does reach the routes (405 and
//! 404 in JSON there).
//!
//! On the hot path the wrapper costs a few branches per read and write, and
//! one timer reset per request (the keep-alive deadline); no allocation.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;
use tower::util::Oneshot;

use super::client_ip::ClientIp;
use super::error::{ApiError, too_slow};

/// The largest request head read. hyper answers a larger one itself (see
/// the module doc); 64 KiB is far more than any SDK sends.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Where the server is in its life, as each connection sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Serving,
    /// Stop keeping connections alive; let calls in flight finish.
    Draining,
    /// Drop every connection still open.
    Cut,
}

/// What a connection serves: the routes behind the boundary.
pub(crate) type Routes = super::boundary::Guard<axum::Router>;

/// A connection's time limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) header_read: Duration,
    pub(crate) keep_alive: Duration,
}

/// Serves `tcp` with `app` until the client leaves, a limit closes it, or
/// the `stage` says to stop.
pub(crate) async fn serve(
    tcp: TcpStream,
    app: Routes,
    timeouts: Timeouts,
    mut stage: watch::Receiver<Stage>,
) {
    let peer = tcp.peer_addr().ok().map(|a| ClientIp(a.ip()));
    let calls = Arc::new(Calls::default());
    let io = TokioIo::new(Bounded::new(tcp, calls.clone(), timeouts));
    let service = Dispatch { app, calls, peer };
    let conn = http1::Builder::new()
        .max_header_size(MAX_HEAD_BYTES)
        // Ours (in `Bounded`), not hyper's: it would also cut idle time short.
        .header_read_timeout(None)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        biased;
        _ = conn.as_mut() => return,
        _ = stage.wait_for(|s| *s != Stage::Serving) => {}
    }
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        biased;
        _ = conn.as_mut() => {}
        // Dropping the connection cancels its call: meters record a failure.
        _ = stage.wait_for(|s| *s == Stage::Cut) => {}
    }
}

/// The requests a connection has dispatched and answered, counted by its
/// service and answers (all on the connection's one task) and read by its
/// socket: a count, not a flag, so a request answered between two socket
/// calls is not missed.
#[derive(Default)]
struct Calls {
    dispatched: AtomicU64,
    answered: AtomicU64,
}

impl Calls {
    fn dispatched(&self) -> u64 {
        self.dispatched.load(Ordering::Relaxed)
    }

    /// Every request dispatched has its answer done.
    fn all_answered(&self) -> bool {
        self.answered.load(Ordering::Relaxed) == self.dispatched()
    }
}

/// Hands each request to the routes, counting it.
struct Dispatch {
    app: Routes,
    calls: Arc<Calls>,
    /// The client's address, on every request (`allowed-ips`).
    peer: Option<ClientIp>,
}

impl hyper::service::Service<Request<Incoming>> for Dispatch {
    type Response = Response<Answer>;
    type Error = Infallible;
    type Future = Dispatched;

    fn call(&self, mut req: Request<Incoming>) -> Dispatched {
        self.calls.dispatched.fetch_add(1, Ordering::Relaxed);
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(peer);
        }
        Dispatched {
            inner: self.app.clone().oneshot(req.map(Body::new)),
            calls: Some(self.calls.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    struct Dispatched {
        #[pin]
        inner: Oneshot<Routes, Request<Body>>,
        calls: Option<Arc<Calls>>,
    }
}

impl Future for Dispatched {
    type Output = Result<Response<Answer>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let resp = match ready!(this.inner.poll(cx)) {
            Ok(resp) => resp,
            Err(never) => match never {},
        };
        let calls = this.calls.take();
        Poll::Ready(Ok(resp.map(|body| Answer { body, calls })))
    }
}

/// An answer's body; counted as answered when it is dropped (written
/// whole, or abandoned).
struct Answer {
    body: Body,
    calls: Option<Arc<Calls>>,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Some(calls) = &self.calls {
            calls.answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the connection waits for, as its socket sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// A request head; `started`: some of it arrived; `armed`: the timer
    /// holds its deadline.
    Head { started: bool, armed: bool },
    /// Nothing: a request is being answered (until its last byte is flushed).
    Answering,
    /// The next request's first byte; `armed` as above.
    Idle { armed: bool },
}

/// The client's socket, with the connection's deadlines.
struct Bounded {
    tcp: TcpStream,
    calls: Arc<Calls>,
    /// Requests dispatched as of the last look.
    seen: u64,
    timeouts: Timeouts,
    wait: Wait,
    timer: Pin<Box<Sleep>>,
    /// Bytes of the next request arrived while an answer was being flushed.
    early: bool,
    /// Our answer replacing hyper's own (see the module doc), and how much
    /// of it is written.
    rewrite: Option<(Vec<u8>, usize)>,
}

impl Bounded {
    fn new(tcp: TcpStream, calls: Arc<Calls>, timeouts: Timeouts) -> Self {
        Bounded {
            tcp,
            calls,
            seen: 0,
            timeouts,
            // The first head is due within the header-read timeout of the accept.
            wait: Wait::Head {
                started: false,
                armed: true,
            },
            timer: Box::pin(tokio::time::sleep(timeouts.header_read)),
            early: false,
            rewrite: None,
        }
    }

    /// Notices a request dispatched since the last look.
    fn sync(&mut self) {
        let dispatched = self.calls.dispatched();
        if dispatched != self.seen {
            self.seen = dispatched;
            self.wait = Wait::Answering;
        }
    }

    /// Sets the deadline of what is awaited, if not yet set; true when it
    /// has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let (after, armed) = match &mut self.wait {
            Wait::Answering => return false,
            Wait::Head { armed, .. } => (self.timeouts.header_read, armed),
            Wait::Idle { armed } => (self.timeouts.keep_alive, armed),
        };
        if !*armed {
            *armed = true;
            self.timer.as_mut().reset(Instant::now() + after);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }

    /// The answer due when the header-read deadline passes: a 408 for a
    /// client that started a head, written if the socket takes it at once.
    fn timed_out(&mut self) -> io::Error {
        if let Wait::Head { started: true, .. } = self.wait {
            let answer = canned(&too_slow("head", self.timeouts.header_read));
            let _ = self.tcp.try_write(&answer);
        }
        io::Error::new(io::ErrorKind::TimedOut, "the client was too slow")
    }

    /// Writes what is left of our replacement answer.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((answer, written)) = &mut self.rewrite else {
            return Poll::Ready(Ok(()));
        };
        while *written < answer.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &answer[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// A write while no request is being answered can only be hyper's own
    /// answer to a head it could not read: starts our replacement for it.
    /// False for anything else (written as it is).
    fn replaces(&mut self, first: &[u8]) -> bool {
        if self.rewrite.is_some() {
            return true;
        }
        self.sync();
        if self.wait == Wait::Answering {
            return false;
        }
        let Some(status) = hyper_error_status(first) else {
            return false;
        };
        let why = match status.as_u16() {
            431 | 414 => ApiError::invalid(
                format!(
                    "the request line and headers are larger than this server reads ({} KiB)",
                    MAX_HEAD_BYTES / 1024
                ),
                None,
            )
            .with_code("request_head_too_large"),
            400 => ApiError::invalid(
                "the request is not valid HTTP/1.1: a malformed request line, header, Content-Length or Transfer-Encoding",
                None,
            )
            .with_code("malformed_request"),
            _ => ApiError::invalid("the request could not be read", None),
        };
        self.rewrite = Some((canned(&why.with_status(status)), 0));
        true
    }
}

/// The status of hyper's own error answer (`HTTP/1.1 400 Bad Request…`).
fn hyper_error_status(head: &[u8]) -> Option<StatusCode> {
    let code = head
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| head.strip_prefix(b"HTTP/1.0 "))?
        .get(..3)?;
    let status = StatusCode::from_bytes(code).ok()?;
    (status.is_client_error() || status.is_server_error()).then_some(status)
}

/// A whole HTTP/1.1 answer for `e`, closing the connection.
fn canned(e: &ApiError) -> Vec<u8> {
    let body = e.body().to_string();
    let status = e.status();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

impl AsyncRead for Bounded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.sync();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        let got = matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before;
        match &mut this.wait {
            Wait::Answering => {
                if got && this.calls.all_answered() {
                    this.early = true;
                }
                return polled;
            }
            Wait::Idle { .. } if got => {
                // The next request begins; its deadline is set if it stalls.
                this.wait = Wait::Head {
                    started: true,
                    armed: false,
                };
                return polled;
            }
            Wait::Head { started, .. } if got => {
                *started = true;
                return polled;
            }
            _ if polled.is_ready() => return polled,
            _ => {}
        }
        if this.expired(cx) {
            return Poll::Ready(Err(this.timed_out()));
        }
        Poll::Pending
    }
}

impl AsyncWrite for Bounded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.replaces(buf) {
            return Pin::new(&mut this.tcp).poll_write(cx, buf);
        }
        ready!(this.poll_rewrite(cx))?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
        if !this.replaces(first) {
            return Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        }
        ready!(this.poll_rewrite(cx))?;
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewrite(cx))?;
        ready!(Pin::new(&mut this.tcp).poll_flush(cx))?;
        // hyper flushes after an answer's last byte: the answer is out.
        this.sync();
        if this.wait == Wait::Answering && this.calls.all_answered() {
            this.wait = if std::mem::take(&mut this.early) {
                Wait::Head {
                    started: true,
                    armed: false,
                }
            } else {
                Wait::Idle { armed: false }
            };
            // Arm the deadline now: hyper may not read again before it
            // sleeps, and this task must wake when the deadline passes.
            if this.expired(cx) {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewrite(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten years, the longest a config may say: the deadlines still arm.
    #[tokio::test]
    async fn the_longest_configurable_deadlines_arm_without_a_panic() {
        use tokio::io::AsyncReadExt;
        let longest = crate::duration::MAX_CONFIGURED;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let timeouts = Timeouts {
            header_read: longest,
            keep_alive: longest,
        };
        let mut conn = Bounded::new(server, Arc::new(Calls::default()), timeouts);
        conn.wait = Wait::Idle { armed: false };
        let mut buf = [0u8; 8];
        {
            let mut read = std::pin::pin!(conn.read(&mut buf));
            assert!(futures::poll!(read.as_mut()).is_pending());
        }
        assert_eq!(conn.wait, Wait::Idle { armed: true });
        drop(client);
    }

    #[test]
    fn only_hyper_error_answers_are_recognised() {
        assert_eq!(
            hyper_error_status(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            hyper_error_status(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(hyper_error_status(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(hyper_error_status(b"0\r\n\r\n"), None);
        assert_eq!(hyper_error_status(b"HTTP/1.1 4"), None);
    }

    #[test]
    fn a_canned_answer_is_complete_json_that_closes_the_connection() {
        let text = String::from_utf8(canned(&too_slow("head", Duration::from_secs(10)))).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(head.contains("connection: close"), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "request_timeout");
    }
}
