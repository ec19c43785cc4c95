//! Compiles `openai-params`: the OpenAI request parameters a spec carries,
//! each checked against the list OpenAI documents
//! ([`crate::types::OPENAI_PARAMS`]), kept in that list's order.

use indexmap::IndexMap;

use super::compiler::{Ctx, sub};
use crate::suggest::closest;
use crate::types::{OPENAI_PARAMS, is_openai_param};

impl Ctx<'_> {
    /// The parameters set to `true`, in [`OPENAI_PARAMS`] order; `None`
    /// when the spec (and every spec it extends) declares no table.
    pub(super) fn openai_params(
        &mut self,
        raw: Option<&IndexMap<String, bool>>,
    ) -> Option<Vec<String>> {
        let raw = raw?;
        for name in raw.keys().filter(|n| !is_openai_param(n)) {
            let hint = closest(name, OPENAI_PARAMS.iter().copied())
                .map(|c| format!("did you mean {c:?}? "))
                .unwrap_or_default();
            let what = match name.as_str() {
                "model" | "messages" | "stream" | "stream_options" => {
                    "every provider takes it; it is not declared".to_string()
                }
                _ => format!(
                    "{hint}a provider's own field is no OpenAI parameter: read it as `extra.{name}`"
                ),
            };
            self.push(
                &sub(&[], &["openai-params", name]),
                "spec",
                format!("`{name}` is not an OpenAI chat parameter; {what}"),
            );
        }
        Some(
            OPENAI_PARAMS
                .iter()
                .filter(|p| raw.get(**p) == Some(&true))
                .map(|p| p.to_string())
                .collect(),
        )
    }
}
