//! The stream of chunks a streamed call returns, and the usage it reports
//! once it has finished. Holds no socket of its own: the pump behind it does.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;

use crate::error::Result;
use crate::types::{ChatChunk, Usage};

/// A stream of chunks (see [`Client::stream`](crate::Client::stream)).
pub struct ChatStream {
    /// A chunk already received, yielded before the rest (a Router checks
    /// a stream's first chunk before it hands the stream over).
    first: Option<ChatChunk>,
    inner: Pin<Box<dyn Stream<Item = Result<ChatChunk>> + Send>>,
    usage: Arc<Mutex<Option<Usage>>>,
}

impl ChatStream {
    /// `inner`'s chunks; `usage` is filled when it finishes normally.
    pub(super) fn new(
        inner: impl Stream<Item = Result<ChatChunk>> + Send + 'static,
        usage: Arc<Mutex<Option<Usage>>>,
    ) -> ChatStream {
        ChatStream {
            first: None,
            inner: Box::pin(inner),
            usage,
        }
    }

    /// `first`, then the rest of `rest` (a Router that already read the first chunk).
    pub(crate) fn prepend(first: ChatChunk, rest: ChatStream) -> ChatStream {
        debug_assert!(rest.first.is_none(), "a stream's first chunk is read once");
        ChatStream {
            first: Some(first),
            ..rest
        }
    }

    /// Whether the stream's first chunk has arrived and waits to be read:
    /// true for a stream a [`Router`](crate::Router) returns until it is
    /// read, so a failure before the first chunk was the Router's to handle
    /// and nobody needs to look ahead again.
    pub fn has_first_chunk(&self) -> bool {
        self.first.is_some()
    }

    /// Usage and cost of the whole stream, once it has finished normally
    /// (whether or not `stream_options.include_usage` asked for a usage
    /// chunk: the engine learns it either way, and yields the chunk only
    /// when the request asked for it).
    pub fn usage(&self) -> Option<Usage> {
        self.usage.lock().ok()?.clone()
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        self.inner.as_mut().poll_next(cx)
    }
}
