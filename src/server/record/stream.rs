//! A streamed answer that finishes its call record: with the engine's usage
//! and cost when the stream ends normally, with the error's kind when it
//! fails or is cut, as cancelled when it is dropped unfinished (the client
//! went away), as panicked when producing a chunk panics (the panic goes
//! on to whoever catches it). Per chunk it only passes the chunk on.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use super::{Outcome, Recording};
use crate::client::ChatStream;
use crate::error::Result;
use crate::types::ChatChunk;

/// A chat stream and the call it answers.
pub(crate) struct Recorded {
    stream: ChatStream,
    /// Taken when the call is finished.
    call: Option<Recording>,
}

impl Recorded {
    pub(crate) fn new(stream: ChatStream, call: Recording) -> Self {
        Recorded {
            stream,
            call: Some(call),
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if let Some(call) = self.call.take() {
            call.finish(outcome);
        }
    }
}

impl Stream for Recorded {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = catch_unwind(AssertUnwindSafe(|| {
            Pin::new(&mut this.stream).poll_next(cx)
        }));
        let next = match polled {
            Ok(next) => next,
            Err(panic) => {
                this.finish(Outcome::Panicked);
                resume_unwind(panic);
            }
        };
        match &next {
            Poll::Ready(None) => {
                if let Some(call) = &mut this.call {
                    call.usage(this.stream.usage());
                }
                this.finish(Outcome::Success);
            }
            Poll::Ready(Some(Err(e))) => this.finish(Outcome::Failed(e.kind())),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        next
    }
}
