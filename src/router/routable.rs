//! What the Router can route: a request that names its model group, can
//! estimate its size, and can be re-addressed to one deployment's model.
//! Knows nothing of HTTP or providers.

use crate::cost::estimate_tokens;
use crate::types::{ChatRequest, EmbeddingInput, EmbeddingRequest};

/// A request the Router can route: it names its group and its size.
pub(crate) trait Routable: Clone {
    fn group(&self) -> &str;
    /// Prompt tokens, estimated (a token per four characters: no tokenizer
    /// is loaded on the request path), for pre-call checks and tpm limits.
    fn tokens(&self) -> u64;
    /// The same request for one deployment's provider-side model.
    fn for_model(&self, model: &str) -> Self;
}

impl Routable for ChatRequest {
    fn group(&self) -> &str {
        &self.model
    }

    fn tokens(&self) -> u64 {
        estimate_tokens(&self.messages)
    }

    fn for_model(&self, model: &str) -> Self {
        ChatRequest {
            model: model.to_string(),
            ..self.clone()
        }
    }
}

impl Routable for EmbeddingRequest {
    fn group(&self) -> &str {
        &self.model
    }

    fn tokens(&self) -> u64 {
        let chars: usize = match &self.input {
            EmbeddingInput::One(s) => s.len(),
            EmbeddingInput::Many(v) => v.iter().map(String::len).sum(),
            EmbeddingInput::Tokens(t) => t.len().saturating_mul(4),
            EmbeddingInput::TokenLists(t) => {
                t.iter().map(Vec::len).sum::<usize>().saturating_mul(4)
            }
        };
        chars.div_ceil(4) as u64
    }

    fn for_model(&self, model: &str) -> Self {
        EmbeddingRequest {
            model: model.to_string(),
            ..self.clone()
        }
    }
}
