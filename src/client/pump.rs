//! Drives one streamed body: bytes (each within the idle gap) → frames
//! (each within the event size cap) → chunks, then prices the usage of a
//! stream that finished. What arrived before a failure is delivered first,
//! then the failure; a stream never ends silently. Holds the body; knows no
//! provider JSON (the engine's decoder and mapper do).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::cost::{ModelInfo, PriceBook};
use crate::engine::events::ChunkMapper;
use crate::engine::stream::{Decoder, Frame, FrameError};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::BodyStream;
use crate::types::{ChatChunk, Usage};

/// One streamed body on its way to chunks.
pub(super) struct Pump {
    body: BodyStream,
    decoder: Decoder,
    mapper: ChunkMapper,
    frames: Vec<Frame>,
    ready: VecDeque<ChatChunk>,
    error: Option<Error>,
    done: bool,
    pricing: Pricing,
    final_usage: Arc<Mutex<Option<Usage>>>,
    /// A front door's pass-through, which keeps every raw frame.
    native: Option<super::Native>,
}

impl Pump {
    /// Keeps every raw frame for a front door's pass-through.
    pub(super) fn keeping(mut self, native: Option<super::Native>) -> Pump {
        self.native = native;
        self
    }

    pub(super) fn new(
        body: BodyStream,
        decoder: Decoder,
        mapper: ChunkMapper,
        pricing: Pricing,
        final_usage: Arc<Mutex<Option<Usage>>>,
    ) -> Pump {
        Pump {
            body,
            decoder,
            mapper,
            frames: Vec::new(),
            ready: VecDeque::new(),
            error: None,
            done: false,
            pricing,
            final_usage,
            native: None,
        }
    }

    /// The next chunk, the error the stream ended in, or None at its end.
    pub(super) async fn next_item(&mut self) -> Option<Result<ChatChunk>> {
        loop {
            if let Some(c) = self.ready.pop_front() {
                return Some(Ok(c));
            }
            if let Some(e) = self.error.take() {
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            let step = match self.body.next().await {
                Some(Ok(bytes)) => self
                    .decoder
                    .feed(&bytes, &mut self.frames)
                    .map_err(frame_error),
                Some(Err(e)) => Err(e),
                None => {
                    self.done = true;
                    self.decoder.finish(&mut self.frames).map_err(frame_error)
                }
            };
            let mut out = Vec::new();
            let mapped = step.and_then(|()| {
                for f in self.frames.drain(..) {
                    if let Some(n) = &self.native {
                        n.keep_frame(f.event.as_deref(), &f.data);
                    }
                    self.mapper.frame(&f, &mut out)?;
                }
                if self.done || self.mapper.is_complete() {
                    self.done = true;
                    self.mapper.finish(&mut out)?;
                    self.record_usage(&mut out);
                }
                Ok(())
            });
            self.ready.extend(out);
            if let Err(e) = mapped {
                // What arrived before the error is delivered first, then the error.
                self.done = true;
                self.frames.clear();
                self.error = Some(e);
            }
        }
    }

    /// Prices the finished stream's usage, on its usage chunk and for `ChatStream::usage`.
    fn record_usage(&mut self, out: &mut [ChatChunk]) {
        let Some(mut usage) = self.mapper.usage() else {
            return;
        };
        let p = &self.pricing;
        let answered = out.last().map(|c| c.model.clone()).unwrap_or_default();
        let cost = p
            .book
            .cost(p.own.as_deref(), &p.provider, [&answered, &p.model], &usage);
        usage.cost = Some(cost);
        for c in out.iter_mut().filter_map(|c| c.usage.as_mut()) {
            c.cost = Some(cost);
        }
        if let Ok(mut slot) = self.final_usage.lock() {
            *slot = Some(usage);
        }
    }
}

/// What a stream's usage is priced by: the call's own price, else the
/// book's entry for the answering model, else for the requested one.
pub(super) struct Pricing {
    pub(super) book: PriceBook,
    pub(super) own: Option<Arc<ModelInfo>>,
    pub(super) provider: String,
    pub(super) model: String,
}

/// A body that cannot be cut into frames is a bad answer from upstream (502).
fn frame_error(e: FrameError) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!("the upstream's stream is malformed: {e}"),
    )
}
