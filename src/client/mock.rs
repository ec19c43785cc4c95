//! Mock answers (litellm's `mock_response`): a completion or a stream of
//! chunks holding the given text, with usage estimated at a token per four
//! characters. Touches no network, clock or catalog: the id, the time and
//! the price come from the caller.

use crate::types::*;

/// Rough token estimate for mock responses: one token per four characters.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Usage of `req` answered with `text`, estimated.
pub(super) fn mock_usage(req: &ChatRequest, text: &str) -> Usage {
    let prompt: u64 = req
        .messages
        .iter()
        .map(|m| {
            4 + match &m.content {
                Some(Content::Text(t)) => estimate_tokens(t),
                Some(Content::Parts(p)) => (p.len() as u64).saturating_mul(4),
                None => 0,
            }
        })
        .fold(0u64, u64::saturating_add);
    let completion = estimate_tokens(text);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        ..Default::default()
    }
}

/// A `chat.completion` answering `text`.
pub(super) fn mock_completion(
    req: &ChatRequest,
    model: &str,
    text: &str,
    id: String,
    created: u64,
) -> ChatResponse {
    ChatResponse {
        id,
        object: "chat.completion".into(),
        created,
        model: model.to_string(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".into(),
                content: Some(text.to_string()),
                ..Default::default()
            },
            finish_reason: Some("stop".into()),
            ..Default::default()
        }],
        usage: Some(mock_usage(req, text)),
    }
}

/// The chunks of a stream answering `text`, a word at a time, then the
/// finish and (when asked for) a usage chunk.
pub(super) fn mock_chunks(
    req: &ChatRequest,
    model: &str,
    text: &str,
    id: String,
    created: u64,
) -> Vec<ChatChunk> {
    let chunk = |delta: Delta, finish: Option<&str>| ChatChunk {
        id: id.clone(),
        object: "chat.completion.chunk".into(),
        created,
        model: model.to_string(),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
            ..Default::default()
        }],
        usage: None,
    };
    let mut out: Vec<ChatChunk> = text
        .split_inclusive(' ')
        .enumerate()
        .map(|(i, piece)| {
            chunk(
                Delta {
                    role: (i == 0).then(|| "assistant".to_string()),
                    content: Some(piece.to_string()),
                    ..Default::default()
                },
                None,
            )
        })
        .collect();
    out.push(chunk(Delta::default(), Some("stop")));
    if req.include_usage() {
        let mut last = chunk(Delta::default(), None);
        last.choices.clear();
        last.usage = Some(mock_usage(req, text));
        out.push(last);
    }
    out
}
