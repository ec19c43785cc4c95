//! Picks the endpoint variant (`[chat.variants.<name>]`) a chat call goes
//! through, before anything is rendered: one the model names
//! (`responses/gpt-5-pro`, as litellm writes `openai/responses/<model>`),
//! else the first whose `when-mode` holds the model's catalog mode (the
//! call's own price entry first, then the price book), else the endpoint
//! itself. Knows no provider, variant or mode by name.

use std::sync::Arc;

use crate::cost::{ModelInfo, PriceBook};
use crate::spec::Spec;

/// The spec (the variant's, or `spec` itself) and the model name to send.
pub(super) fn pick(
    spec: Arc<Spec>,
    model: String,
    own: Option<&ModelInfo>,
    prices: &PriceBook,
) -> (Arc<Spec>, String) {
    if spec.variants.is_empty() {
        return (spec, model);
    }
    if let Some((head, rest)) = model.split_once('/')
        && !rest.is_empty()
        && let Some(v) = spec.variant(head)
    {
        return (v.clone(), rest.to_string());
    }
    let mode = own
        .and_then(|i| i.mode.as_deref())
        .or_else(|| prices.model_info(&spec.id, &model)?.mode.as_deref());
    match mode.and_then(|m| spec.variant_for_mode(m)) {
        Some(v) => (v.clone(), model),
        None => (spec, model),
    }
}
