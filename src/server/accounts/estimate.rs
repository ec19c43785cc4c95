//! What a call may cost before it is made, for the budget and tpm it
//! reserves: its prompt at a token per four characters (no tokenizer on
//! the request path), plus its output — `max_completion_tokens` or
//! `max_tokens` times `n`, or [`DEFAULT_OUTPUT_TOKENS`] when the request
//! sets no limit — priced at the group's most expensive deployment. A
//! group with a deployment nothing prices cannot be estimated: a key with
//! a budget is refused it, naming the model (it would spend nothing on
//! paper). A fallback to another group is not priced in: such a call is
//! settled at what it really cost. Reads the Router's prices; knows no key.

use serde_json::Value;

use crate::cost::{cost_of, estimate_input_tokens, estimate_tokens};
use crate::error::{Error, Result};
use crate::router::Router;
use crate::types::{ChatRequest, EmbeddingRequest, Usage};

/// Output tokens a chat call is reserved for when it sets no limit.
pub(crate) const DEFAULT_OUTPUT_TOKENS: u64 = 1024;
/// `n` past this counts as this many choices (the request is checked elsewhere).
const MAX_CHOICES: u64 = 128;
/// No estimate counts more tokens than this (a client's `max_tokens` can be absurd).
const MAX_TOKENS: u64 = 1_000_000_000;

/// A call as the accounts see it before it is made.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Call<'a> {
    Chat(&'a ChatRequest),
    Embedding(&'a EmbeddingRequest),
}

/// A call's estimated size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size {
    pub prompt: u64,
    pub output: u64,
}

impl Size {
    pub(crate) fn tokens(self) -> u64 {
        self.prompt.saturating_add(self.output)
    }
}

impl Call<'_> {
    /// The model group called.
    pub(crate) fn group(&self) -> &str {
        match self {
            Call::Chat(r) => &r.model,
            Call::Embedding(r) => &r.model,
        }
    }

    pub(crate) fn size(&self) -> Size {
        match self {
            Call::Chat(r) => {
                let per_choice = r
                    .max_completion_tokens
                    .or(r.max_tokens)
                    .unwrap_or(DEFAULT_OUTPUT_TOKENS);
                let n = r
                    .extra
                    .get("n")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .clamp(1, MAX_CHOICES);
                Size {
                    prompt: estimate_tokens(&r.messages).min(MAX_TOKENS),
                    output: per_choice.saturating_mul(n).min(MAX_TOKENS),
                }
            }
            Call::Embedding(r) => Size {
                prompt: estimate_input_tokens(&r.input).min(MAX_TOKENS),
                output: 0,
            },
        }
    }
}

/// What a call of `size` costs at most on `group`: at its most expensive
/// deployment. An error naming the models when a deployment has no price;
/// 0 for a group the Router does not know (it answers 404 itself).
pub(crate) fn price(router: &Router, group: &str, size: Size) -> Result<f64> {
    let Some(deployments) = router.deployment_prices(group) else {
        return Ok(0.0);
    };
    let unpriced: Vec<&str> = deployments
        .iter()
        .filter(|(_, info)| info.is_none())
        .map(|(model, _)| *model)
        .collect();
    if !unpriced.is_empty() {
        return Err(Error::bad_request(format!(
            "this API key has a budget, and model group {group:?} is served by {} with no known price: \
             its calls could not be counted against the budget. Call a priced model, or price it in pricing/",
            unpriced.join(", ")
        ))
        .with_code(Some("model_not_priced".into())));
    }
    let usage = Usage {
        prompt_tokens: size.prompt,
        completion_tokens: size.output,
        total_tokens: size.tokens(),
        ..Default::default()
    };
    Ok(deployments
        .iter()
        .filter_map(|(_, info)| info.map(|i| cost_of(i, &usage)))
        .filter(|usd| usd.is_finite())
        .fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EmbeddingInput, Message, Role};

    #[test]
    fn a_chat_reserves_its_limit_times_its_choices_or_the_default() {
        let mut req = ChatRequest::new("g").user("abcdefgh");
        let prompt = estimate_tokens(&req.messages);
        assert_eq!(
            Call::Chat(&req).size(),
            Size {
                prompt,
                output: DEFAULT_OUTPUT_TOKENS
            }
        );
        req.max_tokens = Some(100);
        req.extra.insert("n".into(), 3.into());
        assert_eq!(Call::Chat(&req).size().output, 300);
        req.max_completion_tokens = Some(u64::MAX);
        assert_eq!(Call::Chat(&req).size().output, MAX_TOKENS);
        req.messages = vec![Message::text(Role::User, "x".repeat(4000))];
        assert!(Call::Chat(&req).size().prompt >= 1000);
    }

    #[test]
    fn an_embedding_reserves_its_input() {
        let req = EmbeddingRequest {
            model: "e".into(),
            input: EmbeddingInput::Many(vec!["abcd".into(), "abcdefgh".into()]),
            ..Default::default()
        };
        assert_eq!(
            Call::Embedding(&req).size(),
            Size {
                prompt: 3,
                output: 0
            }
        );
    }
}
