//! The pure engine as plain functions of (spec, input), for tests,
//! benchmarks and tools that want no network: render a request (a chat
//! call's, a token count's), map a response body (or read a count), decode
//! and map a whole stream body.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::engine;
use crate::engine::classify::classify;
use crate::engine::count::prepare_count;
use crate::engine::events::ChunkMapper;
use crate::engine::map::{MapCtx, map_response};
use crate::engine::render::{no_endpoint, prepare_chat};
use crate::engine::stream::Decoder;
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::types::{ChatChunk, ChatRequest, ChatResponse};

pub use crate::engine::render::RenderedRequest;

/// Renders the chat request `req` would send, for the provider-side `model`.
pub fn render(
    spec: &Spec,
    req: &ChatRequest,
    model: &str,
    params: &BTreeMap<String, String>,
) -> Result<RenderedRequest> {
    prepare_chat(
        spec,
        req,
        model,
        with_defaults(spec, params),
        req.is_stream(),
    )
}

/// Renders the token-count request for `req` (the spec's `[count-tokens]`),
/// for the provider-side `model`.
pub fn render_count(
    spec: &Spec,
    req: &ChatRequest,
    model: &str,
    params: &BTreeMap<String, String>,
) -> Result<RenderedRequest> {
    prepare_count(spec, req, model, with_defaults(spec, params), None)
}

/// The input-token count a token-count answer holds.
pub fn read_count(spec: &Spec, body: &Value) -> Result<u64> {
    let ep = spec
        .count_tokens
        .as_ref()
        .ok_or_else(|| no_endpoint(spec, "token-count"))?;
    engine::count::read_count(ep, body)
}

/// The call's parameters, else the spec's defaults.
fn with_defaults(spec: &Spec, params: &BTreeMap<String, String>) -> Map<String, Value> {
    let mut p = Map::new();
    for param in &spec.params {
        if let Some(v) = params.get(&param.name).or(param.default.as_ref()) {
            p.insert(param.name.clone(), Value::String(v.clone()));
        }
    }
    p
}

/// Maps a non-streamed response body.
pub fn map(spec: &Spec, body: &Value) -> Result<ChatResponse> {
    let chat = spec
        .chat
        .as_ref()
        .ok_or_else(|| no_endpoint(spec, "chat"))?;
    Ok(map_response(
        chat,
        body,
        &MapCtx {
            model: "",
            now: 0,
            fallback_id: "chatcmpl-0",
        },
    ))
}

/// Classifies an error response.
pub fn classify_error(spec: &Spec, status: Option<u16>, body: &[u8]) -> Error {
    classify(&spec.errors, status, None, body)
}

/// Decodes and maps a whole stream body, fed in pieces of `piece` bytes.
/// Returns the chunks before the first error, and that error if any.
pub fn map_stream(
    spec: &Arc<Spec>,
    content_type: Option<&str>,
    body: &[u8],
    piece: usize,
    include_usage: bool,
) -> (Vec<ChatChunk>, Option<Error>) {
    let Some(mut mapper) = ChunkMapper::new(spec.clone(), "", "chatcmpl-0", 0, include_usage)
    else {
        return (Vec::new(), Some(no_endpoint(spec, "streaming chat")));
    };
    let framing = spec
        .chat
        .as_ref()
        .and_then(|c| c.stream.as_ref())
        .map(|s| s.framing);
    let Some(framing) = framing else {
        return (Vec::new(), Some(no_endpoint(spec, "streaming chat")));
    };
    let mut decoder = Decoder::for_content_type(content_type, framing);
    let (mut frames, mut out) = (Vec::new(), Vec::new());
    let malformed = |e: crate::engine::stream::FrameError| {
        Error::new(crate::ErrorKind::Internal, format!("malformed stream: {e}"))
    };
    for part in body.chunks(piece.max(1)) {
        if let Err(e) = decoder.feed(part, &mut frames) {
            return (out, Some(malformed(e)));
        }
        for f in frames.drain(..) {
            if let Err(e) = mapper.frame(&f, &mut out) {
                return (out, Some(e));
            }
        }
    }
    if let Err(e) = decoder.finish(&mut frames) {
        return (out, Some(malformed(e)));
    }
    for f in frames.drain(..) {
        if let Err(e) = mapper.frame(&f, &mut out) {
            return (out, Some(e));
        }
    }
    match mapper.finish(&mut out) {
        Ok(()) => (out, None),
        Err(e) => (out, Some(e)),
    }
}
