//! litellm's plain call, `completion(model, messages, fallbacks=[…],
//! context_window_fallbacks=[…], num_retries=…)`: the Client's public
//! `completion`, `stream` and `embedding`. They live here, a layer above
//! the Client, because they route: a call whose options (or whose request
//! body, in litellm's fields) ask for retries or fallbacks is routed by an
//! ad-hoc Router whose groups are the call's model and each fallback, one
//! deployment each — the Router's one retry and fallback loop, not a second
//! one. A call that asks for neither goes straight to one attempt.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use indexmap::IndexMap;

use super::build::Member;
use super::config::Settings;
use super::{Rng, RouteOptions, Routed, Router, TokioClock};
use crate::client::{CallOptions, ChatStream, Client, Fallback, has_litellm_args};
use crate::error::{Error, Result};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

impl Client {
    /// One chat completion. With `opts.num_retries`, the model is retried
    /// on a retryable failure (honouring Retry-After); with
    /// `opts.fallbacks` (or context-window / content-policy fallbacks), the
    /// next model is tried when it fails; a final error lists every
    /// attempt. litellm's own fields in the request body (`fallbacks`,
    /// `num_retries`, `mock_response`, …) are acted on the same way and
    /// never sent to the provider.
    ///
    /// ```no_run
    /// # async fn run() -> switchboard::Result<()> {
    /// use switchboard::{CallOptions, ChatRequest, Client};
    /// let client = Client::new()?;
    /// let opts = CallOptions {
    ///     fallbacks: vec!["anthropic/claude-haiku-4-5".into()],
    ///     num_retries: Some(2),
    ///     ..Default::default()
    /// };
    /// let resp = client.completion(&ChatRequest::new("gpt-4o").user("hi"), &opts).await?;
    /// println!("{} answered", resp.model);
    /// # Ok(()) }
    /// ```
    pub async fn completion(&self, req: &ChatRequest, opts: &CallOptions) -> Result<ChatResponse> {
        let (req, opts) = with_litellm_args(req, opts)?;
        if !opts.routes() {
            return self.completion_once(&req, &opts).await;
        }
        let router = Router::for_call(self, &req.model, &opts)?;
        let routed = router.completion(&req, &RouteOptions::default()).await?;
        Ok(routed.response)
    }

    /// A streamed chat completion: chunks as they arrive. A stream that
    /// errors, is cut, or falls silent for longer than `limits.idle` ends
    /// with an `Err` item, never silently. Retries and fallbacks as for
    /// [`Client::completion`], up to the first chunk: never a switch to
    /// another model mid-answer.
    pub async fn stream(&self, req: &ChatRequest, opts: &CallOptions) -> Result<ChatStream> {
        let (req, opts) = with_litellm_args(req, opts)?;
        if !opts.routes() {
            return self.stream_once(&req, &opts).await;
        }
        let router = Router::for_call(self, &req.model, &opts)?;
        let routed = router.stream(&req, &RouteOptions::default()).await?;
        Ok(routed.response)
    }

    /// Embeddings for one text or a list of texts, with the call's retries
    /// and fallbacks as for [`Client::completion`].
    pub async fn embedding(
        &self,
        req: &EmbeddingRequest,
        opts: &CallOptions,
    ) -> Result<EmbeddingResponse> {
        if !opts.routes() {
            return self.embedding_once(req, opts).await;
        }
        opts.check_routing()?;
        let router = Router::for_call(self, &req.model, opts)?;
        let routed: Routed<EmbeddingResponse> =
            router.embedding(req, &RouteOptions::default()).await?;
        Ok(routed.response)
    }
}

/// The request without litellm's own fields, and the options with them;
/// borrowed as they are when the request has none (the common case).
fn with_litellm_args<'a>(
    req: &'a ChatRequest,
    opts: &'a CallOptions,
) -> Result<(Cow<'a, ChatRequest>, Cow<'a, CallOptions>)> {
    if !has_litellm_args(&req.extra) {
        if opts.routes() {
            opts.check_routing()?;
        }
        return Ok((Cow::Borrowed(req), Cow::Borrowed(opts)));
    }
    let mut req = req.clone();
    let mut opts = opts.clone();
    opts.take_litellm_args(&mut req.extra)?;
    opts.check_routing()?;
    Ok((Cow::Owned(req), Cow::Owned(opts)))
}

