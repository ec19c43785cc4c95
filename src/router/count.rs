//! Token counts for a model group: asked of the provider of one of its
//! deployments when that provider has a count API (`[count-tokens]`),
//! else — no such deployment, or the count failed — counted here by the
//! token counter. A count is no call: it is never retried, cools no
//! deployment, feeds no latency and takes no share of any limit.

use super::routable::Routable;
use super::{RouteOptions, Router, attempt_options};
use crate::cost::request_token_counter;
use crate::duration::Seconds;
use crate::error::Result;
use crate::types::ChatRequest;

/// Who counted a request's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// The provider's own count API.
    Provider,
    /// The local token counter (the model's tokenizer, else an estimate).
    Local,
}

impl Counter {
    /// `provider` or `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            Counter::Provider => "provider",
            Counter::Local => "local",
        }
    }
}

/// A request's input tokens, and who counted them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub tokens: u64,
    pub counter: Counter,
    /// The deployment whose provider counted, or whose model's tokenizer
    /// did; None for a group with no deployment.
    pub deployment: Option<String>,
}

impl Router {
    /// The input tokens of `req` for the group it names: by the provider
    /// of the group's first deployment (lowest `order`, not cooling down)
    /// whose spec has a count API; else by the token counter, for the
    /// group's first deployment's model. A failed provider count falls
    /// back to the token counter too. Errors only for an unknown group.
    pub async fn count_tokens(&self, req: &ChatRequest, route: &RouteOptions) -> Result<Counted> {
        let group = self.group_of(&req.model).to_string();
        let members = self.members(&group, true)?;
        let now = self.clock.now();
        let counts = |model: &str| {
            self.client
                .registry()
                .resolve(model)
                .is_ok_and(|(spec, _)| spec.counts_tokens())
        };
        // A mock answer has no provider behind it to ask.
        let mocked = route.mock_response.is_some();
        let mut ranked: Vec<_> = members
            .iter()
            .filter(|d| !mocked && d.options.mock_response.is_none())
            .filter(|d| d.cooling(now).is_none() && counts(&d.model))
            .collect();
        ranked.sort_by_key(|d| d.order.unwrap_or(u32::MAX));
        if let Some(d) = ranked.first() {
            let left = route
                .timeout
                .or(self.settings.timeout_secs.map(Seconds::get));
            let opts = attempt_options(&d.options, left, route);
            match self
                .client
                .count_tokens(&req.for_model(&d.model), &opts)
                .await
            {
                Ok(tokens) => {
                    return Ok(Counted {
                        tokens,
                        counter: Counter::Provider,
                        deployment: Some(d.id.clone()),
                    });
                }
                Err(e) => log::debug!(
                    "count_tokens: deployment {} could not count ({}); counting locally",
                    d.id,
                    e.message()
                ),
            }
        }
        let first = ranked.first().copied().or(members.first());
        let model = first.map_or(group.as_str(), |d| d.model.as_str());
        Ok(Counted {
            tokens: request_token_counter(model, req).tokens,
            counter: Counter::Local,
            deployment: first.map(|d| d.id.clone()),
        })
    }
}
