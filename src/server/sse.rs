//! A chat stream as server-sent events: `data: <chunk>\n\n` per chunk and
//! `data: [DONE]\n\n` at the end. A failure mid-stream becomes a last
//! `data: {"error":{…}}` event, so a client never mistakes a cut answer for
//! a finished one.

use std::convert::Infallible;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::Error;
use crate::types::ChatChunk;

/// The events of a stream whose first chunk has already arrived.
pub(crate) fn events(
    first: ChatChunk,
    rest: impl Stream<Item = crate::error::Result<ChatChunk>> + Send + Unpin + 'static,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let head = futures::stream::once(async move { chunk_event(&first) });
    let tail = futures::stream::unfold(Some(rest), |state| async move {
        let mut rest = state?;
        match rest.next().await {
            Some(Ok(chunk)) => Some((chunk_event(&chunk), Some(rest))),
            Some(Err(e)) => Some((error_event(&e), None)),
            None => Some((Bytes::from_static(b"data: [DONE]\n\n"), None)),
        }
    });
    head.chain(tail).map(Ok)
}

fn chunk_event(chunk: &ChatChunk) -> Bytes {
    match serde_json::to_string(chunk) {
        Ok(json) => Bytes::from(format!("data: {json}\n\n")),
        Err(e) => error_event(&Error::new(
            crate::error::ErrorKind::Internal,
            format!("a chunk could not be encoded: {e}"),
        )),
    }
}

pub(crate) fn error_event(e: &Error) -> Bytes {
    Bytes::from(format!("data: {}\n\n", e.to_openai_json()))
}
