//! The stream of chunks a streamed call returns, and the usage it reports
//! once it has finished. Holds no socket of its own: the pump behind it does.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use crate::error::Result;
use crate::types::{ChatChunk, Usage};

/// A stream of chunks (see [`Client::stream`](crate::Client::stream)).
pub struct ChatStream {
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
            inner: Box::pin(inner),
            usage,
        }
    }

    /// `first`, then the rest of `rest` (a Router that already read the first chunk).
    pub(crate) fn prepend(first: ChatChunk, rest: ChatStream) -> ChatStream {
        let usage = rest.usage.clone();
        ChatStream {
            inner: Box::pin(futures::stream::once(async move { Ok(first) }).chain(rest)),
            usage,
        }
    }

    /// Usage and cost of the whole stream, once it has finished normally
    /// (whether or not `stream_options.include_usage` asked for a usage chunk).
    pub fn usage(&self) -> Option<Usage> {
        self.usage.lock().ok()?.clone()
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
