//! Token counts asked of the provider (`[count-tokens]` in its spec): the
//! chat body the call would send (the caller's own, passed through, when
//! it came through a door of the endpoint's dialect), counted by the
//! provider's API. One attempt, nothing priced: a count costs nothing.

use super::{Client, answer_deadline, defaults, lookup, scrub};
use crate::client::CallOptions;
use crate::engine::count::{prepare_count, read_count};
use crate::engine::render::no_endpoint;
use crate::error::{Error, Result};
use crate::types::ChatRequest;

impl Client {
    /// How many input tokens `req` holds, as its provider counts them
    /// (Anthropic's `count_tokens`, Gemini's `countTokens`, Bedrock's
    /// `CountTokens`…). An error for a provider whose spec has no
    /// `[count-tokens]`, and for a mock call (nothing to ask); the local
    /// estimate is [`crate::token_counter`].
    ///
    /// ```no_run
    /// # async fn run() -> switchboard::Result<()> {
    /// use switchboard::{CallOptions, ChatRequest, Client};
    /// let client = Client::new()?;
    /// let req = ChatRequest::new("anthropic/claude-sonnet-4-5").user("How many tokens is this?");
    /// let tokens = client.count_tokens(&req, &CallOptions::default()).await?;
    /// println!("{tokens} input tokens");
    /// # Ok(()) }
    /// ```
    pub async fn count_tokens(&self, req: &ChatRequest, opts: &CallOptions) -> Result<u64> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        let at = |e: Error| e.at(&spec.id, &model);
        let Some(ep) = spec.count_tokens.as_ref() else {
            return Err(at(no_endpoint(&spec, "token-count")));
        };
        if opts.mock_response.is_some() {
            return Err(at(Error::bad_request(
                "a mock call has no provider to count its tokens",
            )));
        }
        let deadline = answer_deadline(opts);
        let plan = self.plan(spec.clone(), model.clone(), req, false, opts)?;
        let key = plan.api_key.as_deref();
        let params = lookup::resolve_params(&spec, &opts.params).map_err(at)?;
        let mut prepared = prepare_count(&spec, req, &model, params, Some(plan.prepared.body))
            .map_err(|e| scrub(at(e), key))?;
        defaults::add_headers(&mut prepared.headers, &opts.extra_headers);
        let body = self
            .send_json(&spec, &plan.base_url, &prepared, key, opts, deadline)
            .await
            .map_err(|e| scrub(at(e), key))?;
        read_count(ep, &body).map_err(|e| scrub(at(e), key))
    }
}
