//! A chat stream as server-sent events: `data: <chunk>\n\n` per chunk and
//! `data: [DONE]\n\n` at the end. A failure mid-stream becomes a last
//! `data: {"error":{…}}` event, scrubbed of secrets, so a client never
//! mistakes a cut answer for a finished one; so does a panic while the
//! stream is produced (counted in the metrics, like a panicked request).

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures::{FutureExt, Stream, StreamExt};

use super::error::Scrub;
use super::metrics::Metrics;
use crate::error::{Error, ErrorKind};
use crate::types::ChatChunk;

/// What the rest of a stream still needs.
struct Tail<S> {
    rest: S,
    scrub: Scrub,
    metrics: Arc<Metrics>,
}

/// The events of a routed stream (whose first chunk has already arrived, so
/// a failure before it was an ordinary HTTP error).
pub(crate) fn events(
    stream: impl Stream<Item = crate::error::Result<ChatChunk>> + Send + Unpin + 'static,
    scrub: Scrub,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let tail = Tail {
        rest: stream,
        scrub,
        metrics,
    };
    futures::stream::unfold(Some(tail), |state| async move {
        let mut t = state?;
        // The last line of defence: a panic here ends the stream with an
        // error event rather than a cut connection.
        let next = AssertUnwindSafe(t.rest.next()).catch_unwind().await;
        match next {
            Ok(Some(Ok(chunk))) => Some((chunk_event(&chunk), Some(t))),
            Ok(Some(Err(e))) => Some((t.scrub.event(&e), None)),
            Ok(None) => Some((Bytes::from_static(b"data: [DONE]\n\n"), None)),
            Err(_) => {
                t.metrics.panicked("chat");
                let e = Error::new(ErrorKind::Internal, "the stream failed (a bug; logged)");
                Some((t.scrub.event(&e), None))
            }
        }
    })
    .map(Ok)
}

fn chunk_event(chunk: &ChatChunk) -> Bytes {
    match serde_json::to_string(chunk) {
        Ok(json) => Bytes::from(format!("data: {json}\n\n")),
        Err(e) => Scrub::default().event(&Error::new(
            ErrorKind::Internal,
            format!("a chunk could not be encoded: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str) -> ChatChunk {
        serde_json::from_value(serde_json::json!({
            "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
        }))
        .unwrap()
    }

    async fn collect(s: impl Stream<Item = Result<Bytes, Infallible>>) -> String {
        let parts: Vec<Bytes> = s.map(|b| b.unwrap()).collect().await;
        String::from_utf8(parts.concat()).unwrap()
    }

    #[tokio::test]
    async fn a_panic_while_streaming_ends_with_an_error_event_and_is_counted() {
        let metrics = Arc::new(Metrics::new());
        let mut n = 0;
        let stream = futures::stream::poll_fn(move |_| {
            n += 1;
            if n > 2 {
                panic!("mapping bug");
            }
            let text = if n == 1 { "Hel" } else { "lo" };
            std::task::Poll::Ready(Some(Ok(chunk(text))))
        });
        let text = collect(events(stream, Scrub::default(), metrics.clone())).await;
        let events: Vec<&str> = text.trim_end().split("\n\n").collect();
        assert_eq!(events.len(), 3, "{text}");
        assert!(events[1].contains("\"lo\""), "{text}");
        assert!(events[2].starts_with("data: {\"error\""), "{text}");
        assert!(!text.contains("[DONE]"), "{text}");
        let rendered = metrics.render().unwrap();
        assert!(
            rendered.contains("switchboard_panics_total{route=\"chat\"} 1"),
            "{rendered}"
        );
    }

    #[tokio::test]
    async fn an_error_event_is_scrubbed_of_known_secrets() {
        let scrub = Scrub::new(crate::redact::Redactor::new(["upstream-key-123"]), None);
        let stream = futures::stream::iter([
            Ok(chunk("a")),
            Err(Error::new(
                ErrorKind::Authentication,
                "bad key upstream-key-123",
            )),
        ]);
        let text = collect(events(stream, scrub, Arc::new(Metrics::new()))).await;
        assert!(!text.contains("upstream-key-123"), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}
