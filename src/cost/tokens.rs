//! Token counting before a call: exact for OpenAI tokenizers (o200k_base,
//! cl100k_base, shipped inside tiktoken-rs, no download), an estimate
//! elsewhere — one token per four characters of text, which over-counts
//! English slightly, the safe side for context-window checks.

use crate::types::{ChatRequest, Content, ContentPart, EmbeddingInput, Message};

/// A count and whether it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCount {
    pub tokens: u64,
    pub exact: bool,
}

/// Tokens `messages` take in `model`'s prompt (bare or `provider/model`),
/// counting OpenAI's per-message framing (3 tokens a message, 3 to prime
/// the reply). Images count 85 tokens each (a low-detail tile).
pub fn token_counter(model: &str, messages: &[Message]) -> TokenCount {
    let bpe = tokenizer(model);
    TokenCount {
        tokens: count(bpe, messages),
        exact: bpe.is_some(),
    }
}

/// Tokens one plain `text` takes in `model`'s tokenizer, with no message
/// framing (litellm's `token_counter(model, text=…)`); the same estimate
/// as [`token_counter`] for models without one.
pub fn text_token_counter(model: &str, text: &str) -> TokenCount {
    let bpe = tokenizer(model);
    TokenCount {
        tokens: count_text(bpe, text),
        exact: bpe.is_some(),
    }
}

/// Tokens a whole chat request's prompt takes in `model`'s tokenizer: its
/// messages (as [`token_counter`]) and its tool definitions (their JSON
/// text). What a token count falls back to when no provider counts.
pub fn request_token_counter(model: &str, req: &ChatRequest) -> TokenCount {
    let mut c = token_counter(model, &req.messages);
    if let Some(tools) = req.tools.as_ref().filter(|t| !t.is_empty()) {
        let text = serde_json::to_string(tools).unwrap_or_default();
        c.tokens += text_token_counter(model, &text).tokens;
    }
    c
}

/// `model`'s OpenAI tokenizer (bare or `provider/model`), if it has one.
fn tokenizer(model: &str) -> Option<&'static tiktoken_rs::CoreBPE> {
    let bare = model.rsplit('/').next().unwrap_or(model);
    // Looked up without `bpe_for_model`, whose miss builds an error (with a
    // backtrace when RUST_BACKTRACE is set) on every call for other models.
    tiktoken_rs::tokenizer::get_tokenizer(bare).and_then(|t| tiktoken_rs::bpe_for_tokenizer(t).ok())
}

fn count_text(bpe: Option<&tiktoken_rs::CoreBPE>, text: &str) -> u64 {
    match bpe {
        Some(b) => b.encode_ordinary(text).len() as u64,
        None => (text.chars().count() as u64).div_ceil(4),
    }
}

/// The estimate [`token_counter`] gives for models without a tokenizer
/// (a token per four characters), for any model: what the Router counts,
/// so routing never loads a tokenizer (tens of MB, a fifth of a second).
pub fn estimate_tokens(messages: &[Message]) -> u64 {
    count(None, messages)
}

/// The same estimate for an embedding's input: a token per four
/// characters of text, and token ids as they are.
pub fn estimate_input_tokens(input: &EmbeddingInput) -> u64 {
    let chars = |s: &String| (s.chars().count() as u64).div_ceil(4);
    match input {
        EmbeddingInput::One(s) => chars(s),
        EmbeddingInput::Many(v) => v.iter().map(chars).sum(),
        EmbeddingInput::Tokens(t) => t.len() as u64,
        EmbeddingInput::TokenLists(t) => t.iter().map(|l| l.len() as u64).sum(),
    }
}

fn count(bpe: Option<&tiktoken_rs::CoreBPE>, messages: &[Message]) -> u64 {
    let count = |text: &str| count_text(bpe, text);
    let mut total = 3;
    for m in messages {
        total += 3 + count(m.role.as_str());
        match &m.content {
            Some(Content::Text(t)) => total += count(t),
            Some(Content::Parts(parts)) => {
                for p in parts {
                    total += match p {
                        ContentPart::Text { text, .. } => count(text),
                        ContentPart::ImageUrl { .. } => 85,
                        ContentPart::InputAudio { input_audio } => {
                            (input_audio.data.len() as u64) / 1000
                        }
                        ContentPart::File { .. } => 0,
                    };
                }
            }
            None => {}
        }
        for call in m.tool_calls.iter().flatten() {
            total += count(&call.function.name) + count(&call.function.arguments);
        }
        if let Some(name) = &m.name {
            total += 1 + count(name);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Role;

    #[test]
    fn the_estimate_is_what_models_without_a_tokenizer_count() {
        let msgs = vec![Message::text(Role::User, "Hello, world!")];
        let other = token_counter("claude-sonnet-4-5", &msgs);
        assert!(!other.exact);
        assert_eq!(estimate_tokens(&msgs), other.tokens);
        // 13 characters: 4 tokens; "user": 1; framing 3 + 3.
        assert_eq!(other.tokens, 4 + 1 + 3 + 3);
    }

    #[test]
    fn openai_models_count_exactly_with_their_tokenizer() {
        let msgs = vec![Message::text(Role::User, "Hello, world!")];
        let c = token_counter("openai/gpt-4o", &msgs);
        assert!(c.exact);
        // o200k: "Hello, world!" is 4 tokens; + "user" 1 + 3 framing + 3 priming.
        assert_eq!(c.tokens, 4 + 1 + 3 + 3);
    }

    #[test]
    fn plain_text_counts_without_message_framing() {
        let exact = text_token_counter("gpt-4o", "Hello, world!");
        assert_eq!((exact.tokens, exact.exact), (4, true));
        let estimate = text_token_counter("claude-sonnet-4-5", "abcdefghi");
        assert_eq!((estimate.tokens, estimate.exact), (3, false));
    }

    #[test]
    fn other_models_get_an_estimate() {
        let msgs = vec![Message::text(Role::User, "abcdefgh")];
        let c = token_counter("claude-sonnet-4-5", &msgs);
        assert!(!c.exact);
        assert_eq!(c.tokens, 2 + 1 + 3 + 3);
    }
}
