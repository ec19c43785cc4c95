//! Token counts through a provider's own API (`[count-tokens]`): the
//! request, rendered over the canonical chat request plus `chat` (the chat
//! body the spec would send for it), and the count read from the answer.
//! Pure.

use serde_json::{Map, Value};

use super::canonical::canonical;
use super::render::{RenderedRequest, no_endpoint, render_request};
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Spec;
use crate::spec::compile::CountEndpoint;
use crate::types::ChatRequest;

/// Renders the count request for `req` on `spec`'s provider-side `model`.
/// `chat` is the chat body to count when the caller already has it (a
/// passed-through body); else the spec's `[chat]` renders it.
pub(crate) fn prepare_count(
    spec: &Spec,
    req: &ChatRequest,
    model: &str,
    params: Map<String, Value>,
    chat: Option<Value>,
) -> Result<RenderedRequest> {
    let Some(ep) = spec.count_tokens.as_ref() else {
        return Err(no_endpoint(spec, "token-count"));
    };
    let Some(chat_ep) = spec.chat.as_ref() else {
        return Err(no_endpoint(spec, "chat"));
    };
    let mut root =
        canonical(req, model, false, params, &chat_ep.shape).map_err(|e| e.at(&spec.id, model))?;
    let chat = match chat {
        Some(body) => body,
        None => render_request(spec, &chat_ep.request, None, &root)?.body,
    };
    if let Value::Object(m) = &mut root {
        m.insert("chat".into(), chat);
    }
    render_request(spec, &ep.request, None, &root)
}

/// The count the provider's answer holds: the first of `tokens` that is a
/// whole number (or text of one).
pub(crate) fn read_count(ep: &CountEndpoint, body: &Value) -> Result<u64> {
    ep.tokens
        .0
        .iter()
        .filter_map(|p| p.first(body))
        .find_map(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                "the token-count answer holds no whole number where the spec's `tokens` points",
            )
        })
}