impl Router {
    /// The ad-hoc Router of one call: `model` (with the call's key, base
    /// URL, parameters, mock and prices) and each fallback (with its own),
    /// one deployment each; retries as the call says (none by default, as
    /// in litellm); no pre-call checks (the provider decides what fits).
    fn for_call(client: &Client, model: &str, opts: &CallOptions) -> Result<Router> {
        let own = opts.one_attempt();
        let mut groups = Groups::default();
        let primary = groups.add(model, own.clone());
        let named = |list: &[Fallback], groups: &mut Groups| -> Vec<String> {
            list.iter()
                .map(|f| groups.add(&f.model, fallback_options(f, &own)))
                .collect()
        };
        let general = named(&opts.fallbacks, &mut groups);
        // An entry for a model this call never reaches is left out (a table
        // shared by many calls, as litellm allows); reached ones may chain.
        let given = [
            &opts.context_window_fallbacks,
            &opts.content_policy_fallbacks,
        ];
        let mut tables = [IndexMap::new(), IndexMap::new()];
        let mut grew = true;
        while grew {
            grew = false;
            for (table, given) in tables.iter_mut().zip(given) {
                for (from, list) in given {
                    if !table.contains_key(from) && groups.names.contains(from) {
                        table.insert(from.clone(), named(list, &mut groups));
                        grew = true;
                    }
                }
            }
        }
        for m in groups.members.iter().skip(1) {
            if let Err(e) = client.registry().resolve(&m.model) {
                return Err(Error::bad_request(format!(
                    "fallback {:?}: {}",
                    m.model,
                    e.message()
                )));
            }
        }
        let [context_window_fallbacks, content_policy_fallbacks] = tables;
        let settings = Settings {
            retries: opts.num_retries.unwrap_or(0),
            pre_call_checks: false,
            fallbacks: IndexMap::from([(primary, general)]),
            context_window_fallbacks,
            content_policy_fallbacks,
            ..Settings::default()
        };
        Router::assemble(
            client.clone(),
            settings,
            groups.members,
            Arc::new(TokioClock::default()),
            Rng::from_time(),
        )
    }
}

/// A fallback's options: its own key, base URL and mock; the call's time
/// and size limits. Never the call's key, base URL, parameters or prices,
/// which belong to the call's own model (and provider).
fn fallback_options(f: &Fallback, call: &CallOptions) -> CallOptions {
    CallOptions {
        api_key: f.api_key.clone(),
        api_base: f.api_base.clone(),
        timeout: call.timeout,
        limits: call.limits,
        mock_response: f.mock_response.clone(),
        ..CallOptions::default()
    }
}

/// The one-deployment groups of a call, named after their models; a model
/// named again with other options gets a group of its own (`model#2`).
#[derive(Default)]
struct Groups {
    members: Vec<Member>,
    names: HashSet<String>,
}

impl Groups {
    /// The group serving `model` with `options`: an existing one when the
    /// options are the same, else a new one. Its name.
    fn add(&mut self, model: &str, options: CallOptions) -> String {
        if let Some(m) = self
            .members
            .iter()
            .find(|m| m.model == model && same(&m.options, &options))
        {
            return m.group.clone();
        }
        let mut name = model.to_string();
        let mut n = 1;
        while self.names.contains(&name) {
            n += 1;
            name = format!("{model}#{n}");
        }
        self.names.insert(name.clone());
        self.members.push(Member {
            group: name.clone(),
            id: name.clone(),
            model: model.to_string(),
            options,
            weight: 1.0,
            limits: (None, None, None),
            token_prices: (None, None),
            order: None,
        });
        name
    }
}

/// Whether two fallbacks' own settings are the same deployment.
fn same(a: &CallOptions, b: &CallOptions) -> bool {
    a.api_key == b.api_key && a.api_base == b.api_base && a.mock_response == b.mock_response
}
