//! The Router: model groups of deployments, a strategy to pick one, retries
//! with backoff that honour Retry-After, cooldowns that end by themselves
//! (never for a group's last healthy deployment), fallbacks between groups
//! (general, context-window, content-policy), and pre-call checks. A call's
//! deadline holds across all of it: each attempt gets only what is left, and
//! a wait that does not fit ends the call at once. Every answer says which
//! deployment served it; a final error carries every attempt. A fallback
//! may be a plain model, an implicit one-deployment group. Parses no
//! provider JSON: it calls `Client`.
//!
//! Rooms: `build` (deployments and implicit groups), `route` (the retry
//! and fallback loop), `plain` (litellm's plain call with fallbacks and
//! retries: the Client's public calls, routed by an ad-hoc Router),
//! `strategy` (the pure pick), `deployment` (live state), `config`,
//! `clock`, `shared`, `routable`, `count` (a group's token counts).

mod build;
mod clock;
mod config;
mod count;
mod deployment;
mod plain;
mod routable;
mod route;
mod shared;
mod strategy;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use indexmap::IndexMap;

pub use clock::{Clock, ManualClock, Rng, TokioClock};
pub use config::{DeploymentConfig, RouterConfig, Settings};
#[cfg_attr(not(feature = "server"), allow(unused_imports))]
pub(crate) use config::{parse_toml, resolve_secret};
pub use count::{Counted, Counter};
pub use shared::SharedCooldowns;
pub use strategy::{Strategy, View, pick};

use crate::client::{CallOptions, ChatStream, Client, MockResponse};
use crate::cost::ModelInfo;
use crate::duration::Seconds;
use crate::error::{Attempt, Error, ErrorKind, Result};
use crate::types::{ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};
use deployment::Deployment;

/// Per-call routing options.
#[derive(Clone, Default)]
pub struct RouteOptions {
    /// Groups (or plain models) to try, in order, when the requested one
    /// fails (replaces the configured ones). A plain model is called with
    /// its provider's key from the environment: a server must check these
    /// names against what its caller may call.
    pub fallbacks: Option<Vec<String>>,
    /// Retries within a group (replaces the configured number).
    pub retries: Option<u32>,
    /// The deadline of this call: every attempt, wait and fallback fits in
    /// it (replaces `[router] timeout-secs`; for a stream, up to its first chunk).
    pub timeout: Option<Duration>,
    /// Every attempt answers as this mock instead of calling (a proxy
    /// request's `mock_response`, read by `CallOptions::take_litellm_args`).
    pub mock_response: Option<MockResponse>,
    /// A base URL the caller chose (a proxy's client, when its config
    /// allows): every attempt goes there, with the picked deployment's
    /// model, key and settings. Its failures are the host's, not the
    /// deployment's: they cool no deployment down and feed no latency.
    pub api_base: Option<String>,
    /// Group → groups to try on `context_window_exceeded` (replaces the
    /// configured table; a proxy request's `context_window_fallbacks`).
    pub context_window_fallbacks: Option<IndexMap<String, Vec<String>>>,
    /// Group → groups to try on `content_policy` (replaces the configured table).
    pub content_policy_fallbacks: Option<IndexMap<String, Vec<String>>>,
    /// OpenAI parameters every attempt drops where its provider does not
    /// carry them (see [`CallOptions::drop_if_unsupported`]).
    pub drop_if_unsupported: Vec<String>,
    /// The caller's body as a front door received it, passed through to a
    /// deployment that speaks the door's dialect.
    pub native: Option<crate::client::Native>,
}

impl std::fmt::Debug for RouteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteOptions")
            .field("fallbacks", &self.fallbacks)
            .field("retries", &self.retries)
            .field("timeout", &self.timeout)
            .field("mock_response", &self.mock_response)
            .field("context_window_fallbacks", &self.context_window_fallbacks)
            .field("content_policy_fallbacks", &self.content_policy_fallbacks)
            .field("drop_if_unsupported", &self.drop_if_unsupported)
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::redact::display_url),
            )
            .finish()
    }
}

/// A response and who served it.
#[derive(Debug, Clone)]
pub struct Routed<T> {
    pub response: T,
    /// The serving deployment's id.
    pub deployment: String,
    /// Every attempt, the successful one last.
    pub attempts: Vec<Attempt>,
}

/// A deployment in cooldown, as [`Router::cooling`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooling {
    pub group: String,
    pub deployment: String,
    /// How much longer it cools down.
    pub left: Duration,
}

/// A deployment as a model-info listing shows it: never its key.
#[derive(Debug, Clone)]
pub struct DeploymentView {
    pub id: String,
    /// `provider/model`.
    pub model: String,
    /// Its own base URL, without any query (which may hold a credential).
    pub api_base: Option<String>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub max_parallel: Option<u64>,
    /// The entry its calls are priced and checked at, if any.
    pub info: Option<Arc<ModelInfo>>,
}

/// Routes requests for model groups to deployments.
pub struct Router {
    client: Client,
    /// The declared model groups.
    groups: HashMap<String, Vec<Arc<Deployment>>>,
    /// Plain models the fallback tables name, as one-deployment groups
    /// (fallback targets only: never listed, never called by name).
    implicit: HashMap<String, Vec<Arc<Deployment>>>,
    settings: Settings,
    clock: Arc<dyn Clock>,
    rng: Rng,
    /// Cooldowns shared with other Routers; None: this process only.
    shared: Option<Arc<dyn SharedCooldowns>>,
    /// Held while a failure decides whether to cool its deployment, so two
    /// failing at once cannot both think the other is the group's last healthy one.
    cool_lock: Mutex<()>,
}

impl Router {
    /// Shares cooldowns through `shared`: consulted before each pick,
    /// told of every cooldown this Router starts.
    pub fn with_shared_cooldowns(mut self, shared: Arc<dyn SharedCooldowns>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The group `name` names: itself, or the group it is an alias of
    /// (`model-group-alias`).
    pub fn group_of<'a>(&'a self, name: &'a str) -> &'a str {
        self.settings
            .model_group_alias
            .get(name)
            .map_or(name, String::as_str)
    }

    /// The model groups, sorted.
    pub fn groups(&self) -> Vec<&str> {
        let mut g: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        g.sort_unstable();
        g
    }

    /// Every deployment in cooldown now (in this process's view), by group
    /// then deployment: what a readiness check reports.
    pub fn cooling(&self) -> Vec<Cooling> {
        let now = self.clock.now();
        let mut out: Vec<Cooling> = self
            .groups
            .iter()
            .flat_map(|(group, members)| {
                members.iter().filter_map(move |d| {
                    d.cooling(now).map(|left| Cooling {
                        group: group.clone(),
                        deployment: d.id.clone(),
                        left,
                    })
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.group, &a.deployment).cmp(&(&b.group, &b.deployment)));
        out
    }

    /// The deployments of `group`, as a model-info listing shows them;
    /// None for an unknown group.
    pub fn deployments(&self, group: &str) -> Option<Vec<DeploymentView>> {
        let members = self.groups.get(group)?;
        Some(
            members
                .iter()
                .map(|d| DeploymentView {
                    id: d.id.clone(),
                    model: d.model.clone(),
                    api_base: d
                        .options
                        .api_base
                        .as_deref()
                        .map(crate::redact::display_url),
                    rpm: d.rpm,
                    tpm: d.tpm,
                    max_parallel: d.max_parallel,
                    info: d.info.clone(),
                })
                .collect(),
        )
    }

    /// The client the Router calls through (its specs and catalog).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Each deployment of `group` (its `provider/model`) with the entry its
    /// calls are priced at — its own `input-cost-per-token` /
    /// `output-cost-per-token` over the catalog's, or an entry registered
    /// on the client — None where nothing prices it: what a budget reserves
    /// against before a call. None for an unknown group.
    pub fn deployment_prices(&self, group: &str) -> Option<Vec<(&str, Option<&ModelInfo>)>> {
        let members = self.groups.get(group)?;
        Some(
            members
                .iter()
                .map(|d| {
                    let info = d.info.as_deref().filter(|i| i.is_priced());
                    (d.model.as_str(), info)
                })
                .collect(),
        )
    }

    /// A chat completion for the group named by `req.model`.
    pub async fn completion(
        &self,
        req: &ChatRequest,
        route: &RouteOptions,
    ) -> Result<Routed<ChatResponse>> {
        self.route(req, route, |d, req, left| async move {
            let opts = attempt_options(&d.options, left, route);
            let resp = self.client.completion_once(&req, &opts).await?;
            let tokens = resp.usage.as_ref().map_or(0, |u| u.completion_tokens);
            Ok((resp, tokens))
        })
        .await
    }

    /// Embeddings for the group named by `req.model`, with the same retries and fallbacks.
    pub async fn embedding(
        &self,
        req: &EmbeddingRequest,
        route: &RouteOptions,
    ) -> Result<Routed<EmbeddingResponse>> {
        self.route(req, route, |d, req, left| async move {
            let opts = attempt_options(&d.options, left, route);
            Ok((self.client.embedding_once(&req, &opts).await?, 0))
        })
        .await
    }

    /// A streamed completion. A failure before the first chunk retries or
    /// falls back; after it, the stream ends with an error item, never a
    /// silent switch to another deployment mid-answer.
    pub async fn stream(
        &self,
        req: &ChatRequest,
        route: &RouteOptions,
    ) -> Result<Routed<ChatStream>> {
        let first_token = self.settings.first_token_timeout_secs.map(Seconds::get);
        self.route(req, route, |d, req, left| async move {
            let opts = attempt_options(&d.options, left, route);
            let mut stream = self.client.stream_once(&req, &opts).await?;
            let limit = match (first_token, left) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let first = match limit {
                Some(limit) => tokio::time::timeout(limit, stream.next())
                    .await
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::Timeout,
                            format!("no first chunk within {}s", limit.as_secs_f64()),
                        )
                    })?,
                None => stream.next().await,
            };
            let first: ChatChunk = match first {
                Some(Ok(c)) => c,
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        "the stream ended before its first chunk",
                    ));
                }
            };
            Ok((ChatStream::prepend(first, stream), 0))
        })
        .await
    }
}

/// A deployment's call options for one attempt: its own timeout, cut to
/// what is `left` of the call's deadline, the call's mock answer if it has
/// one, and the caller's base URL if it chose one (copied only when one of
/// those changes them).
fn attempt_options<'a>(
    options: &'a CallOptions,
    left: Option<Duration>,
    route: &RouteOptions,
) -> Cow<'a, CallOptions> {
    let cut = left.filter(|&left| options.timeout.is_none_or(|t| t > left));
    if cut.is_none()
        && route.mock_response.is_none()
        && route.api_base.is_none()
        && route.drop_if_unsupported.is_empty()
        && route.native.is_none()
    {
        return Cow::Borrowed(options);
    }
    let mut o = options.clone();
    if cut.is_some() {
        o.timeout = cut;
    }
    if let Some(mock) = &route.mock_response {
        o.mock_response = Some(mock.clone());
    }
    if let Some(base) = &route.api_base {
        o.api_base = Some(base.clone());
    }
    for name in &route.drop_if_unsupported {
        if !o.drop_if_unsupported.contains(name) {
            o.drop_if_unsupported.push(name.clone());
        }
    }
    if let Some(native) = &route.native {
        o.native = Some(native.clone());
    }
    Cow::Owned(o)
}
